//! Alerting over HTTP: current alerts and history with every delivery
//! attempt, the rules and channels in force, a test send per channel.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::Value;

use axum::extract::rejection::JsonRejection;
use faultline_alert::engine::{Rule, Silence};
use faultline_alert::notify::Channel;

use crate::alerting::admin::AdminError;
use crate::http::common::{bad_request, Api, ApiError};
use crate::http::types::{
    AlertsBody, ChannelBody, ChannelsBody, RuleBody, RulesBody, SilenceBody, SilencesBody, SnoozeBody,
    TestSendBody,
};
use faultline_model::now_nanos;

pub fn routes() -> Router<Api> {
    Router::new()
        .route("/api/v1/alerts", get(alerts))
        .route("/api/v1/alert-rules", get(rules).post(create_rule))
        .route("/api/v1/alert-rules/{id}", axum::routing::put(replace_rule).delete(delete_rule))
        .route("/api/v1/channels", get(channels).post(create_channel))
        .route("/api/v1/channels/{id}", axum::routing::put(replace_channel).delete(delete_channel))
        .route("/api/v1/channels/{id}/test", post(test_channel))
        .route("/api/v1/silences", get(silences).post(add_silence))
        .route("/api/v1/silences/{id}", axum::routing::delete(remove_silence))
        .route("/api/v1/groups/{id}/snooze", post(snooze))
}

async fn alerts(State(api): State<Api>) -> Json<AlertsBody> {
    let (active, history) = api.alerting.alerts();
    Json(AlertsBody {
        alerts: active.into_iter().map(Into::into).collect(),
        history: history.into_iter().map(Into::into).collect(),
        deliveries: api.alerting.deliveries().into_iter().map(Into::into).collect(),
        leader: api.alerting.is_leading(),
    })
}

async fn rules(State(api): State<Api>) -> Json<RulesBody> {
    let rules = api
        .alerting
        .rules()
        .into_iter()
        .map(|rule| {
            let source = Some(api.alerting.admin.rule_source(rule.id()));
            RuleBody { rule, source }
        })
        .collect();
    Json(RulesBody { rules })
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        let status = match e {
            AdminError::Invalid(_) => StatusCode::BAD_REQUEST,
            AdminError::FromConfig(..) | AdminError::Exists(..) => StatusCode::CONFLICT,
            AdminError::NotFound(..) => StatusCode::NOT_FOUND,
            AdminError::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError(status, e.to_string())
    }
}

/// A JSON body of type `T`, or a 400 saying what is wrong with it.
fn parse<T: serde::de::DeserializeOwned>(
    body: Result<Json<Value>, JsonRejection>,
    what: &str,
) -> Result<T, ApiError> {
    let Json(value) = body.map_err(|e| bad_request(format!("body must be a JSON {what}: {e}")))?;
    serde_json::from_value(value).map_err(|e| bad_request(format!("invalid {what}: {e}")))
}

fn same_id(path: &str, body: &str) -> Result<(), ApiError> {
    if path == body {
        Ok(())
    } else {
        Err(bad_request(format!("the body's id {body:?} differs from the path's {path:?}")))
    }
}

async fn create_rule(
    State(api): State<Api>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<RuleBody>), ApiError> {
    let rule: Rule = parse(body, "alert rule")?;
    api.alerting.create_rule(rule.clone()).await?;
    Ok((StatusCode::CREATED, Json(RuleBody { rule, source: None })))
}

