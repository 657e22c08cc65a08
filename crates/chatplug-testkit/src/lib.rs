//! Real servers for integration tests: a throwaway PostgreSQL cluster and a Redis
//! server, each started on a free loopback port in its own temporary directory and
//! stopped when the handle is dropped.
//!
//! The binaries come from Debian's `postgresql` and `redis-server` packages
//! (`.ci/setup` installs them). A missing binary is an error that says which package
//! to install: tests that need a server fail rather than skip.

pub mod http;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub type Result<T> = std::result::Result<T, String>;

/// A free TCP port on 127.0.0.1 (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn run(mut cmd: Command, what: &str) -> Result<()> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{what}: cannot start {:?}: {e}", cmd.get_program()))?;
    if !out.status.success() {
        return Err(format!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

/// Directory of the PostgreSQL server binaries (`initdb`, `pg_ctl`, `postgres`).
fn postgres_bindir() -> Result<PathBuf> {
    if let Ok(dir) = std::env::var("CHATPLUG_PG_BINDIR") {
        return Ok(PathBuf::from(dir));
    }
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| rd.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    candidates.sort();
    candidates
        .into_iter()
        .rev()
        .find(|d| d.join("initdb").exists() && d.join("pg_ctl").exists())
        .ok_or_else(|| {
            "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin \
             (install the Debian package `postgresql`, as .ci/setup does, or set CHATPLUG_PG_BINDIR)"
                .to_string()
        })
}

/// A PostgreSQL cluster owned by the test: `initdb` with trust authentication, then
/// `pg_ctl start` on a free port. When the tests run as root the cluster runs as the
/// `postgres` system user (PostgreSQL refuses root).
pub struct TempPostgres {
    dir: tempfile::TempDir,
    bindir: PathBuf,
    as_postgres_user: bool,
    port: u16,
}

impl TempPostgres {
    pub fn start() -> Result<TempPostgres> {
        let bindir = postgres_bindir()?;
        let as_postgres_user = running_as_root();
        let dir = tempfile::Builder::new()
            .prefix("chatplug-pg-")
            .tempdir()
            .map_err(|e| format!("temporary directory: {e}"))?;
        if as_postgres_user {
            run(
                {
                    let mut c = Command::new("chown");
                    c.args(["-R", "postgres:postgres"]).arg(dir.path());
                    c
                },
                "chown of the PostgreSQL directory",
            )?;
        }
        let pg = TempPostgres {
            dir,
            bindir,
            as_postgres_user,
            port: free_port(),
        };
        let data = pg.data_dir();
        let mut initdb = pg.command("initdb");
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]);
        run(initdb, "initdb")?;
        pg.start_server()?;
        Ok(pg)
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn command(&self, program: &str) -> Command {
        let binary = self.bindir.join(program);
        if self.as_postgres_user {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(binary);
            c
        } else {
            Command::new(binary)
        }
    }

    fn start_server(&self) -> Result<()> {
        let mut ctl = self.command("pg_ctl");
        ctl.arg("-D")
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.dir.path().join("server.log"))
            .arg("-o")
            .arg(format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
                self.port,
                self.dir.path().display()
            ))
            .args(["-w", "-t", "60", "start"]);
        run(ctl, "pg_ctl start").map_err(|e| format!("{e}\nserver log:\n{}", self.log()))
    }

    /// Stops the server (fast shutdown: everything committed is kept).
    pub fn stop(&self) -> Result<()> {
        let mut ctl = self.command("pg_ctl");
        ctl.arg("-D").arg(self.data_dir()).args(["-m", "fast", "-w", "stop"]);
        run(ctl, "pg_ctl stop")
    }

    /// Starts the server again after [`TempPostgres::stop`], on the same port.
    pub fn restart(&self) -> Result<()> {
        self.start_server()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A libpq-style connection string for the `postgres` database as user `postgres`.
    pub fn connection_string(&self) -> String {
        format!("host=127.0.0.1 port={} user=postgres dbname=postgres", self.port)
    }

    /// The same as a URL: `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// The server log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        let mut ctl = self.command("pg_ctl");
        ctl.arg("-D").arg(self.data_dir()).args(["-m", "immediate", "-w", "stop"]);
        let _ = ctl.stdout(Stdio::null()).stderr(Stdio::null()).status();
    }
}

/// A Redis server owned by the test, on a free port, with its data in a temporary
/// directory (append-only file on, so a restart of Redis itself keeps the data).
pub struct TempRedis {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<std::process::Child>,
}

impl TempRedis {
    pub fn start() -> Result<TempRedis> {
        let dir = tempfile::Builder::new()
            .prefix("chatplug-redis-")
            .tempdir()
            .map_err(|e| format!("temporary directory: {e}"))?;
        let mut redis = TempRedis {
            dir,
            port: free_port(),
            child: None,
        };
        redis.start_server()?;
        Ok(redis)
    }

    fn start_server(&mut self) -> Result<()> {
        let binary = which("redis-server").ok_or_else(|| {
            "redis-server not found on PATH (install the Debian package `redis-server`, as .ci/setup does)"
                .to_string()
        })?;
        let child = Command::new(binary)
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--appendonly", "yes", "--save", ""])
            .arg("--dir")
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start redis-server: {e}"))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("redis-server did not listen on port {} within 20 s", self.port))
    }

    /// Kills the server (as a crash would).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and directory.
    pub fn restart(&mut self) -> Result<()> {
        self.stop();
        self.start_server()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

impl Drop for TempRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The first `name` on PATH.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    p.is_file()
}
