//! `GET /openapi.json`: the OpenAPI 3 document, generated from the handlers'
//! `#[utoipa::path]` annotations and the wire types' schemas, with the
//! field rules and links of [`super::contract`].

use utoipa::{
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    Modify, OpenApi,
};

use axum::extract::State;

use super::{
    approvals, auth, contract, history, ops, properties, realtime, reports, settings, telemetry,
    transactions,
};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Ledgerline", description = "The Ledgerline server's HTTP API (wire contract v1)."),
    paths(
        auth::login,
        auth::logout,
        properties::list,
        transactions::list,
        transactions::get,
        transactions::create,
        transactions::update,
        transactions::delete,
        approvals::approve,
        approvals::reject,
        history::history,
        settings::get,
        settings::put,
        approvals::daily,
        approvals::today_pending,
        reports::profit_loss,
        realtime::poll,
        telemetry::upload,
        ops::healthz,
        ops::metrics,
    ),
    components(schemas(
        ledgerline_wire::ErrorBody,
        ledgerline_wire::Event,
        ledgerline_wire::EventRow,
        ledgerline_wire::EventType,
        ledgerline_wire::PollResponse,
    )),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document: generated, then given the rules of [`super::contract`].
pub async fn document(State(state): State<AppState>) -> axum::Json<serde_json::Value> {
    axum::Json(build(state.config().poll_timeout()))
}

/// The document for a server whose poll timeout is `poll_timeout`.
pub fn build(poll_timeout: std::time::Duration) -> serde_json::Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    contract::apply(&mut doc, poll_timeout);
    doc
}
