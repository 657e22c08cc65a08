//! Which model directory `chat`, `serve` and `eval` load: `--model`, else the
//! `CHATPLUG_MODEL` environment variable, else the configuration file's top-level
//! `model` key (relative to the file's folder), else the demo model shipped in the
//! repository (`models/chatplug-demo`), so a fresh clone talks to a trained model.
//! The precision its weights are held in is chosen the same way: `--precision`, else
//! `CHATPLUG_PRECISION`, else the file's top-level `precision`, else f32.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use chatplug_model::Precision;

use crate::sources::ConfigFile;

/// The environment variable that names the model directory.
pub const MODEL_ENV: &str = "CHATPLUG_MODEL";

/// Where the demo model lives, relative to the repository root.
pub const DEMO_MODEL: &str = "models/chatplug-demo";

/// The repository this binary was built from: the demo model is found there when the
/// current folder is elsewhere.
const REPOSITORY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// How the model directory was chosen, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Flag,
    Environment,
    ConfigFile,
    Demo,
}

/// The chosen model directory and why it was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelChoice {
    pub dir: PathBuf,
    pub source: Source,
}

/// Chooses the model directory (see the module comment). `env_model` is the value of
/// [`MODEL_ENV`], `cwd` the folder relative demo paths start from.
pub fn choose(
    flag: Option<&Path>,
    env_model: Option<&str>,
    config: &ConfigFile,
    cwd: &Path,
) -> Result<ModelChoice> {
    if let Some(dir) = flag {
        return Ok(ModelChoice { dir: dir.to_path_buf(), source: Source::Flag });
    }
    if let Some(dir) = env_model.filter(|v| !v.trim().is_empty()) {
        return Ok(ModelChoice { dir: PathBuf::from(dir), source: Source::Environment });
    }
    if let Some(dir) = config_model(config)? {
        return Ok(ModelChoice { dir, source: Source::ConfigFile });
    }
    for candidate in [cwd.join(DEMO_MODEL), Path::new(REPOSITORY).join(DEMO_MODEL)] {
        if candidate.join("config.json").is_file() {
            return Ok(ModelChoice { dir: candidate, source: Source::Demo });
        }
    }
    bail!(
        "no model given and the demo model is not at {DEMO_MODEL} (here or in {REPOSITORY}): \
         pass --model DIR, set {MODEL_ENV}, or set `model` in the configuration file"
    )
}

/// [`choose`] with the process's environment and current folder.
pub fn choose_from_process(flag: Option<&Path>, config: &ConfigFile) -> Result<PathBuf> {
    let env_model = std::env::var(MODEL_ENV).ok();
    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    let choice = choose(flag, env_model.as_deref(), config, &cwd)?;
    if choice.source == Source::Demo {
        tracing::info!(model = %choice.dir.display(), "no --model given: using the demo model");
    }
    Ok(choice.dir)
}

/// The environment variable that names the precision.
pub const PRECISION_ENV: &str = "CHATPLUG_PRECISION";

/// Chooses the weights' precision (see the module comment).
pub fn choose_precision(flag: Option<Precision>, env_precision: Option<&str>, config: &ConfigFile) -> Result<Precision> {
    if let Some(precision) = flag {
        return Ok(precision);
    }
    if let Some(value) = env_precision.filter(|v| !v.trim().is_empty()) {
        return value.parse().map_err(|e| anyhow!("{PRECISION_ENV}: {e}"));
    }
    match top_level_key(config, "precision")? {
        None => Ok(Precision::F32),
        Some(toml::Value::String(value)) => value.parse().map_err(|e| anyhow!("configuration key `precision`: {e}")),
        Some(_) => bail!("configuration key `precision` must be a string: {}", Precision::NAMES),
    }
}

/// [`choose_precision`] with the process's environment.
pub fn precision_from_process(flag: Option<Precision>, config: &ConfigFile) -> Result<Precision> {
    choose_precision(flag, std::env::var(PRECISION_ENV).ok().as_deref(), config)
}

/// `--precision` for commands without a configuration file: the flag, else the environment.
pub fn precision_without_config(flag: Option<Precision>) -> Result<Precision> {
    precision_from_process(flag, &ConfigFile { text: String::new(), dir: PathBuf::from(".") })
}

