//! The `[server]` and `[sessions]` tables of `config/chatplug.toml`, read with
//! `chatplug_dialogue::config::component_table` (so `CHATPLUG_SERVER__<KEY>` and
//! `CHATPLUG_SESSIONS__<KEY>` override them). Errors name `server.<key>`.

use std::path::{Path, PathBuf};

use chatplug_dialogue::config::component_table;
use serde::Deserialize;

/// `[server]`: listening, workers, queue, timeouts, auth, CORS and input limits.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub bind: String,
    pub workers: usize,
    /// Continuous batching: the decoding steps of the requests the workers run share one
    /// pass over the weights, at most this many hypotheses a pass; 0 decodes each request
    /// alone. Read by `chatplug serve`, which owns the model.
    pub batch_rows: usize,
    pub queue_capacity: usize,
    /// What a full queue answers: 429 or 503.
    pub queue_full_status: u16,
    pub request_timeout_s: f64,
    /// Seconds a client may take to send its request head, or its body once the head
    /// has arrived; then the connection is closed (head) or answered 408 (body).
    pub client_timeout_s: f64,
    pub max_body_bytes: usize,
    pub api_keys: Vec<String>,
    pub cors_origins: Vec<String>,
    pub model_name: String,
    pub limits: Limits,
}

/// Field limits checked before a request is queued.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    pub max_query_chars: usize,
    pub max_history_turns: usize,
    pub max_utterance_chars: usize,
    pub max_knowledge_items: usize,
    pub max_knowledge_chars: usize,
    pub max_profile_chars: usize,
    pub max_messages: usize,
    pub max_new_tokens: usize,
    pub max_beams: usize,
    pub max_choices: usize,
    pub max_stop_strings: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: "127.0.0.1:8080".into(),
            workers: 1,
            batch_rows: 32,
            queue_capacity: 16,
            queue_full_status: 429,
            request_timeout_s: 120.0,
            client_timeout_s: 30.0,
            max_body_bytes: 1 << 20,
            api_keys: Vec::new(),
            cors_origins: Vec::new(),
            model_name: "chatplug".into(),
            limits: Limits::default(),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_query_chars: 2000,
            max_history_turns: 200,
            max_utterance_chars: 4000,
            max_knowledge_items: 20,
            max_knowledge_chars: 10000,
            max_profile_chars: 4000,
            max_messages: 200,
            max_new_tokens: 512,
            max_beams: 8,
            max_choices: 4,
            max_stop_strings: 4,
        }
    }
}

/// `[sessions]`: where sessions live.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionsConfig {
    pub backend: Backend,
    /// SQLite: a file path (default `DATA_DIR/sessions.sqlite3`); PostgreSQL: a
    /// connection string or `postgres://` URL; Redis: a `redis://` URL.
    pub url: String,
    /// Redis key prefix and PostgreSQL table-name prefix.
    pub prefix: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgres,
    Redis,
}

impl Default for SessionsConfig {
    fn default() -> Self {
        SessionsConfig { backend: Backend::Sqlite, url: String::new(), prefix: "chatplug".into() }
    }
}

/// A configuration value that is wrong; the message names `<table>.<key>`.
#[derive(Debug, thiserror::Error)]
#[error("bad config value for `{key}`: {message}")]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

fn bad(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError { key: key.to_string(), message: message.into() }
}

/// Deserializes `[table]` of the config text with environment overrides from `env`.
fn read_table<T: serde::de::DeserializeOwned>(
    text: &str,
    table: &str,
    env: &[(String, String)],
) -> Result<T, ConfigError> {
    let raw = component_table(text, table, env.iter().cloned()).map_err(|e| bad(table, e.to_string()))?;
    serde_path_to_error::deserialize(toml::Value::Table(raw)).map_err(|e| {
        let path = e.path().to_string();
        let key = if path.is_empty() || path == "." { table.to_string() } else { format!("{table}.{path}") };
        bad(&key, e.into_inner().to_string())
    })
}

