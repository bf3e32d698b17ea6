//! `/api/silences`: list, create and expire silences. Reads are open;
//! creating and expiring need `Authorization: Bearer <token>` with the
//! token the service was started with (`SWIPEWATCH_API_TOKEN`); without a
//! configured token, mutations are refused. The service owns the incident
//! book, so handlers send it a [`Command`] and wait for the answer.

use crate::api::{InventoryView, SilenceList, SilenceView, TerminalView};
use crate::{ask, error, json_text, AppState};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::collections::BTreeMap;
use swipewatch_alert::Silence;
use swipewatch_model::{Cause, Dim};
use swipewatch_rt::now_ms;
use tokio::sync::oneshot;

/// Longest silence accepted.
const MAX_SILENCE_MS: i64 = 30 * 24 * 3_600_000;

/// A change to the incident book, answered by the service.
#[derive(Debug)]
pub enum Command {
    /// Add a silence; the answer carries its id.
    AddSilence(Silence, oneshot::Sender<Silence>),
    /// End silence `id` now; the answer is `None` if there is no such silence.
    ExpireSilence(u64, oneshot::Sender<Option<Silence>>),
    /// One terminal's health by id; `None` if never seen.
    Terminal(String, oneshot::Sender<Option<TerminalView>>),
    /// The inventory against the terminals heard from.
    Inventory(oneshot::Sender<InventoryView>),
    /// Put a (re)loaded inventory in force.
    SetInventory(Box<swipewatch_model::Inventory>),
}

/// The API's view of a silence at `now_ms`.
pub fn silence_view(s: &Silence, now_ms: i64) -> SilenceView {
    SilenceView {
        id: s.id,
        matchers: s
            .matchers
            .iter()
            .map(|(d, v)| (d.name().to_string(), v.clone()))
            .collect(),
        cause: s.cause.map(|c| c.name().to_string()),
        start_ms: s.start_ms,
        end_ms: s.end_ms,
        comment: s.comment.clone(),
        active: s.start_ms <= now_ms && now_ms < s.end_ms,
    }
}

pub(crate) async fn list(State(s): State<AppState>) -> Response {
    let now = now_ms();
    let silences = s
        .silences
        .borrow()
        .iter()
        .map(|x| silence_view(x, now))
        .collect();
    (
        [(header::CONTENT_TYPE, "application/json")],
        json_text(&SilenceList { silences }),
    )
        .into_response()
}

