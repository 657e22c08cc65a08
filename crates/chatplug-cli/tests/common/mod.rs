//! Running the `chatplug` binary from the integration tests.

pub mod serve;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The repository root (the tests run commands from there).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `chatplug ARGS` in the repository root with `stdin` as standard input.
pub fn chatplug(args: &[&str], stdin: &str) -> Output {
    chatplug_with_env(args, stdin, &[])
}

/// [`chatplug`] with extra environment variables (`CHATPLUG_*` option overrides).
#[allow(dead_code)] // not every test binary uses it
pub fn chatplug_with_env(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chatplug"));
    cmd.args(args)
        .envs(env.iter().copied())
        // Short replies keep the random models quick; also exercises environment overrides.
        .env("CHATPLUG_CORE_CHAT_GENERATE_CONFIG__MAX_LENGTH", "20");
    run_in_root(cmd, stdin)
}

/// Removes every `CHATPLUG_*` setting of the test run's environment from `cmd`, so that it
/// runs in the default configuration as a user's would.
pub fn clear_chatplug_env(cmd: &mut Command) -> &mut Command {
    for (key, _) in std::env::vars().filter(|(key, _)| key.starts_with("CHATPLUG_")) {
        cmd.env_remove(key);
    }
    cmd
}

/// Runs `cmd` in the repository root with `stdin` as standard input, capturing its output.
pub fn run_in_root(mut cmd: Command, stdin: &str) -> Output {
    let mut child = cmd
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chatplug");
    // A command that fails before reading its input closes the pipe; that is not an error
    // of the test.
    match child.stdin.take().unwrap().write_all(stdin.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.unwrap(),
    }
    child.wait_with_output().unwrap()
}

/// Standard output parsed as one JSON value, after checking the command succeeded.
pub fn stdout_json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "chatplug failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON value")
}
