//! Collects the runs and writes the report (`docs/BENCHMARKS.md`) with its charts.

use std::{collections::BTreeMap, fmt::Write as _, path::Path, time::Duration};

use crate::{
    Plan,
    chart::{self, Series},
    eio::Result,
    servers::{Env, Kind},
    stats::{Metrics, median_min_max},
};

/// A table column: title, metric name, formatter.
type Column = (&'static str, &'static str, fn(f64) -> String);

/// One run of one scenario against one target.
pub struct Record {
    /// Scenario name (`sweep-<size>` for the sweep).
    pub scenario: String,
    /// Target.
    pub kind: Kind,
    /// Run number from 1.
    pub run: usize,
    /// Figures.
    pub metrics: Metrics,
}

/// The idle scenario's hold: its top level kept open for a while, then the losses counted.
#[derive(Clone, Copy, Debug)]
pub struct Hold {
    /// Connections open when the hold began.
    pub conns: usize,
    /// Seconds held.
    pub secs: f64,
    /// Connections lost (closed by the server, or a transport error) by the end of the hold.
    pub lost: usize,
}

/// One server's idle figures: (connections, RSS in KiB) points, and the hold.
type IdleCurve = (Kind, Vec<(usize, u64)>, Option<Hold>);

/// Everything measured in one invocation.
pub struct Results {
    env: Env,
    plan: Plan,
    records: Vec<Record>,
    idle: Vec<IdleCurve>,
    notes: Vec<String>,
    times: Vec<(String, Duration)>,
    failures: usize,
    /// Wall time of the whole invocation.
    pub total: Duration,
    /// `/proc/loadavg` when the run started.
    pub load_start: String,
    /// `/proc/loadavg` at the end, when reloaded from a results file.
    load_end: Option<String>,
    /// When measured, when reloaded from a results file.
    date: Option<String>,
}

