//! Knowledge imports killed with SIGKILL at several moments (issue 13): afterwards the
//! store opens and holds exactly what it held before the import or exactly what it
//! holds after a complete one, never a part of it; and the next import works (no lock
//! or half-written file left behind). For the embedded store and for PostgreSQL.
//!
//! The kill times are fractions of a measured complete import of the same file, so they
//! fall while it reads the file, while it indexes and while it commits; the test checks
//! that most kills did land while the import was still running.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chatplug_knowledge::{read_documents, EmbeddedStore, KnowledgeStore, PgRanking, PgStore};

/// Documents already in the store before the import: `keep-0` … `keep-9`.
const KEPT: usize = 10;
/// Of those, the import replaces `keep-0` … `keep-4` with new text.
const REPLACED: usize = 5;
/// New documents the import adds: enough that an import takes a second or more (the
/// PostgreSQL import is slower per document).
const ADDED_EMBEDDED: usize = 3000;
const ADDED_POSTGRES: usize = 800;

const CHARS: &str = "山水云雨风花鸟月江河湖海星辰日夜春夏秋冬红黄蓝绿白黑高低远近大小长短新旧早晚";

/// A deterministic paragraph of about 300 characters for document `i`.
fn paragraph(i: usize) -> String {
    let chars: Vec<char> = CHARS.chars().collect();
    let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut text = format!("第{i}篇记录。");
    for k in 0..300 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        text.push(chars[(x % chars.len() as u64) as usize]);
        if k % 23 == 22 {
            text.push('。');
        }
    }
    text
}

fn line(id: &str, text: &str) -> String {
    serde_json::json!({ "id": id, "text": text }).to_string() + "\n"
}

/// The store before the import.
fn before_file() -> String {
    (0..KEPT).map(|i| line(&format!("keep-{i}"), &format!("旧版说明{i}。{}", paragraph(i)))).collect()
}

