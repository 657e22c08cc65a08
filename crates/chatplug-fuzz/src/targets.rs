//! One function per parser of untrusted input. Each takes arbitrary bytes, drives the
//! real entry point the product uses (files are written to a scratch directory when the
//! entry point reads files), and returns a short description of what happened: `ok` or
//! the error. Returning is the only acceptable outcome; a panic, a hang or unbounded
//! memory is a finding. The description lets the bounded runner keep inputs that reach
//! behaviour it has not seen yet.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use candle_core::Device;
use chatplug_dialogue::{ChatPipeline, Config};
use chatplug_knowledge::ingest::read_documents;
use chatplug_knowledge::split::{split, SplitOptions};
use chatplug_model::{FidT5, GenerationConfig, T5Config};
use chatplug_tokenizer::Tokenizer;

/// A fuzz target: its name (also the libFuzzer target's), the function, and the
/// committed files its corpus starts from.
pub struct Target {
    pub name: &'static str,
    pub run: fn(&[u8]) -> String,
    pub seeds: &'static [Seed],
}

/// A seed file or folder (every file in it), relative to the repository root, and the
/// byte put before its contents for targets whose first byte chooses a mode.
pub struct Seed(pub &'static str, pub Option<u8>);

pub const TARGETS: &[Target] = &[
    Target {
        name: "spiece_model",
        run: spiece_model,
        seeds: &[
            Seed("fixtures/golden/tokenizer/spiece.model", None),
            Seed("fixtures/golden/tokenizer_trained/spiece.model", None),
        ],
    },
    Target {
        name: "tokenizer_text",
        run: tokenizer_text,
        seeds: &[Seed("crates/chatplug-fuzz/seeds/tokenizer_text", None)],
    },
    Target {
        name: "tokenizer_files",
        run: tokenizer_files,
        seeds: &[
            Seed(
                "fixtures/golden/tokenizer_saved_added/tokenizer_config.json",
                Some(0),
            ),
            Seed(
                "fixtures/golden/tokenizer_added/tokenizer_config.json",
                Some(0),
            ),
            Seed(
                "fixtures/golden/tokenizer_saved_added/added_tokens.json",
                Some(1),
            ),
            Seed(
                "fixtures/golden/models/relu_tied/special_tokens_map.json",
                Some(2),
            ),
            Seed("fixtures/golden/tokenizer_fast/tokenizer.json", Some(3)),
        ],
    },
    Target {
        name: "model_config",
        run: model_config,
        seeds: &[
            Seed("fixtures/golden/models/relu_tied/config.json", None),
            Seed("fixtures/golden/models/gated_bf16/config.json", None),
            Seed("fixtures/golden/models/chatplug_bin/config.json", None),
        ],
    },
    Target {
        name: "safetensors",
        run: safetensors,
        seeds: &[Seed(
            "fixtures/golden/models/relu_tied/model.safetensors",
            None,
        )],
    },
    Target {
        name: "torch_checkpoint",
        run: torch_checkpoint,
        seeds: &[Seed(
            "fixtures/golden/models/relu_tied_bin/pytorch_model.bin",
            None,
        )],
    },
    Target {
        name: "knowledge_import",
        run: knowledge_import,
        seeds: &[
            Seed("crates/chatplug-fuzz/seeds/knowledge/docs.jsonl", Some(0)),
            Seed("crates/chatplug-fuzz/seeds/knowledge/docs.txt", Some(1)),
            Seed("crates/chatplug-fuzz/seeds/knowledge/docs.md", Some(2)),
        ],
    },
    Target {
        name: "chat_request",
        run: chat_request,
        seeds: &[
            Seed("examples/dialogue_request.json", None),
            Seed("crates/chatplug-fuzz/seeds/chat_request", None),
        ],
    },
    Target {
        name: "generation_options",
        run: generation_options,
        seeds: &[Seed("crates/chatplug-fuzz/seeds/generation", None)],
    },
];

/// The repository root (seeds and fixture models are read from there).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The fixture model every model-file target completes its directory with.
const MODEL: &str = "fixtures/golden/models/relu_tied";

thread_local! {
    /// A scratch directory per thread: the libFuzzer and the bounded runner call the
    /// targets from one thread each, and parallel tests must not share files.
    static SCRATCH: RefCell<Option<tempfile::TempDir>> = const { RefCell::new(None) };
}

/// A fresh, empty scratch directory (the previous input's files removed).
fn scratch() -> PathBuf {
    SCRATCH.with(|s| {
        let mut s = s.borrow_mut();
        let dir = s
            .get_or_insert_with(|| tempfile::tempdir().expect("cannot create a scratch directory"));
        for entry in std::fs::read_dir(dir.path())
            .expect("scratch directory")
            .flatten()
        {
            let _ = std::fs::remove_file(entry.path());
        }
        dir.path().to_path_buf()
    })
}

fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, data).expect("cannot write to the scratch directory");
    path
}

