//! Writes every target's seeds (with their mode bytes) and regression inputs as files,
//! `DIR/<target>/seed-N` and `DIR/<target>/regression-N`: the starting corpus of a
//! libFuzzer run (`fuzz/README.md`).
//!
//!     cargo run -p chatplug-fuzz --example export_seeds -- fuzz/seeds

use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "fuzz/seeds".into()));
    for target in chatplug_fuzz::TARGETS {
        let dir = out.join(target.name);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let seeds = chatplug_fuzz::runner::seeds(target);
        for (i, seed) in seeds.iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{i}")), seed).unwrap();
        }
        let regressions = chatplug_fuzz::runner::regressions(target);
        for (i, input) in regressions.iter().enumerate() {
            std::fs::write(dir.join(format!("regression-{i}")), input).unwrap();
        }
        println!("{}: {} seeds, {} regressions", target.name, seeds.len(), regressions.len());
    }
}
