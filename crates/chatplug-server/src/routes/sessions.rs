//! `/v1/sessions`: create, list, get (with turns), delete. Store calls run in
//! blocking threads.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chatplug_dialogue::profiles::dynamic_profiles;
use chatplug_dialogue::context::drop_farewells;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::SharedState;
use crate::error::{ApiError, OptionalJson};
use crate::limits::check_chars;
use crate::sessions::{new_session_id, now_rfc3339, NewSession, SessionMeta, SessionStore, StoreResult};
use crate::turn::load_session;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateSession {
    #[serde(default)]
    title: String,
    #[serde(default)]
    bot_profile: String,
    #[serde(default)]
    user_profile: String,
    role_instruction: Option<String>,
}

async fn blocking<T: Send + 'static>(
    state: &SharedState,
    f: impl FnOnce(&dyn SessionStore) -> StoreResult<T> + Send + 'static,
) -> Result<T, ApiError> {
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || f(store.as_ref()))
        .await
        .map_err(|e| ApiError::server(format!("session store call failed: {e}")))?
        .map_err(|e| ApiError::server(e.to_string()))
}

fn summary(m: &SessionMeta) -> Value {
    json!({"id": m.id, "title": m.title, "created_at": m.created_at, "updated_at": m.updated_at, "turn_count": m.turn_count})
}

/// The body is optional: none (or an empty one) creates a session without profiles.
pub async fn create(State(state): State<SharedState>, OptionalJson(body): OptionalJson<CreateSession>) -> Result<Response, ApiError> {
    let limits = &state.config.limits;
    check_chars("title", &body.title, 200)?;
    check_chars("bot_profile", &body.bot_profile, limits.max_profile_chars)?;
    check_chars("user_profile", &body.user_profile, limits.max_profile_chars)?;
    check_chars("role_instruction", body.role_instruction.as_deref().unwrap_or(""), limits.max_profile_chars)?;
    let new = NewSession {
        title: body.title,
        bot_profile: body.bot_profile,
        user_profile: body.user_profile,
        role_instruction: body.role_instruction,
    };
    let id = new_session_id();
    let meta = blocking(&state, move |s| s.create(&id, &new, &now_rfc3339())).await?;
    let id = meta.id.clone();
    let record = load_session(&state, &id).await?;
    Ok((StatusCode::CREATED, Json(session_object(&record))).into_response())
}

pub async fn list(State(state): State<SharedState>) -> Result<Json<Value>, ApiError> {
    let sessions = blocking(&state, |s| s.list()).await?;
    Ok(Json(json!({"sessions": sessions.iter().map(summary).collect::<Vec<_>>()})))
}

pub async fn get(State(state): State<SharedState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    Ok(Json(session_object(&load_session(&state, &id).await?)))
}

pub async fn delete(State(state): State<SharedState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let key = id.clone();
    if blocking(&state, move |s| s.delete(&key)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("no session `{id}`")).with_code("session_not_found"))
    }
}

/// The contract's session object, plus the dynamic profiles the pipeline derives
/// from the stored turns.
fn session_object(record: &crate::sessions::SessionRecord) -> Value {
    let m = &record.meta;
    let mut turns: Vec<_> = record.turns.iter().map(|t| t.to_turn()).collect();
    drop_farewells(&mut turns);
    let (dynamic_user, dynamic_bot) = dynamic_profiles(&turns);
    json!({
        "id": m.id,
        "title": m.title,
        "created_at": m.created_at,
        "updated_at": m.updated_at,
        "bot_profile": m.bot_profile,
        "user_profile": m.user_profile,
        "role_instruction": m.role_instruction,
        "turns": record.turns,
        "turn_count": m.turn_count,
        "dialog_state": record.dialog_state,
        "dynamic_profiles": {"user_profile": dynamic_user, "bot_profile": dynamic_bot},
    })
}
