//! The `[knowledge]` table of the configuration file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::embedded::EmbeddedStore;
use crate::error::{KbError, Result};
use crate::postgres::{PgRanking, PgStore};
use crate::store::KnowledgeStore;

/// Which store holds the knowledge base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    #[default]
    Embedded,
    Postgres,
}

/// `[knowledge]` options (documented in `config/chatplug.toml`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KnowledgeConfig {
    /// The embedded knowledge base's directory; empty: none. Relative to the
    /// configuration file's folder.
    pub kb_dir: String,
    pub backend: Backend,
    pub postgres_url: String,
    pub postgres_ranking: PgRanking,
    /// Passages the `kb` provider hands to the pipeline per search.
    pub top_k: usize,
    /// Whether the store's FAQ answers questions (stage 5).
    pub faq: bool,
}

impl Default for KnowledgeConfig {
    fn default() -> Self {
        KnowledgeConfig {
            kb_dir: String::new(),
            backend: Backend::Embedded,
            postgres_url: String::new(),
            postgres_ranking: PgRanking::default(),
            top_k: 3,
            faq: true,
        }
    }
}

impl KnowledgeConfig {
    /// Reads `[knowledge]` from a configuration file's text, with
    /// `CHATPLUG_KNOWLEDGE__<KEY>` overrides from `env`.
    pub fn from_toml(text: &str, env: impl IntoIterator<Item = (String, String)>) -> Result<Self> {
        let table = chatplug_dialogue::config::component_table(text, "knowledge", env)
            .map_err(|e| KbError::Config { key: "knowledge".into(), message: e.to_string() })?;
        let cfg: KnowledgeConfig = serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
            let path = e.path().to_string();
            let key = if path == "." { "knowledge".to_string() } else { format!("knowledge.{path}") };
            KbError::Config { key, message: e.inner().to_string() }
        })?;
        if cfg.top_k == 0 {
            return Err(KbError::Config { key: "knowledge.top_k".into(), message: "must be at least 1".into() });
        }
        if cfg.backend == Backend::Postgres && cfg.postgres_url.trim().is_empty() {
            return Err(KbError::Config {
                key: "knowledge.postgres_url".into(),
                message: "backend = \"postgres\" needs a connection URL".into(),
            });
        }
        Ok(cfg)
    }

    /// The knowledge base directory resolved against `base`; `None` when unset.
    pub fn kb_path(&self, base: &Path) -> Option<PathBuf> {
        (!self.kb_dir.trim().is_empty()).then(|| base.join(&self.kb_dir))
    }

    /// Whether any store is configured.
    pub fn enabled(&self) -> bool {
        self.backend == Backend::Postgres || !self.kb_dir.trim().is_empty()
    }

    /// Opens the configured store (`None` when none is configured). The embedded one
    /// must exist unless `create`.
    pub fn open(&self, base: &Path, create: bool) -> Result<Option<Arc<dyn KnowledgeStore>>> {
        Ok(match self.backend {
            Backend::Postgres => Some(Arc::new(PgStore::connect(&self.postgres_url, self.postgres_ranking)?)),
            Backend::Embedded => match self.kb_path(base) {
                None => None,
                Some(dir) => Some(Arc::new(EmbeddedStore::open(&dir, create)?)),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env() -> Vec<(String, String)> {
        Vec::new()
    }

    #[test]
    fn defaults_without_table() {
        assert_eq!(KnowledgeConfig::from_toml("", no_env()).unwrap(), KnowledgeConfig::default());
    }

    #[test]
    fn errors_name_the_key() {
        let e = KnowledgeConfig::from_toml("[knowledge]\ntop_k = \"x\"\n", no_env()).unwrap_err().to_string();
        assert!(e.contains("knowledge.top_k"), "{e}");
        let e = KnowledgeConfig::from_toml("[knowledge]\nkb = \"x\"\n", no_env()).unwrap_err().to_string();
        assert!(e.contains("unknown field `kb`"), "{e}");
        let e = KnowledgeConfig::from_toml("[knowledge]\nbackend = \"postgres\"\n", no_env()).unwrap_err().to_string();
        assert!(e.contains("knowledge.postgres_url"), "{e}");
    }

    #[test]
    fn shipped_file_equals_the_defaults() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/chatplug.toml");
        let text = std::fs::read_to_string(path).unwrap();
        assert!(text.contains("[knowledge]"));
        assert_eq!(KnowledgeConfig::from_toml(&text, no_env()).unwrap(), KnowledgeConfig::default());
    }

    #[test]
    fn environment_overrides() {
        let env = vec![("CHATPLUG_KNOWLEDGE__TOP_K".to_string(), "7".to_string())];
        assert_eq!(KnowledgeConfig::from_toml("[knowledge]\ntop_k = 2\n", env).unwrap().top_k, 7);
    }
}