/// The value of a top-level key of the configuration file, if it is set.
fn top_level_key(config: &ConfigFile, key: &str) -> Result<Option<toml::Value>> {
    if config.text.trim().is_empty() {
        return Ok(None);
    }
    let mut table: toml::Table = config.text.parse().context("cannot read the configuration file as TOML")?;
    Ok(table.remove(key))
}

/// The file's top-level `model = "DIR"`, resolved against the file's folder.
fn config_model(config: &ConfigFile) -> Result<Option<PathBuf>> {
    match top_level_key(config, "model")? {
        None => Ok(None),
        Some(toml::Value::String(dir)) if !dir.trim().is_empty() => Ok(Some(config.dir.join(dir))),
        Some(_) => bail!("configuration key `model` must be a non-empty string: the model directory"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str, dir: &str) -> ConfigFile {
        ConfigFile { text: text.to_string(), dir: PathBuf::from(dir) }
    }

    fn demo_in(root: &Path) -> PathBuf {
        let dir = root.join(DEMO_MODEL);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.json"), "{}").unwrap();
        dir
    }

    #[test]
    fn flag_then_environment_then_file_then_demo() {
        let tmp = tempfile::tempdir().unwrap();
        let demo = demo_in(tmp.path());
        let conf = file("model = \"m\"\n", "/etc/chatplug");
        let choice = |flag: Option<&Path>, env: Option<&str>, c: &ConfigFile| {
            choose(flag, env, c, tmp.path()).unwrap()
        };
        assert_eq!(choice(Some(Path::new("/f")), Some("/e"), &conf).dir, PathBuf::from("/f"));
        assert_eq!(choice(None, Some("/e"), &conf).source, Source::Environment);
        let from_file = choice(None, None, &conf);
        assert_eq!(from_file.source, Source::ConfigFile);
        assert_eq!(from_file.dir, PathBuf::from("/etc/chatplug/m"));
        let demo_choice = choice(None, Some(" "), &file("", "."));
        assert_eq!(demo_choice, ModelChoice { dir: demo, source: Source::Demo });
    }

    #[test]
    fn the_demo_model_is_looked_up_in_the_repository_too() {
        // REPOSITORY is the workspace root, where models/chatplug-demo belongs.
        let manifest = std::fs::read_to_string(Path::new(REPOSITORY).join("Cargo.toml")).unwrap();
        assert!(manifest.contains("[workspace]"), "{REPOSITORY}");
        let elsewhere = tempfile::tempdir().unwrap();
        match choose(None, None, &file("", "."), elsewhere.path()) {
            Ok(choice) => assert_eq!(choice.dir, Path::new(REPOSITORY).join(DEMO_MODEL)),
            Err(e) => assert!(e.to_string().contains("pass --model DIR"), "{e}"),
        }
    }

    #[test]
    fn precision_flag_then_environment_then_file_then_f32() {
        let conf = file("precision = \"bf16\"\n", ".");
        assert_eq!(choose_precision(Some(Precision::Int8), Some("f32"), &conf).unwrap(), Precision::Int8);
        assert_eq!(choose_precision(None, Some("int8"), &conf).unwrap(), Precision::Int8);
        assert_eq!(choose_precision(None, Some(" "), &conf).unwrap(), Precision::Bf16);
        assert_eq!(choose_precision(None, None, &file("", ".")).unwrap(), Precision::F32);
        let err = choose_precision(None, Some("fp4"), &conf).unwrap_err().to_string();
        assert!(err.contains("CHATPLUG_PRECISION") && err.contains("`fp4`"), "{err}");
        let err = choose_precision(None, None, &file("precision = \"half\"\n", ".")).unwrap_err().to_string();
        assert!(err.contains("`precision`") && err.contains("f32, bf16 or int8"), "{err}");
        let err = choose_precision(None, None, &file("precision = 8\n", ".")).unwrap_err().to_string();
        assert!(err.contains("must be a string"), "{err}");
    }

    #[test]
    fn a_bad_model_key_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let err = choose(None, None, &file("model = 3\n", "."), tmp.path()).unwrap_err();
        assert!(err.to_string().contains("`model`"), "{err}");
    }
}
