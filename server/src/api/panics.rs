//! The last line of defence: a panic in a handler becomes a 500 in the
//! error shape and an `error` log line, instead of a dropped connection
//! (`tower_http::catch_panic`). No input is meant to reach a panic; this
//! keeps one that does from looking like a network failure to the client.

use std::any::Any;

use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::{CatchPanicLayer, ResponseForPanic};

use super::error::ApiError;

/// Answers a caught panic.
#[derive(Debug, Clone, Copy, Default)]
pub struct PanicResponse;

impl ResponseForPanic for PanicResponse {
    type ResponseBody = axum::body::Body;

    fn response_for_panic(&mut self, panic: Box<dyn Any + Send + 'static>) -> Response {
        let message = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("(not a string)");
        tracing::error!(panic = message, "a handler panicked");
        // The shape of every 500; its detail extension goes, so that
        // `error_shape` does not log the panic a second time.
        let mut response = ApiError::Internal(String::new()).into_response();
        response.extensions_mut().clear();
        response
    }
}

/// The layer, for [`super::router`].
pub fn layer() -> CatchPanicLayer<PanicResponse> {
    CatchPanicLayer::custom(PanicResponse)
}

#[cfg(test)]
mod tests {
    use axum::{body::Body, http::Request, routing::get, Router};
    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn a_panicking_handler_answers_500_in_the_error_shape() {
        let app = Router::new()
            .route(
                "/boom",
                get(|| async {
                    let v: Vec<&'static str> = Vec::new();
                    v[usize::from(v.is_empty())]
                }),
            )
            .layer(layer());
        let response = app
            .oneshot(Request::get("/boom").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), 500);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"]["code"], "internal");
    }
}
