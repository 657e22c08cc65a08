//! A running `chatplug serve` for the integration tests (`serve.rs`, `web.rs`).

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::{clear_chatplug_env, root};

pub const MODEL: &str = "fixtures/golden/models/relu_tied";

/// A running `chatplug serve` on a free port, killed (SIGKILL) when dropped.
pub struct Serve {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl Serve {
    /// Starts it on the tiny test model with `data_dir` and extra environment variables;
    /// waits until it reports the address it listens on (it binds port 0: no port race).
    pub fn start(data_dir: &Path, env: &[(&str, &str)]) -> Serve {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_chatplug"));
        cmd.args(["serve", "--model", MODEL]).envs(env.iter().copied());
        Serve::spawn(cmd, data_dir)
    }

    /// Starts it as a user would: no model named (the demo model) and no `CHATPLUG_*`
    /// setting from the test run's environment.
    pub fn start_default(data_dir: &Path) -> Serve {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_chatplug"));
        clear_chatplug_env(&mut cmd).arg("serve");
        Serve::spawn(cmd, data_dir)
    }

    fn spawn(mut cmd: Command, data_dir: &Path) -> Serve {
        let mut child = cmd
            .args(["--bind", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .current_dir(root())
            // Request lines would flood the test output (the load test makes thousands).
            .env("CHATPLUG_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chatplug serve");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("chatplug serve: listening on ") {
                    let _ = tx.send(Ok(addr.to_string()));
                } else {
                    let _ = tx.send(Err(line.clone()));
                    eprintln!("[serve] {line}");
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut log = Vec::new();
        loop {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(Ok(base)) => return Serve { child, base },
                Ok(Err(line)) => log.push(line),
                Err(_) => {
                    let _ = child.kill();
                    panic!("chatplug serve did not start: {}", log.join("\n"));
                }
            }
        }
    }

    /// `127.0.0.1:PORT`, for raw TCP clients.
    pub fn addr(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// The server's process id (to read its memory from `/proc`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// `chatplug_<name>` from `/metrics`.
    pub fn metric(&self, name: &str) -> f64 {
        let text = ureq::get(&self.url("/metrics")).call().expect("GET /metrics").into_string().unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("chatplug_{name} ")))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
            .trim()
            .parse()
            .unwrap()
    }

    /// The queue depth once it is 0, or after `within` (what is left then).
    pub fn queue_depth_after(&self, within: Duration) -> f64 {
        let deadline = Instant::now() + within;
        while self.metric("queue_depth") > 0.0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        self.metric("queue_depth")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Kills it (SIGKILL, as a crash would).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        self.kill();
    }
}

