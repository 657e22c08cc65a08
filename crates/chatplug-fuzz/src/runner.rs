//! The bounded runner, for stable toolchains and `cargo test`: a target's seeds and
//! committed regression inputs, then seeded mutations until the time budget is spent.
//! Each input runs on a worker thread, so that a panic is caught with its input and a
//! hang is noticed instead of stopping the run. Without coverage instrumentation, an
//! input is kept for further mutation when its outcome (the target's description,
//! numbers masked) has not been seen before: a crude stand-in for new coverage.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::mutate::{mutate, Rng};
use crate::targets::{root, Target};

/// How long and how hard to run.
#[derive(Debug, Clone)]
pub struct Budget {
    /// Mutations stop when this is spent (seeds and regressions always run).
    pub time: Duration,
    /// An input still running after this is a hang; the run stops there.
    pub hang: Duration,
    /// An input that returns but took longer than this is reported as slow.
    pub slow: Duration,
    pub seed: u64,
    /// Mutated inputs are cut to this many bytes.
    pub max_len: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            time: Duration::from_secs(3),
            hang: Duration::from_secs(20),
            slow: Duration::from_secs(5),
            seed: 0x5EED,
            max_len: 1 << 20,
        }
    }
}

#[derive(Debug)]
pub enum Problem {
    Panic(String),
    Hang,
    Slow(Duration),
}

#[derive(Debug)]
pub struct Finding {
    pub problem: Problem,
    /// Where the input was written (the regression folder's format).
    pub saved: PathBuf,
    pub len: usize,
}

#[derive(Debug)]
pub struct Report {
    pub target: &'static str,
    pub executions: usize,
    pub corpus: usize,
    pub outcomes: usize,
    pub elapsed: Duration,
    pub findings: Vec<Finding>,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} inputs in {:.1} s, corpus {}, {} distinct outcomes, {} findings",
            self.target,
            self.executions,
            self.elapsed.as_secs_f64(),
            self.corpus,
            self.outcomes,
            self.findings.len()
        )?;
        for finding in &self.findings {
            let problem: String = format!("{:?}", finding.problem).chars().take(400).collect();
            write!(
                f,
                "\n  {problem} ({} bytes, saved to {})",
                finding.len,
                finding.saved.display()
            )?;
        }
        Ok(())
    }
}

/// The target's seed files (every file of a seed folder), each behind its mode byte.
pub fn seeds(target: &Target) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for seed in target.seeds {
        let path = root().join(seed.0);
        let files = if path.is_dir() {
            files_in(&path)
        } else {
            vec![path.clone()]
        };
        for file in files {
            let data =
                std::fs::read(&file).unwrap_or_else(|e| panic!("seed {}: {e}", file.display()));
            let mut input: Vec<u8> = seed.1.into_iter().collect();
            input.extend_from_slice(&data);
            out.push(input);
        }
    }
    out
}

/// The inputs that once found a problem, committed under `regressions/<target>/`.
pub fn regressions(target: &Target) -> Vec<Vec<u8>> {
    let dir = regression_dir(target.name);
    if !dir.is_dir() {
        return Vec::new();
    }
    files_in(&dir)
        .iter()
        .map(|f| std::fs::read(f).expect("regression input"))
        .collect()
}

pub fn regression_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("regressions")
        .join(target)
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("seed folder")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// The outcome's kind: its start, up to any quoted input, with numbers masked, so
/// that "12 docs" and "13 docs", or errors that quote different input, count as one
/// (field names in backticks still tell errors apart).
fn outcome_class(outcome: &str) -> String {
    outcome
        .chars()
        .take_while(|c| !matches!(c, '"' | '\''))
        .take(60)
        .map(|c| if c.is_ascii_digit() { '#' } else { c })
        .collect()
}

/// The corpus stops growing here (long runs keep bounded memory).
const MAX_CORPUS: usize = 4096;

fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// Where findings are written: `CHATPLUG_FUZZ_FINDINGS`, or a folder in the temp dir.
fn findings_dir(target: &str) -> PathBuf {
    let base = std::env::var_os("CHATPLUG_FUZZ_FINDINGS")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("chatplug-fuzz-findings"));
    base.join(target)
}

fn save(target: &str, input: &[u8]) -> PathBuf {
    let dir = findings_dir(target);
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("{:016x}", fnv(input)));
    let _ = std::fs::write(&path, input);
    path
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else {
        "a panic without a message".into()
    }
}

type Done = (Result<String, String>, Duration);

/// Runs `target` within `budget`.
pub fn run(target: &'static Target, budget: &Budget) -> Report {
    let started = Instant::now();
    let (to_worker, inputs) = mpsc::channel::<Vec<u8>>();
    let (to_runner, results) = mpsc::channel::<Done>();
    let run_one = target.run;
    std::thread::Builder::new()
        .name(format!("fuzz-{}", target.name))
        .spawn(move || {
            for input in inputs {
                let t = Instant::now();
                let result =
                    std::panic::catch_unwind(|| run_one(&input)).map_err(|p| panic_message(&*p));
                if to_runner.send((result, t.elapsed())).is_err() {
                    return;
                }
            }
        })
        .expect("cannot start the fuzz worker");

    let mut report = Report {
        target: target.name,
        executions: 0,
        corpus: 0,
        outcomes: 0,
        elapsed: Duration::ZERO,
        findings: Vec::new(),
    };
    let mut corpus: Vec<Vec<u8>> = seeds(target);
    let fixed: Vec<Vec<u8>> = corpus.iter().cloned().chain(regressions(target)).collect();
    let mut seen = HashSet::new();
    let mut rng = Rng::new(budget.seed ^ fnv(target.name.as_bytes()));
    let mut fixed = fixed.into_iter();
    loop {
        let (input, mutated) = match fixed.next() {
            Some(input) => (input, false),
            None if started.elapsed() < budget.time && !corpus.is_empty() => {
                let base = &corpus[rng.below(corpus.len())];
                let other = &corpus[rng.below(corpus.len())];
                (mutate(&mut rng, base, other, budget.max_len), true)
            }
            None => break,
        };
        to_worker
            .send(input.clone())
            .expect("the fuzz worker stopped");
        report.executions += 1;
        match results.recv_timeout(budget.hang) {
            Ok((Ok(outcome), took)) => {
                if took > budget.slow {
                    report.findings.push(Finding {
                        problem: Problem::Slow(took),
                        saved: save(target.name, &input),
                        len: input.len(),
                    });
                }
                if seen.insert(outcome_class(&outcome)) && mutated && corpus.len() < MAX_CORPUS {
                    corpus.push(input);
                }
            }
            Ok((Err(message), _)) => {
                report.findings.push(Finding {
                    problem: Problem::Panic(message),
                    saved: save(target.name, &input),
                    len: input.len(),
                });
            }
            Err(_) => {
                // The worker is stuck on this input; it is abandoned with the run.
                report.findings.push(Finding {
                    problem: Problem::Hang,
                    saved: save(target.name, &input),
                    len: input.len(),
                });
                break;
            }
        }
        if report.findings.len() >= 5 {
            break;
        }
    }
    report.corpus = corpus.len();
    report.outcomes = seen.len();
    report.elapsed = started.elapsed();
    report
}