/// The import: five replacements, then `added` new documents.
fn import_file(added: usize) -> String {
    let mut out: String =
        (0..REPLACED).map(|i| line(&format!("keep-{i}"), &format!("新版说明{i}。{}", paragraph(i)))).collect();
    for i in 0..added {
        out += &line(&format!("doc-{i}"), &paragraph(KEPT + i));
    }
    out
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum State {
    Before,
    After,
}

/// Which whole state the store is in (before, or after an import of `added` documents);
/// panics on anything in between.
fn state(store: &dyn KnowledgeStore, added: usize, what: &str) -> State {
    let (docs, _) = store.counts().unwrap_or_else(|e| panic!("{what}: cannot count: {e}"));
    // Each replaced document's text says which version it is.
    let versions: Vec<&str> = (0..REPLACED)
        .map(|i| {
            let hits = store.search(&format!("说明{i}"), KEPT).unwrap_or_else(|e| panic!("{what}: search: {e}"));
            let hit = hits
                .iter()
                .find(|h| h.doc_id == format!("keep-{i}"))
                .unwrap_or_else(|| panic!("{what}: keep-{i} is missing: {hits:?}"));
            if hit.text.contains(&format!("新版说明{i}")) {
                "new"
            } else if hit.text.contains(&format!("旧版说明{i}")) {
                "old"
            } else {
                panic!("{what}: keep-{i} has neither version: {}", hit.text)
            }
        })
        .collect();
    match docs {
        KEPT if versions.iter().all(|v| *v == "old") => State::Before,
        n if n == KEPT + added && versions.iter().all(|v| *v == "new") => State::After,
        _ => panic!("{what}: a partial import: {docs} documents, replaced documents {versions:?}"),
    }
}

fn chatplug() -> Command {
    Command::new(env!("CARGO_BIN_EXE_chatplug"))
}

fn spawn_import(store_args: &[&str], file: &Path) -> Child {
    chatplug()
        .args(["kb", "index"])
        .args(store_args)
        .arg(file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chatplug kb index")
}

fn run_import(store_args: &[&str], file: &Path) -> Duration {
    let start = Instant::now();
    let status = spawn_import(store_args, file).wait().unwrap();
    assert!(status.success(), "kb index {store_args:?} failed");
    start.elapsed()
}

/// Kills imports at fractions of `full` and checks the store after each; `reset` puts the
/// store back in the before state and returns it. Returns how many kills found the import
/// still running. Most fractions are early: on a loaded machine an import can run much
/// faster than the timed one.
fn kill_at_fractions(
    full: Duration,
    added: usize,
    store_args: &[&str],
    file: &Path,
    reset: &mut dyn FnMut() -> Box<dyn KnowledgeStore>,
    reopen: &mut dyn FnMut() -> Box<dyn KnowledgeStore>,
) -> usize {
    let fractions = [0.02, 0.1, 0.2, 0.3, 0.4, 0.5, 0.65, 0.8, 0.9, 0.97];
    let mut running = 0;
    let mut seen = Vec::new();
    for f in fractions {
        {
            let store = reset();
            assert_eq!(state(store.as_ref(), added, "reset"), State::Before);
        }
        let mut child = spawn_import(store_args, file);
        std::thread::sleep(full.mul_f64(f));
        if child.try_wait().unwrap().is_none() {
            running += 1;
        }
        child.kill().ok(); // SIGKILL
        child.wait().unwrap();
        let store = reopen();
        seen.push((f, state(store.as_ref(), added, &format!("killed at {f} of the import"))));
    }
    eprintln!("full import {full:?}; states after the kills: {seen:?}");
    running
}

/// The whole check on one store: a complete import (timed; it gives the after state),
/// the kills, then a complete import again.
fn crash_imports(
    args: &[&str],
    import: &Path,
    added: usize,
    reset: &mut dyn FnMut() -> Box<dyn KnowledgeStore>,
    reopen: &mut dyn FnMut() -> Box<dyn KnowledgeStore>,
) {
    drop(reset());
    let full = run_import(args, import);
    assert_eq!(state(reopen().as_ref(), added, "complete import"), State::After);

    let running = kill_at_fractions(full, added, args, import, reset, reopen);
    assert!(running >= 3, "only {running} of 10 kills landed while the import ran");

    // The last killed import left nothing that stops the next one.
    run_import(args, import);
    assert_eq!(state(reopen().as_ref(), added, "import after the kills"), State::After);
}

#[test]
fn embedded_store_imports_survive_kill_9() {
    let t = tempfile::tempdir().unwrap();
    let before = t.path().join("before.jsonl");
    let import = t.path().join("import.jsonl");
    std::fs::write(&before, before_file()).unwrap();
    std::fs::write(&import, import_file(ADDED_EMBEDDED)).unwrap();
    let kb = t.path().join("kb");
    let args = ["--kb", kb.to_str().unwrap()];

    let mut reset = || -> Box<dyn KnowledgeStore> {
        let _ = std::fs::remove_dir_all(&kb);
        let store = EmbeddedStore::open(&kb, true).unwrap();
        store.upsert_documents(&read_documents(std::slice::from_ref(&before)).unwrap()).unwrap();
        Box::new(store)
    };
    let mut reopen = || -> Box<dyn KnowledgeStore> {
        Box::new(EmbeddedStore::open(&kb, false).expect("the store opens after the kill"))
    };

    crash_imports(&args, &import, ADDED_EMBEDDED, &mut reset, &mut reopen);
}

#[test]
fn postgres_imports_survive_kill_9() {
    let pg = chatplug_testkit::TempPostgres::start().unwrap();
    let url = pg.url();
    let t = tempfile::tempdir().unwrap();
    let before = t.path().join("before.jsonl");
    let import = t.path().join("import.jsonl");
    std::fs::write(&before, before_file()).unwrap();
    std::fs::write(&import, import_file(ADDED_POSTGRES)).unwrap();
    let args = ["--backend", "postgres", "--postgres-url", url.as_str()];

    let connect = || PgStore::connect(&url, PgRanking::default()).expect("connect");
    let mut reset = || -> Box<dyn KnowledgeStore> {
        let store = connect();
        let added: Vec<String> = (0..ADDED_POSTGRES).map(|i| format!("doc-{i}")).collect();
        store.delete_documents(&added).unwrap();
        store.upsert_documents(&read_documents(std::slice::from_ref(&before)).unwrap()).unwrap();
        Box::new(store)
    };
    let mut reopen = || -> Box<dyn KnowledgeStore> { Box::new(connect()) };

    crash_imports(&args, &import, ADDED_POSTGRES, &mut reset, &mut reopen);
}
