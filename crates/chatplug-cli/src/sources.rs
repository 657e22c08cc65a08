//! Knowledge sources attached to the dialogue pipeline from the configuration file:
//! its `[search]` table (web search providers) and its `[knowledge]` table (the
//! knowledge base and FAQ). Each source crate reads its own table with
//! `chatplug_dialogue::config::component_table`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chatplug_dialogue::ChatPipeline;

/// The configuration file's text and folder (relative paths in it are relative to the
/// folder). No file: empty text, the current folder.
pub struct ConfigFile {
    pub text: String,
    pub dir: PathBuf,
}

impl ConfigFile {
    pub fn read(path: Option<&Path>) -> Result<ConfigFile> {
        match path {
            None => Ok(ConfigFile {
                text: String::new(),
                dir: PathBuf::from("."),
            }),
            Some(p) => Ok(ConfigFile {
                text: std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read configuration file {}", p.display()))?,
                dir: p.parent().map(Path::to_path_buf).unwrap_or_default(),
            }),
        }
    }
}

/// Adds the configured knowledge sources to `pipeline`. `default_kb`: an embedded
/// knowledge base to use when `[knowledge]` names none and one exists there.
pub fn attach(
    pipeline: ChatPipeline,
    config: &ConfigFile,
    default_kb: Option<&Path>,
) -> Result<ChatPipeline> {
    let pipeline = attach_search(pipeline, config)?;
    let pipeline = attach_knowledge(pipeline, config, default_kb)?;
    Ok(pipeline)
}

/// The web search fan-out and the knowledge-graph triples of `[search]`.
fn attach_search(mut pipeline: ChatPipeline, config: &ConfigFile) -> Result<ChatPipeline> {
    let providers =
        chatplug_search::providers_from_config(&config.text, &config.dir, std::env::vars())
            .context("bad [search] configuration")?;
    for provider in providers {
        pipeline = pipeline.with_provider(provider);
    }
    Ok(pipeline)
}

/// The `[knowledge]` store as the `kb` provider, and its FAQ when `faq` is on.
fn attach_knowledge(
    mut pipeline: ChatPipeline,
    config: &ConfigFile,
    default_kb: Option<&Path>,
) -> Result<ChatPipeline> {
    use chatplug_knowledge::{Backend, KbFaq, KbProvider, KnowledgeConfig};
    let mut cfg = KnowledgeConfig::from_toml(&config.text, std::env::vars()).context("bad [knowledge] configuration")?;
    if cfg.backend == Backend::Embedded && cfg.kb_dir.is_empty() {
        if let Some(dir) = default_kb.filter(|d| d.exists()) {
            cfg.kb_dir = dir.to_string_lossy().into_owned();
        }
    }
    if let Some(store) = cfg.open(&config.dir, false).context("cannot open the knowledge base")? {
        tracing::info!(
            backend = ?cfg.backend,
            kb = %cfg.kb_path(&config.dir).map(|p| p.display().to_string()).unwrap_or_default(),
            faq = cfg.faq,
            "knowledge base attached"
        );
        pipeline = pipeline.with_provider(std::sync::Arc::new(KbProvider::new(store.clone(), cfg.top_k)));
        if cfg.faq {
            pipeline = pipeline.with_faq(std::sync::Arc::new(KbFaq::new(store)));
        }
    }
    Ok(pipeline)
}