/// Checks the bearer token; the status and reason if it is wrong.
fn authorize(s: &AppState, headers: &HeaderMap) -> Result<(), (StatusCode, &'static str)> {
    let Some(token) = &s.token else {
        return Err((
            StatusCode::FORBIDDEN,
            "mutations are disabled: start swipewatch with SWIPEWATCH_API_TOKEN set",
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        None => Err((
            StatusCode::UNAUTHORIZED,
            "missing bearer token (Authorization: Bearer <token>)",
        )),
        Some(g) if !constant_time_eq(g.as_bytes(), token.as_bytes()) => {
            Err((StatusCode::UNAUTHORIZED, "wrong bearer token"))
        }
        Some(_) => Ok(()),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `POST /api/silences`: a create request.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SilenceRequest {
    /// Dimension → value an incident's element (or device's place) must
    /// hold.
    #[serde(default)]
    pub matchers: BTreeMap<String, String>,
    /// Only this cause (`bank-issuer`, `network`, ...).
    #[serde(default)]
    pub cause: Option<String>,
    /// In force from, epoch ms (default: now).
    #[serde(default)]
    pub starts_at_ms: Option<i64>,
    /// Until, epoch ms; or give `duration`.
    #[serde(default)]
    pub ends_at_ms: Option<i64>,
    /// How long (`30m`, `2h`, `1d`; humantime, as in the config).
    #[serde(default)]
    pub duration: Option<String>,
    /// Why.
    #[serde(default)]
    pub comment: Option<String>,
}

/// Parses a create request:
/// `{"matchers": {"issuer": "northbank"}, "cause": "bank-issuer",
///   "starts_at_ms": ..., "ends_at_ms": ... | "duration": "2h", "comment": "..."}`.
pub fn parse_silence(body: &[u8], now_ms: i64) -> Result<Silence, String> {
    // A silence is stored, listed and logged: it must not carry card data.
    if swipewatch_model::pan::contains_card_number(body) {
        return Err("the silence carries something that looks like a card number; refused".into());
    }
    let r: SilenceRequest = serde_json::from_slice(body)
        .map_err(|e| format!("body is not JSON or not a silence: {e}"))?;
    let mut matchers = Vec::new();
    for (k, val) in &r.matchers {
        let dim =
            Dim::from_name(k).ok_or_else(|| format!("`matchers`: unknown dimension `{k}`"))?;
        if val.is_empty() {
            return Err(format!("`matchers.{k}` must be a non-empty string"));
        }
        matchers.push((dim, val.clone()));
    }
    let cause = match &r.cause {
        None => None,
        Some(name) => Some(
            Cause::ALL
                .into_iter()
                .find(|x| x.name() == name)
                .ok_or_else(|| format!("`cause`: unknown cause `{name}`"))?,
        ),
    };
    if matchers.is_empty() && cause.is_none() {
        return Err("a silence needs `matchers` or a `cause` (it would silence everything)".into());
    }
    let start_ms = r.starts_at_ms.unwrap_or(now_ms);
    let end_ms = match (r.ends_at_ms, &r.duration) {
        (Some(_), Some(_)) => return Err("give `ends_at_ms` or `duration`, not both".into()),
        (Some(end), None) => end,
        (None, Some(text)) => {
            let d = humantime::parse_duration(text)
                .map_err(|_| format!("`duration`: cannot read `{text}` (e.g. 30m, 2h, 1d)"))?;
            start_ms.saturating_add(d.as_millis().min(i64::MAX as u128) as i64)
        }
        (None, None) => return Err("a silence needs `ends_at_ms` or `duration`".into()),
    };
    if end_ms <= start_ms {
        return Err("the silence must end after it starts".into());
    }
    if end_ms <= now_ms {
        return Err("the silence would already be over".into());
    }
    if end_ms - start_ms > MAX_SILENCE_MS {
        return Err("a silence may last at most 30 days".into());
    }
    let comment = r.comment.unwrap_or_default();
    if comment.len() > 1000 {
        return Err("`comment` is longer than 1000 bytes".into());
    }
    Ok(Silence {
        id: 0,
        matchers,
        cause,
        start_ms,
        end_ms,
        comment,
    })
}

pub(crate) async fn create(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err((status, reason)) = authorize(&s, &headers) {
        return error(status, reason);
    }
    let silence = match parse_silence(&body, now_ms()) {
        Ok(x) => x,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    match ask(&s, |tx| Command::AddSilence(silence, tx)).await {
        Ok(created) => (
            StatusCode::CREATED,
            [(header::CONTENT_TYPE, "application/json")],
            json_text(&silence_view(&created, now_ms())),
        )
            .into_response(),
        Err(r) => r,
    }
}

pub(crate) async fn expire(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err((status, reason)) = authorize(&s, &headers) {
        return error(status, reason);
    }
    let Ok(id) = id.parse::<u64>() else {
        return error(
            StatusCode::BAD_REQUEST,
            "silence id must be a positive integer",
        );
    };
    match ask(&s, |tx| Command::ExpireSilence(id, tx)).await {
        Ok(Some(expired)) => (
            [(header::CONTENT_TYPE, "application/json")],
            json_text(&silence_view(&expired, now_ms())),
        )
            .into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, &format!("no silence {id}")),
        Err(r) => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_silence_on_an_issuer_for_two_hours_parses() {
        let s = parse_silence(
            br#"{"matchers":{"issuer":"northbank"},"duration":"2h","comment":"cut-over"}"#,
            1_000,
        )
        .expect("valid");
        assert_eq!(s.matchers, [(Dim::Issuer, "northbank".to_string())]);
        assert_eq!((s.start_ms, s.end_ms), (1_000, 1_000 + 7_200_000));
    }

    #[test]
    fn bad_silences_are_refused_with_the_reason() {
        for (body, reason) in [
            (&b"{"[..], "not JSON"),
            (br#"{"duration":"2h"}"#, "would silence everything"),
            (
                br#"{"matchers":{"colour":"red"},"duration":"2h"}"#,
                "unknown dimension `colour`",
            ),
            (br#"{"cause":"aliens","duration":"2h"}"#, "unknown cause"),
            (
                br#"{"cause":"network"}"#,
                "needs `ends_at_ms` or `duration`",
            ),
            (br#"{"cause":"network","duration":"soon"}"#, "cannot read"),
            (
                br#"{"cause":"network","duration":"90d"}"#,
                "at most 30 days",
            ),
            (
                br#"{"cause":"network","ends_at_ms":500}"#,
                "end after it starts",
            ),
            (
                br#"{"cause":"network","duration":"1h","x":1}"#,
                "unknown field `x`",
            ),
            (
                br#"{"cause":"network","duration":"1h","comment":"card 4111 1111 1111 1111"}"#,
                "card number",
            ),
        ] {
            let e = parse_silence(body, 1_000).expect_err("refused");
            assert!(e.contains(reason), "{e} should say {reason}");
        }
    }
}
