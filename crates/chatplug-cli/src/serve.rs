//! `chatplug serve`: the HTTP server of the `chatplug-server` crate with the FiD model,
//! its tokenizer and the configured pipeline (knowledge sources included).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use chatplug_server::{open_store, Server, ServerConfig, SessionsConfig};

use crate::engine::load_engine;
use crate::prompt::load_pipeline_from;
use crate::sources::ConfigFile;

#[derive(clap::Args)]
pub struct Args {
    /// Model directory (config.json, weights, spiece.model or tokenizer.json). Default:
    /// `CHATPLUG_MODEL`, else the config file's `model` key, else models/chatplug-demo.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Weights' precision: f32 (the reference's numerics), bf16 or int8. Default:
    /// `CHATPLUG_PRECISION`, else the config file's `precision` key, else f32.
    #[arg(long)]
    precision: Option<chatplug_model::Precision>,
    /// Configuration file (TOML): the pipeline keys and the [server], [sessions],
    /// [search], [knowledge] tables; built-in defaults when omitted.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Address to listen on (overrides `server.bind`); port 0 picks a free port.
    #[arg(long)]
    bind: Option<String>,
    /// Folder for the embedded state: the SQLite sessions database, and `kb/`, the
    /// knowledge base used when `[knowledge]` names none (fill it with
    /// `chatplug kb index --kb DIR/kb FILE…`). Created if missing.
    #[arg(long, default_value = "chatplug-data")]
    data_dir: PathBuf,
}

pub fn run(args: Args) -> Result<()> {
    let file = ConfigFile::read(args.config.as_deref())?;
    let env: Vec<(String, String)> = std::env::vars().collect();
    let mut config = ServerConfig::from_toml(&file.text, &env)?;
    if let Some(bind) = args.bind {
        config.bind = bind;
    }
    let address: std::net::SocketAddr = config
        .bind
        .parse()
        .with_context(|| format!("--bind `{}` is not an address like 127.0.0.1:8080", config.bind))?;
    let sessions = SessionsConfig::from_toml(&file.text, &env)?;

    // The data folder's `kb` is the knowledge base unless `[knowledge]` names one.
    let default_kb = args.data_dir.join("kb");
    let model = crate::model_choice::choose_from_process(args.model.as_deref(), &file)?;
    let precision = crate::model_choice::precision_from_process(args.precision, &file)?;
    let (pipeline, mut generator) = load_engine(&model, precision, "serve", || {
        load_pipeline_from(&file, Some(&default_kb))
    })?;
    if config.batch_rows > 0 {
        let batching = generator
            .backend
            .start_batching(config.batch_rows)
            .context("bad config value for `server.batch_rows`")?;
        if !batching {
            eprintln!("chatplug serve: this model family decodes each request alone (server.batch_rows is ignored)");
        }
    }
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create the data folder {}", args.data_dir.display()))?;
    let store = open_store(&sessions, &args.data_dir)?;
    let server = Server::new(config, Arc::new(pipeline), Arc::new(generator), store);

    // The runtime only moves bytes; the model runs on the server's worker threads.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot listen on {address}"))?;
        eprintln!("chatplug serve: listening on http://{}", listener.local_addr()?);
        server.serve(listener).await.context("the server failed")
    })
}
