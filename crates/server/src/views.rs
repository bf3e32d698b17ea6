//! Read endpoints: incidents (all, active, recent, one with the incidents
//! listed under it), the latest window, top offenders per dimension, and
//! one terminal's health.

use crate::api::{IncidentDetail, IncidentList, TopView};
use crate::{ask, error, json_text, AppState, Command};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use swipewatch_alert::wire::IncidentView;
use swipewatch_alert::State as IncidentState;

/// Dimensions `/api/top` answers for.
const TOP_DIMS: [&str; 8] = [
    "region", "carrier", "net_type", "acquirer", "issuer", "scheme", "model", "firmware",
];

/// Caller input as it may be quoted back: never if it could be a card number.
fn shown(s: &str) -> &str {
    if swipewatch_model::pan::contains_card_number(s.as_bytes()) || s.len() > 64 {
        "<not shown>"
    } else {
        s
    }
}

fn ok(body: &impl serde::Serialize) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        json_text(body),
    )
        .into_response()
}

/// `key=value` pairs of a query string (no percent-decoding needed for
/// the plain values these endpoints take).
fn params(query: Option<&str>) -> Vec<(&str, &str)> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect()
}

fn unknown_param(pairs: &[(&str, &str)], known: &[&str]) -> Option<Response> {
    pairs
        .iter()
        .find(|(k, _)| !known.contains(k))
        .map(|(k, _)| {
            error(
                StatusCode::BAD_REQUEST,
                &format!(
                    "unknown query parameter `{}` (known: {})",
                    shown(k),
                    known.join(", ")
                ),
            )
        })
}

/// `GET /api/incidents[?state=active|recent]`.
pub(crate) async fn incidents(State(s): State<AppState>, RawQuery(q): RawQuery) -> Response {
    let pairs = params(q.as_deref());
    if let Some(r) = unknown_param(&pairs, &["state"]) {
        return r;
    }
    let filter = pairs.iter().find(|(k, _)| *k == "state").map(|(_, v)| *v);
    let keep = |st: IncidentState| match filter {
        None | Some("all") => true,
        Some("active") => st != IncidentState::Resolved,
        Some("recent") => st == IncidentState::Resolved,
        Some(_) => false,
    };
    if let Some(f) = filter.filter(|f| !["all", "active", "recent"].contains(f)) {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("`state` must be all, active or recent, not `{}`", shown(f)),
        );
    }
    let incidents = s
        .incidents
        .borrow()
        .iter()
        .filter(|i| keep(i.state))
        .map(IncidentView::from)
        .collect();
    ok(&IncidentList { incidents })
}

/// `GET /api/incidents/{id}`: one incident with the incidents listed under it.
pub(crate) async fn incident(State(s): State<AppState>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<u64>() else {
        return error(
            StatusCode::BAD_REQUEST,
            "incident id must be a positive integer",
        );
    };
    let list = s.incidents.borrow();
    let Some(found) = list.iter().find(|i| i.id == id) else {
        return error(
            StatusCode::NOT_FOUND,
            &format!("no incident {id} (open or recent)"),
        );
    };
    let children = list
        .iter()
        .filter(|i| i.inhibited_by == Some(id))
        .map(IncidentView::from)
        .collect();
    ok(&IncidentDetail {
        incident: IncidentView::from(found),
        children,
    })
}

/// `GET /api/window`: the latest closed window's counts.
pub(crate) async fn window(State(s): State<AppState>) -> Response {
    let Some(w) = s.window.borrow().clone() else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "no window has closed yet");
    };
    // `history`: `[end_ms, approval_rate, attempts]` per window, last hour.
    ok(&*w)
}

/// `GET /api/top?dimension=issuer[&n=10]`: values with the most failures
/// in the latest window.
pub(crate) async fn top(State(s): State<AppState>, RawQuery(q): RawQuery) -> Response {
    let pairs = params(q.as_deref());
    if let Some(r) = unknown_param(&pairs, &["dimension", "n"]) {
        return r;
    }
    let Some(dim) = pairs
        .iter()
        .find(|(k, _)| *k == "dimension")
        .map(|(_, v)| *v)
    else {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("`dimension` is required: one of {}", TOP_DIMS.join(", ")),
        );
    };
    if !TOP_DIMS.contains(&dim) {
        return error(
            StatusCode::BAD_REQUEST,
            &format!(
                "unknown dimension `{}`: one of {}",
                shown(dim),
                TOP_DIMS.join(", ")
            ),
        );
    }
    let n = match pairs
        .iter()
        .find(|(k, _)| *k == "n")
        .map(|(_, v)| v.parse::<usize>())
    {
        None => 10,
        Some(Ok(n)) if (1..=20).contains(&n) => n,
        Some(_) => return error(StatusCode::BAD_REQUEST, "`n` must be between 1 and 20"),
    };
    let Some(w) = s.window.borrow().clone() else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "no window has closed yet");
    };
    let values = w
        .top
        .get(dim)
        .map(|v| v.iter().take(n).cloned().collect())
        .unwrap_or_default();
    ok(&TopView {
        dimension: dim.to_string(),
        window_end_ms: w.end_ms,
        fleet_failure_rate: w.failure_rate,
        values,
    })
}

/// `GET /api/inventory`: the inventory against the terminals heard from.
pub(crate) async fn inventory(State(s): State<AppState>) -> Response {
    match ask(&s, Command::Inventory).await {
        Ok(view) => ok(&view),
        Err(r) => r,
    }
}

/// `GET /api/terminals/{id}`: one terminal's health.
pub(crate) async fn terminal(State(s): State<AppState>, Path(id): Path<String>) -> Response {
    if id.is_empty() || id.len() > 128 || id.chars().any(|c| c.is_control()) {
        return error(
            StatusCode::BAD_REQUEST,
            "terminal id must be 1-128 printable characters",
        );
    }
    match ask(&s, |tx| Command::Terminal(id, tx)).await {
        Ok(Some(view)) => ok(&view),
        // The id is not echoed: what a caller sends is never reflected.
        Ok(None) => error(StatusCode::NOT_FOUND, "no such terminal has been seen"),
        Err(r) => r,
    }
}
