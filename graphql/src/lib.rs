//! atoll-graphql: the HTTP surface. This first part serves the probes every deployment needs:
//! `/healthz` (the process answers) and `/readyz` (the database answers); the GraphQL schema,
//! `/graphql`, subscriptions and `/metrics` join them here.

use atoll_store::Store;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};

/// Routes for `/healthz` and `/readyz`.
pub fn probe_routes(store: Store) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(store)
}

async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn readyz(State(store): State<Store>) -> impl IntoResponse {
    match store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(serde_json::json!({ "status": "ready", "database": "ok" })),
        ),
        // The store error names the backend problem but never the URL's credentials.
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "status": "not_ready", "database": e.metric_label() })),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    #[tokio::test]
    async fn probes_answer_on_a_real_sqlite_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = atoll_store::test_support::sqlite_in(dir.path())
            .await
            .unwrap();
        let app = probe_routes(store.clone());
        for path in ["/healthz", "/readyz"] {
            let resp = app
                .clone()
                .oneshot(Request::get(path).body(Body::empty()).unwrap())
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::OK, "{path}");
        }
        store.close().await.unwrap();
        let resp = app
            .oneshot(Request::get("/readyz").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}