fn fmt_int(v: f64) -> String {
    let n = v.round() as i64;
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

fn fmt_ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn fmt_pct(v: f64) -> String {
    format!("{v:.0}%")
}

fn fmt_x(v: f64) -> String {
    format!("{v:.2}x")
}

fn cmd_output(prog: &str, args: &[&str]) -> String {
    std::process::Command::new(prog)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn npm_version(env: &Env, package: &str) -> String {
    let path = env
        .root
        .join("bench/node-reference/node_modules")
        .join(package)
        .join("package.json");
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v.get("version").and_then(|s| s.as_str()).map(str::to_owned))
        .unwrap_or_else(|| "not installed".into())
}

impl Results {
    /// Empty results.
    pub fn new(env: Env, plan: Plan) -> Self {
        Self {
            env,
            plan,
            records: Vec::new(),
            idle: Vec::new(),
            notes: Vec::new(),
            times: Vec::new(),
            failures: 0,
            total: Duration::ZERO,
            load_start: loadavg(),
            load_end: None,
            date: None,
        }
    }

    /// Results saved by an earlier full run (`bench/results.json`), to write the report again.
    pub fn load(env: Env, plan: Plan, path: &Path) -> Result<Self> {
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
        let kind_of = |label: &str| Kind::ALL.into_iter().find(|k| k.label() == label);
        let mut r = Self::new(env, plan);
        for rec in v["records"].as_array().into_iter().flatten() {
            let Some(kind) = rec["server"].as_str().and_then(kind_of) else {
                continue;
            };
            let metrics: Metrics = serde_json::from_value(rec["metrics"].clone())?;
            r.records.push(Record {
                scenario: rec["scenario"].as_str().unwrap_or_default().to_owned(),
                kind,
                run: usize::try_from(rec["run"].as_u64().unwrap_or(0)).unwrap_or(0),
                metrics,
            });
        }
        for idle in v["idle"].as_array().into_iter().flatten() {
            if let Some(kind) = idle["server"].as_str().and_then(kind_of) {
                let points: Vec<(usize, u64)> =
                    serde_json::from_value(idle["points_conns_kib"].clone())?;
                let hold = match (
                    idle["held_conns"].as_u64(),
                    idle["held_s"].as_f64(),
                    idle["lost"].as_u64(),
                ) {
                    (Some(conns), Some(secs), Some(lost)) => Some(Hold {
                        conns: usize::try_from(conns).unwrap_or(0),
                        secs,
                        lost: usize::try_from(lost).unwrap_or(0),
                    }),
                    _ => None,
                };
                r.idle.push((kind, points, hold));
            }
        }
        r.notes = serde_json::from_value(v["notes"].clone()).unwrap_or_default();
        let times: Vec<(String, f64)> =
            serde_json::from_value(v["times_s"].clone()).unwrap_or_default();
        r.times = times
            .into_iter()
            .map(|(s, t)| (s, Duration::from_secs_f64(t)))
            .collect();
        r.total = Duration::from_secs_f64(v["total_s"].as_f64().unwrap_or(0.0));
        r.load_start = v["load_start"].as_str().unwrap_or_default().to_owned();
        r.load_end = v["load_end"].as_str().map(str::to_owned);
        r.date = v["date"].as_str().map(str::to_owned);
        Ok(r)
    }

    /// A line for the report's notes.
    pub fn note(&mut self, text: &str) {
        self.notes.push(text.to_owned());
    }

    /// Notes that part of the harness failed to run (the invocation then exits non-zero).
    pub fn fail(&mut self, text: &str) {
        eprintln!("      failed: {text}");
        self.failures += 1;
        self.notes.push(text.to_owned());
    }

    /// Whether a run failed.
    pub fn failed(&self) -> bool {
        self.failures > 0
    }

    /// How long a scenario took.
    pub fn scenario_time(&mut self, scenario: &str, d: Duration) {
        self.times.push((scenario.to_owned(), d));
    }

    /// Adds a run (or notes its failure).
    pub fn push(&mut self, scenario: &str, kind: Kind, run: usize, r: Result<Metrics>) {
        match r {
            Ok(metrics) => {
                let brief: Vec<String> = metrics
                    .iter()
                    .filter(|(k, _)| {
                        k.ends_with("per_s") || k.ends_with("_p99") || k.ends_with("lost")
                    })
                    .map(|(k, v)| format!("{k}={v:.2}"))
                    .collect();
                eprintln!("      {}: {}", kind.label(), brief.join(" "));
                self.records.push(Record {
                    scenario: scenario.to_owned(),
                    kind,
                    run,
                    metrics,
                });
            }
            Err(e) => {
                eprintln!("      {} run {run} failed: {e}", kind.label());
                self.failures += 1;
                self.notes.push(format!(
                    "`{scenario}` run {run} against {} failed: {e}",
                    kind.label()
                ));
            }
        }
    }

    /// Adds an idle curve and its hold.
    pub fn idle(&mut self, kind: Kind, o: crate::load::IdleOutcome) {
        eprintln!(
            "      {}: {:?}; {} held {:.0} s, lost {}",
            kind.label(),
            o.points,
            o.held,
            o.hold.as_secs_f64(),
            o.lost
        );
        if let Some(why) = &o.first_loss {
            self.notes.push(format!(
                "idle, {}: {} of {} connections were lost by the end of the hold; the first: {why}",
                kind.label(),
                fmt_int(o.lost as f64),
                fmt_int(o.held as f64)
            ));
        }
        let hold = Hold {
            conns: o.held,
            secs: o.hold.as_secs_f64(),
            lost: o.lost,
        };
        self.idle.push((kind, o.points, Some(hold)));
    }

    fn values(&self, scenario: &str, kind: Kind, metric: &str) -> Vec<f64> {
        self.records
            .iter()
            .filter(|r| r.scenario == scenario && r.kind == kind)
            .filter_map(|r| r.metrics.get(metric).copied())
            .collect()
    }

    /// Median over the runs.
    fn med(&self, scenario: &str, kind: Kind, metric: &str) -> Option<f64> {
        median_min_max(&self.values(scenario, kind, metric)).map(|m| m.0)
    }

    /// `median (min–max)`, formatted.
    fn cell(&self, scenario: &str, kind: Kind, metric: &str, f: fn(f64) -> String) -> String {
        let v = self.values(scenario, kind, metric);
        match median_min_max(&v) {
            None => "—".into(),
            Some((m, lo, hi)) if v.len() > 1 && (hi - lo).abs() > f64::EPSILON => {
                format!("{} ({}–{})", f(m), f(lo), f(hi))
            }
            Some((m, _, _)) => f(m),
        }
    }

    fn kinds_of(&self, scenario: &str) -> Vec<Kind> {
        let mut kinds: Vec<Kind> = Vec::new();
        for r in self.records.iter().filter(|r| r.scenario == scenario) {
            if !kinds.contains(&r.kind) {
                kinds.push(r.kind);
            }
        }
        kinds
    }

    /// A table of `scenario` with a row per server that has any of the columns' figures (the
    /// chat servers take only the fan-out's flood, for instance).
    fn table(&self, out: &mut String, scenario: &str, cols: &[Column]) {
        let kinds: Vec<Kind> = self
            .kinds_of(scenario)
            .into_iter()
            .filter(|k| {
                cols.iter()
                    .any(|(_, metric, _)| !self.values(scenario, *k, metric).is_empty())
            })
            .collect();
        if kinds.is_empty() {
            out.push_str("_Not measured in this run._\n\n");
            return;
        }
        let _ = write!(out, "| server |");
        for (title, _, _) in cols {
            let _ = write!(out, " {title} |");
        }
        let _ = write!(out, "\n|---|");
        for _ in cols {
            out.push_str("---:|");
        }
        out.push('\n');
        for k in kinds {
            let _ = write!(out, "| {} |", k.label());
            for (_, metric, f) in cols {
                let _ = write!(out, " {} |", self.cell(scenario, k, metric, *f));
            }
            out.push('\n');
        }
        out.push('\n');
    }

    /// Idle per-connection KiB at the last level: (overall from 0, marginal from the first level).
    fn idle_per_conn(points: &[(usize, u64)]) -> Option<(usize, f64, f64)> {
        let &(n0, r0) = points.first()?;
        let &(n1, r1) = points.get(1)?;
        let &(nl, rl) = points.last()?;
        if nl == n0 {
            return None;
        }
        let overall = (rl as f64 - r0 as f64) / (nl - n0) as f64;
        let marginal = if nl > n1 {
            (rl as f64 - r1 as f64) / (nl - n1) as f64
        } else {
            overall
        };
        Some((nl, overall, marginal))
    }

    /// Writes the report to `out`, the charts in `bench/charts/` and the raw figures in
    /// `bench/results.json` when `out` is `docs/BENCHMARKS.md` (a full run); otherwise (a smoke
    /// run, or `--out` elsewhere) the charts in `charts/` beside `out` and the figures in `out`
    /// with the extension `.json`, so that a partial run leaves the committed ones alone.
    pub fn write(&self, out: &Path) -> Result<()> {
        let official = !self.plan.smoke && out == self.env.root.join("docs/BENCHMARKS.md");
        let chart_dir = if official {
            self.env.root.join("bench/charts")
        } else {
            out.parent().unwrap_or(Path::new(".")).join("charts")
        };
        let rel_charts = if official {
            "../bench/charts".to_owned()
        } else {
            "charts".to_owned()
        };
        let kept = crate::cluster_report::kept_section(out);
        let mut md = String::new();
        self.header(&mut md);
        self.summary(&mut md);
        self.sections(&mut md, &chart_dir, &rel_charts)?;
        self.footer(&mut md);
        // The cluster run's section stays as it was (`bench cluster` rewrites it).
        if let Some(kept) = kept {
            md.push('\n');
            md.push_str(&kept);
        }
        if let Some(dir) = out.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(out, md)?;
        let json = serde_json::json!({
            "records": self.records.iter().map(|r| serde_json::json!({
                "scenario": r.scenario, "server": r.kind.label(), "run": r.run, "metrics": r.metrics,
            })).collect::<Vec<_>>(),
            "idle": self.idle.iter().map(|(k, p, h)| serde_json::json!({
                "server": k.label(), "points_conns_kib": p,
                "held_conns": h.map(|h| h.conns), "held_s": h.map(|h| h.secs), "lost": h.map(|h| h.lost),
            })).collect::<Vec<_>>(),
            "notes": self.notes.iter().cloned().chain(crate::notes()).collect::<Vec<_>>(),
            "times_s": self.times.iter().map(|(s, d)| (s.clone(), d.as_secs_f64())).collect::<Vec<_>>(),
            "total_s": self.total.as_secs_f64(),
            "load_start": self.load_start,
            "load_end": self.load_end.clone().unwrap_or_else(loadavg),
            "date": self.date.clone().unwrap_or_else(|| cmd_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"])),
        });
        let json_path = if official {
            self.env.root.join("bench/results.json")
        } else {
            out.with_extension("json")
        };
        std::fs::write(json_path, serde_json::to_string_pretty(&json)?)?;
        Ok(())
    }

    fn header(&self, md: &mut String) {
        let cpu = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let model = cpu
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
            .unwrap_or_else(|| "unknown".into());
        let cores = cpu.lines().filter(|l| l.starts_with("processor")).count();
        let mem = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines()
                    .find_map(|l| l.strip_prefix("MemTotal:"))
                    .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            })
            .map(|kib| format!("{:.1} GiB", kib / 1024.0 / 1024.0))
            .unwrap_or_else(|| "unknown".into());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_owned())
            .unwrap_or_default();
        let p = &self.plan;
        let _ = write!(
            md,
            "# Benchmarks\n\n\
             {}Measured by the harness in [`bench/`](../bench) on {date}. \
             Regenerate with one command: `bash bench/run.sh` (this run took {mins} minutes; \
             `bash bench/run.sh --smoke` runs every scenario with tiny loads in about a minute, for CI).\n\n\
             Every figure is measured in the same run, with the servers alternating: for each \
             repetition, every server in turn, each freshly started. Figures are the **median of \
             {runs} runs (min–max)** unless a scenario says otherwise.\n\n\
             ## Machine and versions\n\n\
             | | |\n|---|---|\n\
             | CPU | {model}, {cores} cores (`nproc`) |\n\
             | memory | {mem} |\n\
             | kernel | Linux {kernel} |\n\
             | pinning | server under test on core 0 (`taskset -c 0`), load generator on core 1 (`taskset -c 1`){pin} |\n\
             | open files | {fds} per process (`ulimit -n`) |\n\
             | load average (1, 5, 15 min) | {load0} at the start, {load1} at the end (other work on the machine shows here) |\n\
             | Rust | {rustc} |\n\
             | socketioxide | 0.18.9 (ours and the bare reference) |\n\
             | Node.js | {node} |\n\
             | socket.io (Node) | {sio} |\n\
             | better-sqlite3 | {bsql} |\n\n",
            if p.smoke {
                "**Smoke run: tiny loads, the figures mean nothing.** "
            } else {
                ""
            },
            date = self
                .date
                .clone()
                .unwrap_or_else(|| cmd_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"])),
            mins = (self.total.as_secs_f64() / 60.0).round().max(1.0),
            runs = p.runs,
            pin = if self.env.taskset {
                ""
            } else {
                " — **not pinned: taskset missing**"
            },
            fds = crate::fd_limit(),
            load0 = self.load_start,
            load1 = self.load_end.clone().unwrap_or_else(loadavg),
            rustc = cmd_output("rustc", &["--version"]),
            node = if self.env.node {
                cmd_output("node", &["--version"])
            } else {
                "not used".into()
            },
            sio = npm_version(&self.env, "socket.io"),
            bsql = npm_version(&self.env, "better-sqlite3"),
        );
        let _ = write!(
            md,
            "## Servers\n\n\
             | name | what | command (all on 127.0.0.1, port picked by the OS) |\n|---|---|---|\n\
             | ours (socketioxide app) | this project's Socket.IO stack: the conformance profile, built by the same app builder as the chat server (`/`: `message-with-ack` acks its arguments; `/harness`: `join`, `to`) | `taskset -c 0 target/release/examples/conformance --port 0 --ping-interval-ms 25000 --ping-timeout-ms 20000 --connect-timeout-ms 45000 --log-filter warn` |\n\
             | ours (chat server) | the chat server on embedded defaults (SQLite file, `synchronous=full`), rate limit raised | `taskset -c 0 target/release/server --port 0 --data-dir DIR --static-dir NONE --log-filter warn --rate-limit-per-sec 1000000 --rate-limit-burst 1000000` (+ `--llm-base-url http://127.0.0.1:P/v1` for the bot) |\n\
             | node socket.io 4.8 | the same handlers in Node (`bench/node-reference/server.js`) | `taskset -c 0 node bench/node-reference/server.js --port 0` |\n\
             | node socket.io 4.8 + better-sqlite3 | the chat subset (guests, `create`, `join`, `send` with per-room `seq` in a transaction, `message` to the room) on better-sqlite3, WAL, prepared statements, `synchronous=FULL` like ours | `taskset -c 0 node bench/node-reference/server.js --port 0 --chat --data-dir DIR` |\n\
             | bare socketioxide | reference (b): socketioxide 0.18.9 with library defaults (`SocketIo::new_layer()`) behind axum, same handlers | `taskset -c 0 target/release/sioxide-ref --port 0` |\n\
             | raw tokio-tungstenite | reference (c): a WebSocket server that speaks the same Engine.IO/Socket.IO framing by string slicing (no JSON, no rooms, no timers; 4 KiB read buffer like socketioxide’s engine) | `taskset -c 0 target/release/raw-ws-ref --port 0` |\n\n\
             The load generator (`target/release/bench`, one thread) speaks Engine.IO v4 / Socket.IO v5 itself \
             over tokio-tungstenite (and over HTTP/1.1 long-polling for one scenario), with the framing written by hand. \
             Each payload carries its send time (µs on the generator's monotonic clock) as a stamp `~<µs>_<seq>~`; \
             latencies go into HDR histograms (`hdrhistogram`, 3 significant digits). Open-loop phases stamp the \
             *intended* send time, so a server that falls behind shows it (no coordinated omission). Clients connect from \
             127.0.0.2–127.0.0.17 in turn (bind before connect) so ephemeral ports never run out.\n\n"
        );
    }

    fn summary(&self, md: &mut String) {
        md.push_str(
            "## Targets of the issue\n\n| target | goal | measured | met? |\n|---|---|---|---|\n",
        );
        let mut row = |name: &str, goal: &str, measured: Option<String>, met: Option<bool>| {
            let _ = writeln!(
                md,
                "| {name} | {goal} | {} | {} |",
                measured.clone().unwrap_or_else(|| "not measured".into()),
                match (measured.is_some(), met) {
                    (false, _) => "—",
                    (true, Some(true)) => "**yes**",
                    (true, Some(false)) => "**no**",
                    (true, None) => "inconclusive",
                }
            );
        };
        // Idle.
        let chat_idle = self.idle.iter().find(|(k, _, _)| *k == Kind::OursChat);
        let idle = chat_idle.and_then(|(_, p, _)| Self::idle_per_conn(p));
        let hold = chat_idle.and_then(|(_, _, h)| *h);
        row(
            "idle (chat server)",
            "≤ 8 KiB per connection; 100,000 connections held 60 s, none lost",
            idle.map(|(n, o, mg)| {
                let mut t = format!(
                    "{o:.1} KiB/conn at {} conns ({mg:.1} KiB marginal)",
                    fmt_int(n as f64)
                );
                if let Some(h) = hold {
                    let _ = write!(
                        t,
                        "; {} held {:.0} s: {} lost",
                        fmt_int(h.conns as f64),
                        h.secs,
                        fmt_int(h.lost as f64)
                    );
                    if h.conns < 100_000 {
                        let _ = write!(
                            t,
                            " (100,000 not reachable here: {} open files per process)",
                            fmt_int(crate::fd_limit() as f64)
                        );
                    }
                }
                t
            }),
            // A miss on either part is a no; a clean hold below 100,000 connections (or
            // shorter than 60 s, as in a smoke run) proves only part.
            idle.and_then(|(_, o, _)| match hold {
                _ if o > 8.0 => Some(false),
                Some(h) if h.lost > 0 => Some(false),
                Some(h) if h.conns >= 100_000 && h.secs >= 60.0 => Some(true),
                _ => None,
            }),
        );
        let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => Some(a / b),
            _ => None,
        };
        let ours_echo = self.med("echo", Kind::Ours, "acks_per_s");
        let node_echo = self.med("echo", Kind::Node, "acks_per_s");
        let raw_echo = self.med("echo", Kind::RawWs, "acks_per_s");
        let r = ratio(ours_echo, node_echo);
        row(
            "echo throughput",
            "≥ 3.5x Node",
            r.map(|r| {
                format!(
                    "{} vs {} acks/s = {}; CPU of server / generator: ours {} / {}, Node {} / {}",
                    fmt_int(ours_echo.unwrap_or(0.0)),
                    fmt_int(node_echo.unwrap_or(0.0)),
                    fmt_x(r),
                    fmt_pct(self.med("echo", Kind::Ours, "server_cpu").unwrap_or(0.0)),
                    fmt_pct(self.med("echo", Kind::Ours, "gen_cpu").unwrap_or(0.0)),
                    fmt_pct(self.med("echo", Kind::Node, "server_cpu").unwrap_or(0.0)),
                    fmt_pct(self.med("echo", Kind::Node, "gen_cpu").unwrap_or(0.0)),
                )
            }),
            r.map(|r| r >= 3.5),
        );
        let (op, np) = (
            self.med("echo", Kind::Ours, "lat_p99"),
            self.med("echo", Kind::Node, "lat_p99"),
        );
        let r = ratio(op, np);
        row(
            "echo p99",
            "≤ 1/3 of Node's",
            r.map(|r| {
                format!(
                    "{} ms vs {} ms = {}",
                    fmt_ms(op.unwrap_or(0.0)),
                    fmt_ms(np.unwrap_or(0.0)),
                    fmt_x(r)
                )
            }),
            r.map(|r| r <= 1.0 / 3.0),
        );
        let r = ratio(ours_echo, raw_echo);
        let raw_gen = self.med("echo", Kind::RawWs, "gen_cpu");
        let raw_bound = raw_gen.is_some_and(|g| g >= 90.0);
        row(
            "echo vs raw WebSocket",
            "≥ 80% of raw",
            r.map(|r| {
                let mut t = format!(
                    "{:.0}% ({} vs {} acks/s)",
                    r * 100.0,
                    fmt_int(ours_echo.unwrap_or(0.0)),
                    fmt_int(raw_echo.unwrap_or(0.0))
                );
                if raw_bound {
                    let _ = write!(
                        t,
                        "; the raw run was limited by the load generator ({} CPU on its core; raw server {}), so raw's real ceiling is higher",
                        fmt_pct(raw_gen.unwrap_or(0.0)),
                        fmt_pct(self.med("echo", Kind::RawWs, "server_cpu").unwrap_or(0.0))
                    );
                }
                t
            }),
            r.filter(|_| !raw_bound).map(|r| r >= 0.8),
        );
        let (of, nf) = (
            self.med("fanout", Kind::Ours, "deliveries_per_s"),
            self.med("fanout", Kind::Node, "deliveries_per_s"),
        );
        let r = ratio(of, nf);
        let members = fmt_int(self.plan.fan_members as f64);
        row(
            &format!("fan-out throughput ({members} members)"),
            "≥ 10x Node",
            r.map(|r| {
                format!(
                    "{} vs {} deliveries/s = {}",
                    fmt_int(of.unwrap_or(0.0)),
                    fmt_int(nf.unwrap_or(0.0)),
                    fmt_x(r)
                )
            }),
            r.map(|r| r >= 10.0),
        );
        let (op, np) = (
            self.med("fanout", Kind::Ours, "fixed_p99"),
            self.med("fanout", Kind::Node, "fixed_p99"),
        );
        let r = ratio(op, np);
        let rate = fmt_int(self.plan.fan_rate as f64);
        row(
            &format!("fan-out p99 at {rate} deliveries/s"),
            "≤ 1/3 of Node's",
            r.map(|r| {
                format!(
                    "{} ms vs {} ms = {}",
                    fmt_ms(op.unwrap_or(0.0)),
                    fmt_ms(np.unwrap_or(0.0)),
                    fmt_x(r)
                )
            }),
            r.map(|r| r <= 1.0 / 3.0),
        );
        let lost = self.values("fanout", Kind::OursChat, "flood_lost");
        let dups = self.values("fanout", Kind::OursChat, "flood_duplicates");
        let last = self.med("fanout", Kind::OursChat, "flood_last_s");
        let flood = self.plan.flood;
        let per_run = |v: &[f64]| v.iter().map(|v| fmt_int(*v)).collect::<Vec<_>>().join(", ");
        row(
            &format!(
                "flood of {} messages to {members} members (chat server)",
                fmt_int(flood as f64)
            ),
            "zero loss (a slow reader may be replayed to, but gets every message)",
            (!lost.is_empty()).then(|| {
                format!(
                    "lost per run: {}; duplicates: {}; {} of {} deliveries replayed; last delivery after {} s",
                    per_run(&lost),
                    per_run(&dups),
                    fmt_int(self.med("fanout", Kind::OursChat, "flood_replayed").unwrap_or(0.0)),
                    fmt_int(self.med("fanout", Kind::OursChat, "flood_received").unwrap_or(0.0)),
                    last.map(|s| format!("{s:.1}"))
                        .unwrap_or_else(|| "—".into())
                )
            }),
            (!lost.is_empty()).then(|| lost.iter().all(|v| *v == 0.0)),
        );
        let (oc, nc) = (
            self.med("chat", Kind::OursChat, "sat_msgs_per_s"),
            self.med("chat", Kind::NodeChat, "sat_msgs_per_s"),
        );
        let r = ratio(oc, nc);
        row(
            "chat saturation",
            "≥ 5x Node",
            r.map(|r| {
                format!(
                    "{} vs {} msgs/s = {}",
                    fmt_int(oc.unwrap_or(0.0)),
                    fmt_int(nc.unwrap_or(0.0)),
                    fmt_x(r)
                )
            }),
            r.map(|r| r >= 5.0),
        );
        let p = self.med("chat", Kind::OursChat, "half_delivery_p99");
        row(
            "chat delivery p99 at half load",
            "≤ 25 ms",
            p.map(|p| format!("{} ms", fmt_ms(p))),
            p.map(|p| p <= 25.0),
        );
        let p = self.med("bot", Kind::OursChat, "token_p99");
        let d = self.med("bot", Kind::OursChat, "delta_p99");
        row(
            &format!(
                "bot delta p99 ({} viewers, {} tokens/s)",
                fmt_int(self.plan.bot_viewers as f64),
                self.plan.bot_rate
            ),
            "≤ 20 ms",
            p.map(|p| {
                format!(
                    "{} ms per token (token written upstream → viewer); {} ms from a delta's newest token",
                    fmt_ms(p),
                    d.map(fmt_ms).unwrap_or_else(|| "—".into())
                )
            }),
            p.map(|p| p <= 20.0),
        );
        md.push('\n');
    }

    fn sections(&self, md: &mut String, chart_dir: &Path, rel: &str) -> Result<()> {
        let p = &self.plan;

        // Scenario 1.
        let _ = write!(
            md,
            "## 1. Idle WebSocket connections\n\n\
             Clients connect (WebSocket, namespace `/`; guests with `auth {{name}}` for the chat server) and stay idle, \
             answering pings; the server's RSS (`VmRSS` of its `/proc/<pid>/status`) is read once it settles after each \
             level. The level is capped by the {} open files a process may have here; beyond it the figures are \
             projections from the per-connection cost. At the top level every connection is then held for {:.0} s, \
             answering pings (each client reads from the moment it connected), and **lost** counts those that ended \
             by then: closed by the server or a transport error. One run per server (memory barely varies between runs).\n\n",
            fmt_int(crate::fd_limit() as f64),
            p.idle_hold.as_secs_f64()
        );
        if self.idle.is_empty() {
            md.push_str("_Not measured in this run._\n\n");
        } else {
            let levels: Vec<usize> = self.idle[0].1.iter().map(|p| p.0).collect();
            md.push_str("| server |");
            for l in &levels {
                let _ = write!(md, " RSS at {} (MiB) |", fmt_int(*l as f64));
            }
            md.push_str(
                " KiB/conn (from 0) | KiB/conn (marginal) | projected 100k conns | held | lost |\n|---|",
            );
            for _ in &levels {
                md.push_str("---:|");
            }
            md.push_str("---:|---:|---:|---:|---:|\n");
            for (k, pts, hold) in &self.idle {
                let _ = write!(md, "| {} |", k.label());
                for l in &levels {
                    let v = pts
                        .iter()
                        .find(|p| p.0 == *l)
                        .map(|p| format!("{:.1}", p.1 as f64 / 1024.0));
                    let _ = write!(md, " {} |", v.unwrap_or_else(|| "—".into()));
                }
                match Self::idle_per_conn(pts) {
                    Some((_, o, m)) => {
                        let base = pts[0].1 as f64;
                        let _ = write!(
                            md,
                            " {o:.1} | {m:.1} | {:.0} MiB |",
                            (base + m * 100_000.0) / 1024.0
                        );
                    }
                    None => md.push_str(" — | — | — |"),
                }
                match hold {
                    Some(h) => {
                        let _ = writeln!(
                            md,
                            " {} for {:.0} s | {} |",
                            fmt_int(h.conns as f64),
                            h.secs,
                            fmt_int(h.lost as f64)
                        );
                    }
                    None => md.push_str(" — | — |\n"),
                }
            }
            let series: Vec<Series> = self
                .idle
                .iter()
                .map(|(k, pts, _)| Series {
                    name: k.label().to_owned(),
                    points: pts
                        .iter()
                        .map(|&(n, kib)| (n as f64, kib as f64 / 1024.0))
                        .collect(),
                })
                .collect();
            let svg = chart::line_chart(
                "Server memory vs idle connections",
                "connections",
                "RSS (MiB)",
                &series,
                false,
            );
            let file = chart::save(chart_dir, "idle-memory", &svg)?;
            let _ = write!(
                md,
                "\n![Server memory vs idle connections]({rel}/{file})\n\n"
            );
        }

        // Scenario 2.
        let _ = write!(
            md,
            "## 2. Echo with ack\n\n\
             {} WebSocket clients in a closed loop, each emitting `message-with-ack` with a {}-byte object and waiting for \
             the ack before the next; {} s warm-up, {} s measured. Latency is from send to ack.\n\n",
            p.echo_clients,
            p.payload,
            p.warm.as_secs_f64(),
            p.measure.as_secs_f64()
        );
        self.table(
            md,
            "echo",
            &[
                ("acks/s", "acks_per_s", fmt_int),
                ("p50 ms", "lat_p50", fmt_ms),
                ("p99 ms", "lat_p99", fmt_ms),
                ("p99.9 ms", "lat_p999", fmt_ms),
                ("max ms", "lat_max", fmt_ms),
                ("server CPU", "server_cpu", fmt_pct),
                ("generator CPU", "gen_cpu", fmt_pct),
            ],
        );
        let bars: Vec<(String, f64, f64, f64)> = self
            .kinds_of("echo")
            .into_iter()
            .filter_map(|k| {
                median_min_max(&self.values("echo", k, "acks_per_s"))
                    .map(|(m, lo, hi)| (k.label().to_owned(), m, lo, hi))
            })
            .collect();
        if !bars.is_empty() {
            let title = format!("Echo with ack, {} clients: throughput", p.echo_clients);
            let svg = chart::bar_chart(&title, "acks per second (median, min–max)", &bars);
            let file = chart::save(chart_dir, "echo-throughput", &svg)?;
            let _ = write!(md, "![Echo throughput]({rel}/{file})\n\n");
        }
        let _ = write!(
            md,
            "### 2b. The same over HTTP long-polling\n\n\
             {} clients, each on one keep-alive HTTP/1.1 connection: POST the event, then GET until the ack arrives \
             (a pong rides along with the next POST). Same payload and timing.\n\n",
            p.echo_clients
        );
        self.table(
            md,
            "polling",
            &[
                ("acks/s", "acks_per_s", fmt_int),
                ("p50 ms", "lat_p50", fmt_ms),
                ("p99 ms", "lat_p99", fmt_ms),
                ("p99.9 ms", "lat_p999", fmt_ms),
                ("max ms", "lat_max", fmt_ms),
                ("server CPU", "server_cpu", fmt_pct),
                ("generator CPU", "gen_cpu", fmt_pct),
            ],
        );

        // Scenario 3.
        let _ = write!(
            md,
            "## 3. Fan-out to a {}-member room\n\n\
             {} clients join room `r` of `/harness`; one more client (not a member) emits `to {{room, event, data}}` \
             with a {}-byte object, which the server emits to the room and acks.\n\n\
             - **Closed loop**: 16 messages in flight, a message leaving the window once every member received it; \
             deliveries per second over {} s after {} s warm-up, latency from emit to each delivery.\n\
             - **Fixed rate**: {} deliveries/s ({} messages/s) for {} s, open loop; latency from the *intended* send time.\n\
             - **Flood**: {} messages written back to back, then every delivery counted once nothing arrived for 3 s.\n\n\
             The flood also runs against the chat servers, on the chat protocol itself: {} guests join one new room; one of \
             them writes {} `send {{room, text, clientId}}` back to back (each asking for an ack, none awaited before the \
             next), then awaits the acks. Every member (the sender too) counts the distinct `seq`s it receives, live as \
             `message` or replayed in `messages {{room, messages}}` batches: the chat's slow-reader policy \
             ([`docs/PROTOCOL.md`](PROTOCOL.md)) stops live delivery to a socket whose queue is full and replays from \
             storage as it drains. Counting ends when every member has every message, or nothing arrived for 3 s \
             once every `send` was acked. Latency runs from the stamp in the text (written when the `send` was) to the \
             first arrival at each member.\n\n",
            fmt_int(p.fan_members as f64),
            fmt_int(p.fan_members as f64),
            p.payload,
            p.measure.as_secs_f64(),
            p.warm.as_secs_f64(),
            fmt_int(p.fan_rate as f64),
            p.fan_rate / p.fan_members.max(1) as u64,
            p.measure.as_secs_f64(),
            fmt_int(p.flood as f64),
            fmt_int(p.fan_members as f64),
            fmt_int(p.flood as f64),
        );
        self.table(
            md,
            "fanout",
            &[
                ("closed loop deliveries/s", "deliveries_per_s", fmt_int),
                ("closed p50 ms", "closed_p50", fmt_ms),
                ("closed p99 ms", "closed_p99", fmt_ms),
                ("server CPU", "server_cpu", fmt_pct),
                ("generator CPU", "gen_cpu", fmt_pct),
            ],
        );
        md.push_str("Fixed rate:\n\n");
        self.table(
            md,
            "fanout",
            &[
                ("p50 ms", "fixed_p50", fmt_ms),
                ("p99 ms", "fixed_p99", fmt_ms),
                ("p99.9 ms", "fixed_p999", fmt_ms),
                ("max ms", "fixed_max", fmt_ms),
                ("lost", "fixed_loss", fmt_int),
                ("server CPU", "fixed_server_cpu", fmt_pct),
                ("generator CPU", "fixed_gen_cpu", fmt_pct),
            ],
        );
        md.push_str(
            "Flood (the `/harness` rows count every delivery; the chat servers' rows count distinct `seq`s per \
             member, the duplicates apart, and how many of the received first came in a `messages` replay batch):\n\n",
        );
        self.table(
            md,
            "fanout",
            &[
                ("expected", "flood_expected", fmt_int),
                ("received", "flood_received", fmt_int),
                ("lost", "flood_lost", fmt_int),
                ("duplicates", "flood_duplicates", fmt_int),
                ("of which replayed", "flood_replayed", fmt_int),
                ("last delivery s", "flood_last_s", |v| format!("{v:.2}")),
                ("deliveries/s", "flood_deliveries_per_s", fmt_int),
                ("p99 ms", "flood_p99", fmt_ms),
                ("max ms", "flood_max", fmt_ms),
            ],
        );

        // Scenario 4.
        let _ = write!(
            md,
            "## 4. The chat\n\n\
             {} guests in {} rooms ({} per room) on the chat protocol: each room is `create`d by its first member and \
             `join`ed by the others; then every client sends `send {{room, text, clientId}}` (about 100 bytes of text) \
             and waits for the ack `{{ok, data:{{id, seq, ts}}}}`. Every member (the sender too) receives each `message`. \
             Each client waits for its `session` event before its first event: the chat server sets its event handlers \
             only after it stored the user, and an event that arrives earlier is dropped without an ack.\n\n\
             - **Saturation**: closed loop, one `send` in flight per client, {} s measured after {} s.\n\
             - **Half load**: open loop at half the saturation rate of that same run, spread evenly over the clients; \
             delivery latency from the intended send time to each member's `message`.\n\n",
            fmt_int(p.chat_clients as f64),
            p.chat_rooms,
            p.chat_clients / p.chat_rooms.max(1),
            p.measure.as_secs_f64(),
            p.warm.as_secs_f64(),
        );
        self.table(
            md,
            "chat",
            &[
                ("saturation msgs/s", "sat_msgs_per_s", fmt_int),
                ("deliveries/s", "sat_deliveries_per_s", fmt_int),
                ("ack p50 ms", "sat_ack_p50", fmt_ms),
                ("ack p99 ms", "sat_ack_p99", fmt_ms),
                ("errors", "sat_errors", fmt_int),
                ("server CPU", "sat_server_cpu", fmt_pct),
                ("generator CPU", "sat_gen_cpu", fmt_pct),
            ],
        );
        md.push_str("Half load:\n\n");
        self.table(
            md,
            "chat",
            &[
                ("msgs/s", "half_msgs_per_s", fmt_int),
                ("delivery p50 ms", "half_delivery_p50", fmt_ms),
                ("delivery p99 ms", "half_delivery_p99", fmt_ms),
                ("delivery p99.9 ms", "half_delivery_p999", fmt_ms),
                ("delivery max ms", "half_delivery_max", fmt_ms),
                ("ack p99 ms", "half_ack_p99", fmt_ms),
                ("errors", "half_errors", fmt_int),
                ("server CPU", "half_server_cpu", fmt_pct),
                ("generator CPU", "half_gen_cpu", fmt_pct),
            ],
        );

        // Scenario 5.
        let _ = write!(
            md,
            "## 5. Bot fan-out\n\n\
             {} guests in one room with the bot (`add {{room, user:\"bot\"}}`); one mentions `@bot`. The chat server's \
             `--llm-base-url` points at a fake OpenAI-compatible server inside the harness (`bench fake-llm`), which \
             streams {} tokens at {} tokens/s over SSE and notes when it wrote each. The server merges tokens into \
             `bot:delta` events (its defaults: text that comes 10 ms or more after the last delta goes out at once, \
             otherwise it waits until 10 ms after that delta or until 64 bytes wait). Two latencies, both from the moment the \
             fake wrote a token:\n\n\
             - **per token**: to the viewer's `bot:delta` carrying it (includes the server's merge window);\n\
             - **per delta**: from the newest token in the delta (the server's forwarding and the fan-out alone).\n\n",
            fmt_int(p.bot_viewers as f64),
            p.bot_tokens,
            p.bot_rate
        );
        self.table(
            md,
            "bot",
            &[
                ("tokens received", "tokens_complete", |v| {
                    format!("{:.1}%", v * 100.0)
                }),
                ("deltas/viewer", "deltas_per_viewer", |v| format!("{v:.0}")),
                ("token p50 ms", "token_p50", fmt_ms),
                ("token p99 ms", "token_p99", fmt_ms),
                ("token max ms", "token_max", fmt_ms),
                ("delta p50 ms", "delta_p50", fmt_ms),
                ("delta p99 ms", "delta_p99", fmt_ms),
                ("delta max ms", "delta_max", fmt_ms),
                ("server CPU", "server_cpu", fmt_pct),
                ("generator CPU", "gen_cpu", fmt_pct),
            ],
        );

        // Scenario 6.
        let _ = write!(
            md,
            "## 6. Deliveries per second vs room size\n\n\
             The fan-out's closed loop for rooms of {} members (for a room of N members, \
             max(2, min(1000, 16000/N)) messages in flight), {} s measured.\n\n",
            p.sweep_sizes
                .iter()
                .map(|s| fmt_int(*s as f64))
                .collect::<Vec<_>>()
                .join(", "),
            p.measure.min(Duration::from_secs(3)).as_secs_f64(),
        );
        let kinds: Vec<Kind> = [Kind::Ours, Kind::Node, Kind::Sioxide]
            .into_iter()
            .filter(|k| {
                p.sweep_sizes.iter().any(|s| {
                    !self
                        .values(&format!("sweep-{s}"), *k, "deliveries_per_s")
                        .is_empty()
                })
            })
            .collect();
        if kinds.is_empty() {
            md.push_str("_Not measured in this run._\n\n");
        } else {
            md.push_str("| room size |");
            for k in &kinds {
                let _ = write!(md, " {} deliveries/s | p99 ms |", k.label());
            }
            md.push_str("\n|---:|");
            for _ in &kinds {
                md.push_str("---:|---:|");
            }
            md.push('\n');
            for s in &p.sweep_sizes {
                let name = format!("sweep-{s}");
                let _ = write!(md, "| {} |", fmt_int(*s as f64));
                for k in &kinds {
                    let _ = write!(
                        md,
                        " {} | {} |",
                        self.cell(&name, *k, "deliveries_per_s", fmt_int),
                        self.cell(&name, *k, "closed_p99", fmt_ms)
                    );
                }
                md.push('\n');
            }
            let series: Vec<Series> = kinds
                .iter()
                .map(|k| Series {
                    name: k.label().to_owned(),
                    points: p
                        .sweep_sizes
                        .iter()
                        .filter_map(|s| {
                            self.med(&format!("sweep-{s}"), *k, "deliveries_per_s")
                                .map(|v| (*s as f64, v))
                        })
                        .collect(),
                })
                .collect();
            let svg = chart::line_chart(
                "Fan-out: deliveries per second vs room size",
                "members in the room (log scale)",
                "deliveries per second",
                &series,
                true,
            );
            let file = chart::save(chart_dir, "fanout-room-size", &svg)?;
            let _ = write!(
                md,
                "\n![Deliveries per second vs room size]({rel}/{file})\n\n"
            );
        }
        Ok(())
    }

    fn footer(&self, md: &mut String) {
        md.push_str("## Notes\n\n");
        let mut notes = self.notes.clone();
        notes.extend(crate::notes());
        notes.push(
            "Loss counts only what a client never received; a server may also refuse an emit to a socket whose \
             queue is full (socketioxide's `max_buffer_size`: 128 packets by library default, 1,024 in ours) — \
             the chat server then replays from storage, the bare harness handlers simply drop."
                .into(),
        );
        notes.push(
            "The load generator runs on one core like the server; where both saturate (the raw WebSocket echo, large \
             fan-outs) the figure is a lower bound for the server."
                .into(),
        );
        for n in notes {
            let _ = writeln!(md, "- {n}");
        }
        md.push_str("\n## Time taken\n\n| scenario | seconds |\n|---|---:|\n");
        let mut by: BTreeMap<&str, f64> = BTreeMap::new();
        for (s, d) in &self.times {
            *by.entry(s.as_str()).or_default() += d.as_secs_f64();
        }
        for (s, d) in &self.times {
            if let Some(v) = by.remove(s.as_str()) {
                let _ = writeln!(md, "| {s} | {v:.0} |");
            }
            let _ = d;
        }
        let _ = writeln!(md, "| **total** | {:.0} |\n", self.total.as_secs_f64());
        md.push_str(
            "## Reproduce\n\n```sh\nbash bench/run.sh            # everything, writes this file and bench/charts/\n\
             bash bench/run.sh --smoke    # every scenario for a second or two (CI)\n\
             bash bench/run.sh --only echo,fanout --runs 1   # a subset: target/bench/BENCHMARKS-partial.md\n```\n\n\
             `bench/run.sh` builds `target/release/{server,examples/conformance,bench,sioxide-ref,raw-ws-ref}`, runs \
             `npm ci` in `bench/node-reference/`, raises `ulimit -n` to the hard limit and runs \
             `taskset -c 1 target/release/bench all`. Raw figures of every run: `bench/results.json`.\n",
        );
    }
}
