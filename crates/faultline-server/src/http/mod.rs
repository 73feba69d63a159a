//! The JSON API over HTTP, one module per resource. Timestamps are RFC
//! 3339; lists page with an opaque `cursor`. Handlers share only
//! `common` (state, errors, parameter parsing); every resource's response
//! bodies are defined in `types`, apart from the domain.

pub mod common;
pub mod details;
pub mod types;

mod alerts;
mod backup;
mod checks;
mod events;
mod groups;
mod health;
mod ops;
mod report;
mod tokens;

use axum::Router;

pub use common::Api;

/// Every API route, for the API listener.
pub fn routes() -> Router<Api> {
    Router::new()
        .merge(backup::routes())
        .merge(events::routes())
        .merge(groups::routes())
        .merge(health::routes())
        .merge(checks::routes())
        .merge(alerts::routes())
        .merge(report::routes())
        .merge(ops::routes())
        .merge(tokens::routes())
}