fn copy_from_model(dir: &Path, name: &str) {
    std::fs::copy(root().join(MODEL).join(name), dir.join(name)).expect("fixture model file");
}

/// An error with the scratch directory's path taken out (it differs per thread and
/// would make every error look new to the runner).
fn error_in(dir: &Path, e: impl std::fmt::Display) -> String {
    e.to_string().replace(&dir.display().to_string(), "DIR")
}

/// `ok` or the error, as [`error_in`] describes it.
fn outcome<T, E: std::fmt::Display>(dir: &Path, r: Result<T, E>) -> String {
    r.map_or_else(|e| error_in(dir, e), |_| "ok".into())
}

fn fixture_tokenizer() -> &'static Tokenizer {
    static TOKENIZER: OnceLock<Tokenizer> = OnceLock::new();
    TOKENIZER.get_or_init(|| Tokenizer::from_dir(&root().join(MODEL)).expect("fixture tokenizer"))
}

/// A `spiece.model` (SentencePiece protobuf) loaded as a bare model file, then used.
pub fn spiece_model(data: &[u8]) -> String {
    let dir = scratch();
    let path = write(&dir, "spiece.model", data);
    match Tokenizer::from_spiece_file(&path) {
        Ok(tokenizer) => {
            let ids =
                tokenizer.encode("你好，世界！Hello ▁ <extra_id_0></s> 1234 \u{3000}ｆｕｌｌ");
            let _ = tokenizer.decode(&ids);
            let n = tokenizer.len() as u32;
            let _ = tokenizer.decode(&[0, 1, 2, n.saturating_sub(1), n, n + 100, u32::MAX]);
            format!("ok: {} pieces", if n < 10 { "few" } else { "many" })
        }
        Err(e) => error_in(&dir, e),
    }
}

/// Encoding arbitrary text and decoding arbitrary ids with a real tokenizer.
pub fn tokenizer_text(data: &[u8]) -> String {
    let tokenizer = fixture_tokenizer();
    let text = String::from_utf8_lossy(data);
    let ids = tokenizer.encode(&text);
    let decoded = tokenizer.decode(&ids);
    // Ids from the raw bytes, most of them beyond the vocabulary.
    let raw: Vec<u32> = data
        .chunks(4)
        .map(|c| c.iter().fold(0u32, |a, &b| (a << 8) | b as u32))
        .collect();
    let _ = tokenizer.decode(&raw);
    let in_vocab: Vec<u32> = raw
        .iter()
        .map(|id| id % (tokenizer.len() as u32 + 2))
        .collect();
    let _ = tokenizer.decode(&in_vocab);
    format!(
        "ok: {} ids, {} chars back",
        ids.len().min(3),
        decoded.chars().count().min(3)
    )
}

