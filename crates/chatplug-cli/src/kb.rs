//! `chatplug kb`: manage and query the knowledge base and FAQ (crate
//! `chatplug-knowledge`), embedded (`--kb DIR`) or on PostgreSQL (`--backend
//! postgres`), or as the `[knowledge]` table of `--config` says.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use chatplug_knowledge::{eval, read_documents, read_faq, Backend, EmbeddedStore, KnowledgeConfig, KnowledgeStore, PgStore};
use serde_json::json;

use crate::sources::ConfigFile;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

/// Which store: flags first, then the configuration file's `[knowledge]` table.
#[derive(clap::Args)]
struct StoreArgs {
    /// The embedded knowledge base's directory.
    #[arg(long)]
    kb: Option<PathBuf>,
    /// A configuration file whose `[knowledge]` table names the store.
    #[arg(long)]
    config: Option<PathBuf>,
    /// `embedded` (default) or `postgres`.
    #[arg(long, value_parser = ["embedded", "postgres"])]
    backend: Option<String>,
    /// PostgreSQL connection URL (with `--backend postgres`).
    #[arg(long)]
    postgres_url: Option<String>,
}

/// A store and the files to import into it.
#[derive(clap::Args)]
struct FilesArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// A store and the ids to delete from it.
#[derive(clap::Args)]
struct DeleteArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[arg(required = true)]
    ids: Vec<String>,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Add (or replace, by id) documents from JSONL, TXT or Markdown files.
    Index(FilesArgs),
    /// The best passages for a query (at most one per document).
    Search {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, default_value_t = 5)]
        top_k: usize,
        /// Print {"hits": [{"doc_id", "text", "score", ...}]}.
        #[arg(long)]
        json: bool,
        query: String,
    },
    /// Delete documents by id.
    Delete(DeleteArgs),
    /// FAQ entries: import, search, delete.
    Faq {
        #[command(subcommand)]
        command: FaqCommand,
    },
    /// Measure retrieval: recall@1/3/5 and MRR over JSONL queries
    /// ({"query", "relevant": [doc ids]} per line).
    Eval {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        queries: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Subcommand)]
enum FaqCommand {
    /// Add (or replace, by id) FAQ entries from JSONL files
    /// ({"id"?, "question", "similar"?: [...], "answer"} per line).
    Import(FilesArgs),
    /// The best FAQ entries for a question; scores are question similarities in [0, 1].
    Search {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, default_value_t = 3)]
        size: usize,
        #[arg(long)]
        json: bool,
        query: String,
    },
    /// Delete FAQ entries by id.
    Delete(DeleteArgs),
}

impl StoreArgs {
    /// Opens the store; `create`: an embedded one is made when missing.
    fn open(&self, create: bool) -> Result<Arc<dyn KnowledgeStore>> {
        let file = ConfigFile::read(self.config.as_deref())?;
        let mut cfg = KnowledgeConfig::from_toml(&file.text, std::env::vars())
            .context("bad [knowledge] configuration")?;
        if let Some(b) = &self.backend {
            cfg.backend = if b == "postgres" { Backend::Postgres } else { Backend::Embedded };
        }
        if let Some(url) = &self.postgres_url {
            cfg.postgres_url = url.clone();
        }
        if cfg.backend == Backend::Postgres {
            if cfg.postgres_url.trim().is_empty() {
                bail!("--backend postgres needs --postgres-url URL (or knowledge.postgres_url in --config)");
            }
            return Ok(Arc::new(PgStore::connect(&cfg.postgres_url, cfg.postgres_ranking)?));
        }
        let dir = match (&self.kb, cfg.kb_path(&file.dir)) {
            (Some(dir), _) => dir.clone(),
            (None, Some(dir)) => dir,
            (None, None) => bail!("no knowledge base: give --kb DIR (or knowledge.kb_dir in --config)"),
        };
        Ok(Arc::new(EmbeddedStore::open(&dir, create)?))
    }
}

pub fn run(args: Args) -> Result<()> {
    match args.command {
        Command::Index(FilesArgs { store, files }) => {
            // Read and check every file before opening (or creating) the store.
            let docs = read_documents(&files)?;
            let s = store.open(true)?.upsert_documents(&docs)?;
            println!(
                "indexed {} documents ({} passages; {} replaced an existing id)",
                s.documents, s.passages, s.replaced
            );
        }
        Command::Search { store, top_k, json, query } => {
            let hits = store.open(false)?.search(&query, top_k)?;
            if json {
                println!("{}", json!({ "hits": hits }));
            } else if hits.is_empty() {
                println!("no hits");
            } else {
                for (i, h) in hits.iter().enumerate() {
                    println!("{}. [{}] {:.3}  {}", i + 1, h.doc_id, h.score, h.text);
                }
            }
        }
        Command::Delete(DeleteArgs { store, ids }) => {
            let n = store.open(false)?.delete_documents(&ids)?;
            println!("deleted {n} of {} documents", ids.len());
        }
        Command::Faq { command } => run_faq(command)?,
        Command::Eval { store, queries, json } => {
            let queries = eval::read_queries(&queries)?;
            let s = store.open(false)?;
            let m = eval::evaluate(&queries, |q, k| {
                Ok(s.search(q, k)?.into_iter().map(|h| h.doc_id).collect())
            })?;
            if json {
                println!("{}", serde_json::to_string(&m)?);
            } else {
                println!(
                    "queries {}  recall@1 {:.3}  recall@3 {:.3}  recall@5 {:.3}  MRR {:.3}",
                    m.queries, m.recall_at_1, m.recall_at_3, m.recall_at_5, m.mrr
                );
            }
        }
    }
    Ok(())
}

fn run_faq(command: FaqCommand) -> Result<()> {
    match command {
        FaqCommand::Import(FilesArgs { store, files }) => {
            let mut entries = Vec::new();
            for f in &files {
                entries.extend(read_faq(f)?);
            }
            let mut ids = std::collections::HashSet::new();
            if let Some(dup) = entries.iter().find(|e| !ids.insert(e.id.as_str())) {
                bail!("FAQ id `{}` appears in more than one file", dup.id);
            }
            let replaced = store.open(true)?.upsert_faq(&entries)?;
            println!("imported {} FAQ entries ({replaced} replaced an existing id)", entries.len());
        }
        FaqCommand::Search { store, size, json, query } => {
            let hits = store.open(false)?.search_faq(&query, size)?;
            if json {
                let hits: Vec<_> = hits
                    .iter()
                    .map(|m| json!({"id": m.id, "question": m.question, "matched": m.matched, "answer": m.answer, "score": m.score}))
                    .collect();
                println!("{}", json!({ "hits": hits }));
            } else if hits.is_empty() {
                println!("no hits");
            } else {
                for m in &hits {
                    println!("{:.3}  [{}] {} → {}", m.score, m.id, m.question, m.answer);
                }
            }
        }
        FaqCommand::Delete(DeleteArgs { store, ids }) => {
            let n = store.open(false)?.delete_faq(&ids)?;
            println!("deleted {n} of {} FAQ entries", ids.len());
        }
    }
    Ok(())
}