async fn replace_rule(
    State(api): State<Api>,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<RuleBody>, ApiError> {
    let rule: Rule = parse(body, "alert rule")?;
    same_id(&id, rule.id())?;
    api.alerting.replace_rule(rule.clone()).await?;
    Ok(Json(RuleBody { rule, source: None }))
}

async fn delete_rule(State(api): State<Api>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    api.alerting.delete_rule(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn create_channel(
    State(api): State<Api>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<ChannelBody>), ApiError> {
    let channel: Channel = parse(body, "channel")?;
    api.alerting.create_channel(channel.clone()).await?;
    Ok((StatusCode::CREATED, Json(describe_channel(&api, &channel))))
}

async fn replace_channel(
    State(api): State<Api>,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<ChannelBody>, ApiError> {
    let channel: Channel = parse(body, "channel")?;
    same_id(&id, &channel.id)?;
    api.alerting.replace_channel(channel.clone()).await?;
    Ok(Json(describe_channel(&api, &channel)))
}

async fn delete_channel(State(api): State<Api>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    api.alerting.delete_channel(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A channel without its secrets (URLs, keys, passwords).
fn describe_channel(api: &Api, c: &Channel) -> ChannelBody {
    ChannelBody {
        id: c.id.clone(),
        name: c.name.clone(),
        kind: c.config.kind(),
        source: api.alerting.admin.channel_source(&c.id),
    }
}

/// Channels by id, name and kind; their URLs, keys and passwords are secrets.
async fn channels(State(api): State<Api>) -> Json<ChannelsBody> {
    let channels = api.alerting.channels().iter().map(|c| describe_channel(&api, c)).collect();
    Json(ChannelsBody { channels })
}

async fn test_channel(
    State(api): State<Api>,
    Path(id): Path<String>,
) -> Result<Json<TestSendBody>, ApiError> {
    let (ok, attempts) = api
        .alerting
        .test_channel(&id)
        .await
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no channel {id:?}")))?;
    Ok(Json(TestSendBody { ok, attempts: attempts.into_iter().map(Into::into).collect() }))
}

async fn silences(State(api): State<Api>) -> Json<SilencesBody> {
    Json(SilencesBody { silences: api.alerting.silences().into_iter().map(Into::into).collect() })
}

#[derive(Debug, serde::Deserialize)]
struct NewSilence {
    /// Label globs: `rule`, `severity`, `service`, `environment`, `route`,
    /// `group_id`, `exception_type`, `level`, `check`.
    matchers: std::collections::BTreeMap<String, String>,
    /// How long from now: `2h`.
    duration: String,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    created_by: String,
}

async fn add_silence(
    State(api): State<Api>,
    body: Result<Json<NewSilence>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<SilenceBody>), ApiError> {
    let Json(body) = body.map_err(|e| {
        bad_request(format!(
            r#"body must be JSON like {{"matchers": {{"service": "checkout"}}, "duration": "2h"}}: {e}"#
        ))
    })?;
    let duration = humantime::parse_duration(&body.duration)
        .map_err(|_| bad_request(format!("`duration` must be like 30m or 2h, got {:?}", body.duration)))?;
    let now = now_nanos();
    let silence = Silence {
        id: format!("s-{now:x}"),
        matchers: body.matchers,
        starts_at: now,
        ends_at: now.saturating_add(i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX)),
        comment: body.comment,
        created_by: body.created_by,
    };
    api.alerting.add_silence(silence.clone()).map_err(|e| bad_request(e.to_string()))?;
    Ok((StatusCode::CREATED, Json(silence.into())))
}

async fn remove_silence(State(api): State<Api>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    match api.alerting.remove_silence(&id) {
        Some(_) => Ok(StatusCode::NO_CONTENT),
        None => Err(ApiError(StatusCode::NOT_FOUND, format!("no silence {id:?}"))),
    }
}

#[derive(Debug, serde::Deserialize)]
struct NewSnooze {
    duration: String,
}

/// `POST /api/v1/groups/{id}/snooze` with `{"duration": "4h"}`.
async fn snooze(
    State(api): State<Api>,
    Path(id): Path<u64>,
    body: Result<Json<NewSnooze>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<SnoozeBody>, ApiError> {
    let Json(body) =
        body.map_err(|e| bad_request(format!(r#"body must be JSON like {{"duration": "4h"}}: {e}"#)))?;
    let duration = humantime::parse_duration(&body.duration)
        .map_err(|_| bad_request(format!("`duration` must be like 30m or 4h, got {:?}", body.duration)))?;
    let until = now_nanos().saturating_add(i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX));
    api.alerting.snooze(id, until);
    Ok(Json(SnoozeBody { group_id: id, until: faultline_model::format_rfc3339(until) }))
}
