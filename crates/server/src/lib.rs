//! swipewatch's HTTP surface: `/metrics` for Prometheus and the health
//! endpoints for orchestrators.
//!
//! `/healthz` answers 200 while the process serves requests; `/readyz`
//! answers 200 only while data can flow (broker connected and subscribed),
//! 503 otherwise, so a load balancer or a test can wait for it.
//! `/api/incidents` lists open and recent incidents as JSON; `/` is the
//! console page that shows them; `/api/silences` lists, creates and
//! expires silences (mutations need the bearer token).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::response::Response;
use axum::routing::{delete, get};
use axum::Router;
use std::future::Future;
use std::net::SocketAddr;
use swipewatch_alert::{Incident, Silence};
use swipewatch_telemetry::Metrics;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub mod api;
mod silences;
mod views;
pub use silences::{parse_silence, silence_view, Command};

/// Largest request body accepted, bytes.
const MAX_BODY: usize = 64 * 1024;

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The server failed while running.
    #[error("http server: {0}")]
    Serve(std::io::Error),
}

/// What the handlers read.
#[derive(Clone)]
pub struct AppState {
    /// Every metric.
    pub metrics: Metrics,
    /// True while data can flow.
    pub ready: watch::Receiver<bool>,
    /// Open incidents (firing first), then recently resolved ones.
    pub incidents: watch::Receiver<Vec<Incident>>,
    /// Silences, in the order created.
    pub silences: watch::Receiver<Vec<Silence>>,
    /// The latest closed window (`None` before the first).
    pub window: watch::Receiver<Option<std::sync::Arc<api::WindowView>>>,
    /// Where mutations go (the service owns the incident book).
    pub commands: tokio::sync::mpsc::Sender<Command>,
    /// Bearer token for mutations; `None` refuses them.
    pub token: Option<String>,
}

/// Sends the service a command built around a reply channel and waits for
/// the answer; a 503 if the service is shutting down.
pub(crate) async fn ask<T>(
    s: &AppState,
    command: impl FnOnce(tokio::sync::oneshot::Sender<T>) -> Command,
) -> Result<T, Response> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let gone = || {
        error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the service is shutting down",
        )
    };
    s.commands.send(command(tx)).await.map_err(|_| gone())?;
    rx.await.map_err(|_| gone())
}

/// A JSON error body: `{"error": message}`.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json_text(&api::ApiError {
            error: message.to_string(),
        }),
    )
        .into_response()
}

/// The router with every endpoint.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/api/incidents", get(views::incidents))
        .route("/api/incidents/{id}", get(views::incident))
        .route("/api/window", get(views::window))
        .route("/api/top", get(views::top))
        .route("/api/terminals/{id}", get(views::terminal))
        .route("/api/inventory", get(views::inventory))
        .route("/api/silences", get(silences::list).post(silences::create))
        .route("/api/silences/{id}", delete(silences::expire))
        .route("/", get(console))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such endpoint") })
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// The console page: a table of incidents, refreshed every two seconds.
const CONSOLE: &str = include_str!("console.html");

async fn console() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        CONSOLE,
    )
}

/// A response body as JSON text.
pub(crate) fn json_text(body: &impl serde::Serialize) -> String {
    serde_json::to_string(body).unwrap_or_default()
}

async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.metrics.encode(),
    )
}

async fn readyz(State(s): State<AppState>) -> impl IntoResponse {
    if *s.ready.borrow() {
        (StatusCode::OK, "ready\n")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: broker not connected or not subscribed\n",
        )
    }
}

/// Binds `addr` (port 0 picks a free port; see the returned listener's address).
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, ServerError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { addr, source })
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(ServerError::Serve)
}