/// A model directory's tokenizer files as other tools write them: the first byte picks
/// the file the rest of the input replaces; the others are the fixture's.
pub fn tokenizer_files(data: &[u8]) -> String {
    const FILES: [&str; 4] = [
        "tokenizer_config.json",
        "added_tokens.json",
        "special_tokens_map.json",
        "tokenizer.json",
    ];
    let Some((&which, content)) = data.split_first() else {
        return "empty".into();
    };
    let dir = scratch();
    let name = FILES[which as usize % FILES.len()];
    if name != "tokenizer.json" {
        for f in [
            "spiece.model",
            "tokenizer_config.json",
            "special_tokens_map.json",
        ] {
            copy_from_model(&dir, f);
        }
    }
    write(&dir, name, content);
    match Tokenizer::from_dir(&dir) {
        Ok(tokenizer) => {
            let ids = tokenizer.encode("你好<extra_id_0>世界</s>");
            let _ = tokenizer.decode(&ids);
            "ok".into()
        }
        Err(e) => error_in(&dir, e),
    }
}

/// `config.json` of a model.
pub fn model_config(data: &[u8]) -> String {
    let dir = scratch();
    let path = write(&dir, "config.json", data);
    outcome(&dir, T5Config::from_file(&path))
}

/// A model directory whose `model.safetensors` is the input (the config is the
/// fixture's, so that well-formed tensors of the right shapes load).
pub fn safetensors(data: &[u8]) -> String {
    let dir = scratch();
    copy_from_model(&dir, "config.json");
    write(&dir, "model.safetensors", data);
    outcome(&dir, FidT5::load(&dir, &Device::Cpu))
}

/// A model directory whose `pytorch_model.bin` (a torch zip with a pickle) is the input.
pub fn torch_checkpoint(data: &[u8]) -> String {
    let dir = scratch();
    std::fs::copy(
        root().join("fixtures/golden/models/relu_tied_bin/config.json"),
        dir.join("config.json"),
    )
    .expect("fixture config");
    write(&dir, "pytorch_model.bin", data);
    outcome(&dir, FidT5::load(&dir, &Device::Cpu))
}

/// A knowledge import file: the first byte picks the format (JSONL, plain text,
/// Markdown); documents are read, split into passages and cut into words as indexing does.
pub fn knowledge_import(data: &[u8]) -> String {
    let Some((&which, content)) = data.split_first() else {
        return "empty".into();
    };
    let name = ["docs.jsonl", "docs.txt", "docs.md"][which as usize % 3];
    let dir = scratch();
    let path = write(&dir, name, content);
    match read_documents(&[path]) {
        Ok(docs) => {
            let mut passages = 0;
            for doc in &docs {
                for section in &doc.sections {
                    for passage in split(&section.text, SplitOptions::default()) {
                        let _ = chatplug_knowledge::analysis::words(&passage);
                        passages += 1;
                    }
                }
            }
            format!(
                "ok: {} docs, {} passages",
                docs.len().min(3),
                passages.min(3)
            )
        }
        Err(e) => error_in(&dir, e),
    }
}

fn pipeline() -> &'static ChatPipeline {
    static PIPELINE: OnceLock<ChatPipeline> = OnceLock::new();
    PIPELINE.get_or_init(|| {
        let config = Config::from_toml("", &root()).expect("built-in pipeline configuration");
        ChatPipeline::new(config).expect("pipeline")
    })
}

/// A chat request (the JSON `chatplug prompt` and the server take) through every
/// pipeline stage up to generation, with the built-in configuration.
pub fn chat_request(data: &[u8]) -> String {
    let Ok(text) = std::str::from_utf8(data) else {
        return "not UTF-8".into();
    };
    match pipeline().prompt_json(text) {
        Ok(_) => "ok".into(),
        Err(e) => e.to_string(),
    }
}

/// Generation options as a request gives them, resolved against a model's config.
pub fn generation_options(data: &[u8]) -> String {
    static CONFIG: OnceLock<T5Config> = OnceLock::new();
    let model = CONFIG.get_or_init(|| {
        T5Config::from_file(&root().join(MODEL).join("config.json")).expect("fixture config")
    });
    match serde_json::from_slice::<GenerationConfig>(data) {
        Ok(options) => match options.resolve(model) {
            Ok(_) => "ok".into(),
            Err(e) => e.to_string(),
        },
        Err(e) => format!("json: {e}"),
    }
}
