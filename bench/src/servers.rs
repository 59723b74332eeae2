//! Starting and stopping the servers under test, each pinned to core 0 when `taskset` exists.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

use crate::eio::Result;

/// Which server a run talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// This project's Socket.IO stack: the conformance profile (`server/examples/conformance.rs`),
    /// built by the same app builder as the chat server.
    Ours,
    /// The conformance profile with `--max-buffer-size 4096` (room for a 2,000-message flood).
    OursBigBuffer,
    /// This project's chat server itself (`target/release/server`), on embedded defaults.
    OursChat,
    /// Node's socket.io 4.8 (`bench/node-reference/server.js`), echo/harness namespaces.
    Node,
    /// Node's socket.io 4.8 running the chat subset (`server.js --chat`).
    NodeChat,
    /// Reference (b): bare socketioxide with library defaults (`sioxide-ref`).
    Sioxide,
    /// Reference (c): raw tokio-tungstenite with the same framing (`raw-ws-ref`).
    RawWs,
}

impl Kind {
    /// Every server.
    pub const ALL: [Kind; 7] = [
        Kind::Ours,
        Kind::OursBigBuffer,
        Kind::OursChat,
        Kind::Node,
        Kind::NodeChat,
        Kind::Sioxide,
        Kind::RawWs,
    ];

    /// The name used in tables.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Ours => "ours (socketioxide app)",
            Kind::OursBigBuffer => "ours, --max-buffer-size 4096",
            Kind::OursChat => "ours (chat server)",
            Kind::Node => "node socket.io 4.8",
            Kind::NodeChat => "node socket.io 4.8 + better-sqlite3",
            Kind::Sioxide => "bare socketioxide",
            Kind::RawWs => "raw tokio-tungstenite",
        }
    }

    /// Whether this is a Node server (skipped when Node or its modules are missing).
    pub fn is_node(self) -> bool {
        matches!(self, Kind::Node | Kind::NodeChat)
    }
}

/// Where things are, and what the machine has.
#[derive(Clone, Debug)]
pub struct Env {
    /// The workspace root.
    pub root: PathBuf,
    /// `target/release` (where the binaries are).
    pub bin_dir: PathBuf,
    /// Scratch and logs: `target/bench`.
    pub work_dir: PathBuf,
    /// `taskset` is on the PATH.
    pub taskset: bool,
    /// `node` runs and `bench/node-reference/node_modules` exists.
    pub node: bool,
}

impl Env {
    /// Finds the workspace from the running binary (`<root>/target/release/bench`) or the
    /// current directory.
    pub fn discover() -> Result<Self> {
        let exe = std::env::current_exe()?;
        let bin_dir = exe
            .parent()
            .ok_or("no parent of the executable")?
            .to_path_buf();
        let from_exe = bin_dir
            .parent()
            .and_then(Path::parent)
            .map(Path::to_path_buf);
        let root = match from_exe {
            Some(r) if r.join("bench/Cargo.toml").exists() => r,
            _ => std::env::current_dir()?,
        };
        let work_dir = root.join("target/bench");
        std::fs::create_dir_all(work_dir.join("logs"))?;
        let taskset = which("taskset");
        let node = which("node") && root.join("bench/node-reference/node_modules").is_dir();
        Ok(Self {
            root,
            bin_dir,
            work_dir,
            taskset,
            node,
        })
    }

    /// A fresh scratch folder under the work dir.
    pub fn scratch(&self, name: &str) -> Result<PathBuf> {
        let dir = self.work_dir.join("scratch").join(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }
}

/// Whether `prog` is on the PATH.
pub fn which(prog: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|p| p.join(prog).is_file()))
}

/// A running server.
pub struct Server {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its process id (the server itself: `taskset` execs it).
    pub pid: u32,
}

/// Options for a server start.
#[derive(Default, Clone, Debug)]
pub struct StartOpts {
    /// Base URL of the fake LLM (chat server only).
    pub llm_base_url: Option<String>,
    /// Extra flags passed as they are.
    pub extra: Vec<String>,
}

impl Server {
    /// Starts `kind` on a free port of 127.0.0.1 and waits for its listening line.
    pub async fn start(env: &Env, kind: Kind, tag: &str, opts: &StartOpts) -> Result<Self> {
        let release = &env.bin_dir;
        let data = env.scratch(tag)?;
        let (prog, mut args): (PathBuf, Vec<String>) = match kind {
            Kind::Ours | Kind::OursBigBuffer => (
                release.join("examples/conformance"),
                strings(&[
                    "--max-buffer-size",
                    if kind == Kind::Ours { "1024" } else { "4096" },
                    "--port",
                    "0",
                    // The conformance profile's defaults are the test suite's short timers;
                    // the benchmark uses the library's and the chat server's defaults.
                    "--ping-interval-ms",
                    "25000",
                    "--ping-timeout-ms",
                    "20000",
                    "--connect-timeout-ms",
                    "45000",
                    "--log-filter",
                    "warn",
                ]),
            ),
            Kind::OursChat => {
                let mut a = strings(&[
                    "--port",
                    "0",
                    "--log-filter",
                    "warn",
                    "--rate-limit-per-sec",
                    "1000000",
                    "--rate-limit-burst",
                    "1000000",
                ]);
                a.push("--data-dir".into());
                a.push(data.display().to_string());
                a.push("--static-dir".into());
                a.push(data.join("no-static").display().to_string());
                if let Some(url) = &opts.llm_base_url {
                    a.push("--llm-base-url".into());
                    a.push(url.clone());
                }
                (release.join("server"), a)
            }
            Kind::Sioxide => (release.join("sioxide-ref"), strings(&["--port", "0"])),
            Kind::RawWs => (release.join("raw-ws-ref"), strings(&["--port", "0"])),
            Kind::Node | Kind::NodeChat => {
                let script = env.root.join("bench/node-reference/server.js");
                let mut a = vec![script.display().to_string(), "--port".into(), "0".into()];
                if kind == Kind::NodeChat {
                    a.push("--chat".into());
                    a.push("--data-dir".into());
                    a.push(data.display().to_string());
                }
                (PathBuf::from("node"), a)
            }
        };
        args.extend(opts.extra.iter().cloned());
        if !kind.is_node() && !prog.exists() {
            return Err(format!(
                "{} is missing: build it first (bash bench/run.sh does)",
                prog.display()
            )
            .into());
        }
        let mut cmd = if env.taskset {
            let mut c = Command::new("taskset");
            c.arg("-c").arg("0").arg(&prog);
            c
        } else {
            Command::new(&prog)
        };
        let log = std::fs::File::create(env.work_dir.join("logs").join(format!("{tag}.log")))?;
        cmd.args(&args)
            .current_dir(&env.root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", prog.display()))?;
        let pid = child.id().ok_or("server exited at once")?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let addr = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await? {
                if let Some(rest) = line.trim().strip_prefix("listening on http://") {
                    let addr: SocketAddr = rest.trim_end_matches('/').parse()?;
                    return Ok::<_, crate::eio::Error>(addr);
                }
            }
            Err("the server exited before listening".into())
        })
        .await
        .map_err(|_| format!("{} did not listen within 30 s", kind.label()))??;
        // Keep draining stdout so that the server never blocks on it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self { child, addr, pid })
    }

    /// Resident set size in KiB, from `/proc/<pid>/status`.
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
    }

    /// Stops the server (SIGKILL to its own pid) and reaps it.
    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
    }
}

fn strings(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| (*s).to_owned()).collect()
}
