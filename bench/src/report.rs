//! Collects the runs and writes the report (`docs/BENCHMARKS.md`) with its charts.

use std::{collections::BTreeMap, fmt::Write as _, path::Path, time::Duration};

mod header;
mod sections;
mod targets;
mod variation;

use crate::{
    Plan,
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

/// `median (min–max)` of `v` ("—" for none; the median alone when all are equal).
fn fmt_range(v: &[f64], f: fn(f64) -> String) -> String {
    match median_min_max(v) {
        None => "—".into(),
        Some((m, lo, hi)) if v.len() > 1 && (hi - lo).abs() > f64::EPSILON => {
            format!("{} ({}–{})", f(m), f(lo), f(hi))
        }
        Some((m, _, _)) => f(m),
    }
}

/// Microseconds of CPU per operation.
fn fmt_us(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
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
            let mut metrics: Metrics = serde_json::from_value(rec["metrics"].clone())?;
            crate::cpu::per_op(&mut metrics);
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
            Ok(mut metrics) => {
                crate::cpu::per_op(&mut metrics);
                let brief: Vec<String> = metrics
                    .iter()
                    .filter(|(k, _)| {
                        k.ends_with("per_s")
                            || k.ends_with("_p99")
                            || k.ends_with("lost")
                            || k.contains("_us_per_")
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
        fmt_range(&self.values(scenario, kind, metric), f)
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
        self.variation(&mut md);
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