impl ServerConfig {
    /// `[server]` of the config text. API keys also come from `CHATPLUG_API_KEYS`
    /// (comma-separated), added to the configured ones.
    pub fn from_toml(text: &str, env: &[(String, String)]) -> Result<ServerConfig, ConfigError> {
        let mut config: ServerConfig = read_table(text, "server", env)?;
        if let Some((_, keys)) = env.iter().find(|(k, _)| k == "CHATPLUG_API_KEYS") {
            config.api_keys.extend(keys.split(',').map(str::trim).filter(|k| !k.is_empty()).map(String::from));
        }
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.workers == 0 {
            return Err(bad("server.workers", "must be at least 1"));
        }
        if self.queue_capacity == 0 {
            return Err(bad("server.queue_capacity", "must be at least 1"));
        }
        if ![429, 503].contains(&self.queue_full_status) {
            return Err(bad("server.queue_full_status", "must be 429 or 503"));
        }
        if !(self.request_timeout_s.is_finite() && self.request_timeout_s > 0.0) {
            return Err(bad("server.request_timeout_s", "must be a positive number of seconds"));
        }
        if !(self.client_timeout_s.is_finite() && self.client_timeout_s > 0.0) {
            return Err(bad("server.client_timeout_s", "must be a positive number of seconds"));
        }
        if self.max_body_bytes < 1024 {
            return Err(bad("server.max_body_bytes", "must be at least 1024"));
        }
        if self.api_keys.iter().any(|k| k.trim().is_empty()) {
            return Err(bad("server.api_keys", "keys must not be empty"));
        }
        if self.bind.parse::<std::net::SocketAddr>().is_err() {
            return Err(bad("server.bind", format!("`{}` is not an address like 127.0.0.1:8080", self.bind)));
        }
        Ok(())
    }
}

impl SessionsConfig {
    pub fn from_toml(text: &str, env: &[(String, String)]) -> Result<SessionsConfig, ConfigError> {
        let config: SessionsConfig = read_table(text, "sessions", env)?;
        if config.backend != Backend::Sqlite && config.url.is_empty() {
            return Err(bad("sessions.url", "the postgres and redis backends need a url"));
        }
        if config.prefix.is_empty() || !config.prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(bad("sessions.prefix", "must be letters, digits or `_`"));
        }
        Ok(config)
    }

    /// The SQLite file: `url` when set, else `DATA_DIR/sessions.sqlite3`.
    pub fn sqlite_path(&self, data_dir: &Path) -> PathBuf {
        if self.url.is_empty() {
            data_dir.join("sessions.sqlite3")
        } else {
            PathBuf::from(self.url.trim_start_matches("sqlite://"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_when_the_table_is_missing() {
        assert_eq!(ServerConfig::from_toml("", &[]).unwrap(), ServerConfig::default());
        assert_eq!(SessionsConfig::from_toml("", &[]).unwrap(), SessionsConfig::default());
    }

    #[test]
    fn the_documented_defaults_are_the_code_defaults() {
        let text = include_str!("../../../config/chatplug.toml");
        assert_eq!(ServerConfig::from_toml(text, &[]).unwrap(), ServerConfig::default());
        assert_eq!(SessionsConfig::from_toml(text, &[]).unwrap(), SessionsConfig::default());
    }

    #[test]
    fn errors_name_the_key() {
        let e = ServerConfig::from_toml("[server]\nworkers = \"two\"\n", &[]).unwrap_err();
        assert_eq!(e.key, "server.workers", "{e}");
        let e = ServerConfig::from_toml("[server]\nbogus = 1\n", &[]).unwrap_err();
        assert!(e.to_string().contains("bogus"), "{e}");
        let e = ServerConfig::from_toml("[server.limits]\nmax_query_chars = -1\n", &[]).unwrap_err();
        assert_eq!(e.key, "server.limits.max_query_chars", "{e}");
        let e = SessionsConfig::from_toml("[sessions]\nbackend = \"mysql\"\n", &[]).unwrap_err();
        assert_eq!(e.key, "sessions.backend", "{e}");
        let e = SessionsConfig::from_toml("[sessions]\nbackend = \"redis\"\n", &[]).unwrap_err();
        assert_eq!(e.key, "sessions.url", "{e}");
    }

    #[test]
    fn api_keys_from_the_environment() {
        let c = ServerConfig::from_toml(
            "[server]\napi_keys = [\"a\"]\n",
            &env(&[("CHATPLUG_API_KEYS", "b, c,"), ("CHATPLUG_SERVER__WORKERS", "3")]),
        )
        .unwrap();
        assert_eq!(c.api_keys, ["a", "b", "c"]);
        assert_eq!(c.workers, 3);
    }
}
