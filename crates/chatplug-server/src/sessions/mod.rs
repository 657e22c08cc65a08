//! Stored conversations. [`SessionStore`] is synchronous: the model workers call it
//! from their own threads (a turn is stored before its reply is sent), HTTP handlers
//! through `spawn_blocking`. Backends: SQLite (embedded default), PostgreSQL and Redis
//! (shared by several server instances).
//!
//! A session stores its static profiles, its turns (user turns with their rewritten
//! utterance) and the dialog state skills hand back. The dynamic profiles are derived
//! from the stored turns on every turn (as the pipeline does), so they are never stale.

mod postgres;
mod sql;
mod redis;
mod sqlite;

use std::path::Path;
use std::sync::Arc;

use chatplug_dialogue::{Role, Turn};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::config::{Backend, SessionsConfig};

pub use self::postgres::PostgresStore;
pub use self::redis::RedisStore;
pub use self::sqlite::SqliteStore;

/// A session without its turns, as listed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionMeta {
    pub id: String,
    pub title: String,
    pub created_at: String,
    pub updated_at: String,
    pub bot_profile: String,
    pub user_profile: String,
    pub role_instruction: Option<String>,
    pub turn_count: usize,
}

/// One stored turn.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredTurn {
    pub role: Role,
    pub utterance: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rewritten: Option<String>,
    pub created_at: String,
}

impl StoredTurn {
    pub fn to_turn(&self) -> Turn {
        Turn { role: self.role, utterance: self.utterance.clone(), rewritten: self.rewritten.clone() }
    }
}

/// A whole session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    pub meta: SessionMeta,
    pub turns: Vec<StoredTurn>,
    pub dialog_state: Map<String, Value>,
}

/// What `POST /v1/sessions` sets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewSession {
    pub title: String,
    pub bot_profile: String,
    pub user_profile: String,
    pub role_instruction: Option<String>,
}

/// One answered turn to append.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnPair {
    pub user: StoredTurn,
    pub bot: StoredTurn,
    pub dialog_state: Map<String, Value>,
    /// Becomes the title of a session that has none.
    pub title_hint: String,
}

/// A backend failure; the message names the backend.
#[derive(Debug, thiserror::Error)]
#[error("session store ({backend}): {message}")]
pub struct StoreError {
    pub backend: &'static str,
    pub message: String,
}

pub type StoreResult<T> = Result<T, StoreError>;

pub trait SessionStore: Send + Sync {
    /// Stores a new session with id `id` created at `now`.
    fn create(&self, id: &str, new: &NewSession, now: &str) -> StoreResult<SessionMeta>;
    fn get(&self, id: &str) -> StoreResult<Option<SessionRecord>>;
    /// Every session, newest `updated_at` first.
    fn list(&self) -> StoreResult<Vec<SessionMeta>>;
    /// Whether the session existed.
    fn delete(&self, id: &str) -> StoreResult<bool>;
    /// Appends a user turn and a bot turn atomically and durably (returns once they
    /// are committed); `false` when the session does not exist (deleted meanwhile).
    fn append(&self, id: &str, pair: &TurnPair) -> StoreResult<bool>;
}

/// The store the config selects; SQLite files go in `data_dir` by default.
pub fn open_store(config: &SessionsConfig, data_dir: &Path) -> StoreResult<Arc<dyn SessionStore>> {
    Ok(match config.backend {
        Backend::Sqlite => Arc::new(SqliteStore::open(&config.sqlite_path(data_dir))?),
        Backend::Postgres => Arc::new(PostgresStore::connect(&config.url, &config.prefix)?),
        Backend::Redis => Arc::new(RedisStore::connect(&config.url, &config.prefix)?),
    })
}

/// A new random session id (128 bits, hex).
pub fn new_session_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// The current time as RFC 3339 UTC with microseconds; the fixed width makes the text
/// order the time order.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string()
}

/// A title from the first query: its first 30 characters.
pub fn title_from_query(query: &str) -> String {
    query.trim().chars().take(30).collect()
}

pub(crate) fn role_name(role: Role) -> &'static str {
    match role {
        Role::User => "user",
        Role::Bot => "bot",
    }
}

pub(crate) fn parse_role(text: &str, backend: &'static str) -> StoreResult<Role> {
    match text {
        "user" => Ok(Role::User),
        "bot" => Ok(Role::Bot),
        other => Err(StoreError { backend, message: format!("stored turn has unknown role `{other}`") }),
    }
}

pub(crate) fn parse_state(text: &str, backend: &'static str) -> StoreResult<Map<String, Value>> {
    serde_json::from_str(text)
        .map_err(|e| StoreError { backend, message: format!("stored dialog state is not a JSON object: {e}") })
}
