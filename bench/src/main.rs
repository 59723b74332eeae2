//! The benchmark harness of the chat server: a load generator that speaks Engine.IO v4 /
//! Socket.IO v5 itself (WebSocket and HTTP long-polling), the scenarios, and the report.
//!
//! ```text
//! bench all [--smoke] [--runs N] [--only a,b] [--targets ours,node,...] [--out FILE]
//! bench smoke                  (= all --smoke)
//! bench cluster [--smoke] [--runs N] [--out FILE]
//! bench fake-llm [--port N] [--tokens-per-sec R] [--tokens N]
//! ```
//!
//! `bash bench/run.sh` builds everything, pins this process to core 1 and the servers to core
//! 0, and writes `docs/BENCHMARKS.md`.

mod chart;
mod chat;
mod cluster;
mod cluster_report;
mod cpu;
mod eio;
mod fakellm;
mod load;
mod machine;
mod report;
mod servers;
mod stats;

use std::{path::PathBuf, process::ExitCode, time::Duration};

use crate::{
    eio::Result,
    load::FanoutPlan,
    report::Results,
    servers::{Env, Kind, Server, StartOpts},
    stats::Metrics,
};

/// Sizes and durations of one invocation.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Tiny loads, no figures worth reading (CI).
    pub smoke: bool,
    /// Repetitions of each scenario.
    pub runs: usize,
    /// Warm-up of closed loops.
    pub warm: Duration,
    /// Measurement of closed loops.
    pub measure: Duration,
    /// Clients of the echo scenario.
    pub echo_clients: usize,
    /// Bytes of each payload object.
    pub payload: usize,
    /// Members of the fan-out room.
    pub fan_members: usize,
    /// Fixed delivery rate of the fan-out's latency phase.
    pub fan_rate: u64,
    /// Messages of the flood.
    pub flood: usize,
    /// Connection counts of the idle scenario.
    pub idle_levels: Vec<usize>,
    /// How long the idle scenario holds its top level before counting the connections lost.
    pub idle_hold: Duration,
    /// Clients of the chat scenario.
    pub chat_clients: usize,
    /// Rooms of the chat scenario.
    pub chat_rooms: usize,
    /// Viewers of the bot scenario.
    pub bot_viewers: usize,
    /// Tokens of the bot's reply.
    pub bot_tokens: usize,
    /// Tokens per second from the fake LLM.
    pub bot_rate: u64,
    /// Room sizes of the sweep.
    pub sweep_sizes: Vec<usize>,
}

impl Plan {
    fn new(smoke: bool, runs: Option<usize>, fd_limit: usize) -> Self {
        // Each client holds one descriptor here and one in the server; keep some spare.
        let most = fd_limit.saturating_sub(300).clamp(100, 100_000);
        if smoke {
            return Self {
                smoke,
                runs: runs.unwrap_or(1),
                warm: Duration::from_millis(200),
                measure: Duration::from_millis(600),
                echo_clients: 4,
                payload: 100,
                fan_members: 20,
                fan_rate: 2_000,
                flood: 50,
                idle_levels: vec![50, 100],
                idle_hold: Duration::from_secs(2),
                chat_clients: 20,
                chat_rooms: 2,
                bot_viewers: 10,
                bot_tokens: 40,
                bot_rate: 200,
                sweep_sizes: vec![10, 50],
            };
        }
        let mut idle_levels: Vec<usize> = [1_000, 2_500, 5_000, 10_000, 15_000]
            .into_iter()
            .filter(|&n| n < most)
            .collect();
        idle_levels.push(most.min(19_500));
        Self {
            smoke,
            runs: runs.unwrap_or(3),
            warm: Duration::from_secs(1),
            measure: Duration::from_secs(5),
            echo_clients: 100,
            payload: 100,
            fan_members: 1_000,
            fan_rate: 40_000,
            flood: 2_000,
            idle_levels,
            idle_hold: Duration::from_secs(60),
            chat_clients: 1_000,
            chat_rooms: 10,
            bot_viewers: 1_000,
            bot_tokens: 600,
            bot_rate: 200,
            sweep_sizes: [10, 100, 1_000, 10_000]
                .into_iter()
                .filter(|&n| n < most)
                .collect(),
        }
    }
}

static NOTES: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Leaves a remark for the report (and says it on stderr); each text once.
pub fn note(text: String) {
    eprintln!("      note: {text}");
    if let Ok(mut n) = NOTES.lock()
        && !n.contains(&text)
    {
        n.push(text);
    }
}

/// The remarks left so far.
pub fn notes() -> Vec<String> {
    NOTES.lock().map(|n| n.clone()).unwrap_or_default()
}

/// Every scenario, in the order they run.
pub const SCENARIOS: [&str; 7] = ["echo", "fanout", "idle", "polling", "chat", "bot", "sweep"];

struct Cli {
    command: String,
    smoke: bool,
    runs: Option<usize>,
    only: Option<Vec<String>>,
    targets: Option<Vec<String>>,
    out: Option<PathBuf>,
    port: u16,
    tokens_per_sec: u64,
    tokens: usize,
}

fn parse_cli() -> std::result::Result<Cli, String> {
    let mut args = std::env::args().skip(1);
    let mut cli = Cli {
        command: args.next().unwrap_or_else(|| "help".into()),
        smoke: false,
        runs: None,
        only: None,
        targets: None,
        out: None,
        port: 0,
        tokens_per_sec: 200,
        tokens: 600,
    };
    if cli.command == "smoke" {
        cli.command = "all".into();
        cli.smoke = true;
    }
    let list = |v: String| v.split(',').map(str::to_owned).collect::<Vec<_>>();
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--smoke" => cli.smoke = true,
            "--runs" => cli.runs = Some(value()?.parse().map_err(|_| "bad --runs")?),
            "--only" => cli.only = Some(list(value()?)),
            "--targets" => cli.targets = Some(list(value()?)),
            "--out" => {
                let out = PathBuf::from(value()?);
                cli.out = Some(std::path::absolute(&out).unwrap_or(out));
            }
            "--port" => cli.port = value()?.parse().map_err(|_| "bad --port")?,
            "--tokens-per-sec" => {
                cli.tokens_per_sec = value()?.parse().map_err(|_| "bad --tokens-per-sec")?;
            }
            "--tokens" => cli.tokens = value()?.parse().map_err(|_| "bad --tokens")?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(cli)
}

const USAGE: &str = "usage:
  bench all [--smoke] [--runs N] [--only echo,fanout,idle,polling,chat,bot,sweep]
            [--targets ours,node,sioxide,raw] [--out docs/BENCHMARKS.md]
            (a target is a family, or one server: ours-chat, ours-buf4096, node-chat)
  bench smoke                     the same as `all --smoke`
  bench report [--out FILE]       the report again from bench/results.json (no measuring)
  bench cluster [--smoke] [--runs N] [--out FILE]
                                  chat and flood on one node and on three (Redis, PostgreSQL)
  bench fake-llm [--port N] [--tokens-per-sec 200] [--tokens 600]
  bench probe                     the calibration probe: prints its time in ms";

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("probe") {
        machine::probe_main();
        return ExitCode::SUCCESS;
    }
    eio::start_clock();
    let cli = match parse_cli() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async {
        match cli.command.as_str() {
            "all" => run_all(&cli).await,
            "report" => rewrite_report(&cli),
            "cluster" => run_cluster(&cli).await,
            "fake-llm" => fakellm::serve_forever(cli.port, cli.tokens_per_sec, cli.tokens).await,
            _ => {
                println!("{USAGE}");
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The soft limit on open files of this process.
fn fd_limit() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| {
            l.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(1024)
}

fn target_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Ours | Kind::OursChat | Kind::OursBigBuffer => "ours",
        Kind::Node | Kind::NodeChat => "node",
        Kind::Sioxide => "sioxide",
        Kind::RawWs => "raw",
    }
}

/// A distinct name per server, for log and scratch folders.
fn slug(kind: Kind) -> &'static str {
    match kind {
        Kind::Ours => "ours",
        Kind::OursBigBuffer => "ours-buf4096",
        Kind::OursChat => "ours-chat",
        Kind::Node => "node",
        Kind::NodeChat => "node-chat",
        Kind::Sioxide => "sioxide",
        Kind::RawWs => "raw",
    }
}

/// `bench cluster`: one node and three (see `cluster`); writes the cluster section of
/// `docs/BENCHMARKS.md`, or of `target/bench/BENCHMARKS-smoke.md` with `--smoke`.
async fn run_cluster(cli: &Cli) -> Result<()> {
    let env = Env::discover()?;
    let plan = Plan::new(cli.smoke, cli.runs, fd_limit());
    let out = cli.out.clone().unwrap_or_else(|| {
        if plan.smoke {
            env.work_dir.join("BENCHMARKS-cluster-smoke.md")
        } else {
            env.root.join("docs/BENCHMARKS.md")
        }
    });
    cluster::run_all(&env, &plan, &out).await
}

/// `bench report`: writes the report again from `bench/results.json` (no measuring).
fn rewrite_report(cli: &Cli) -> Result<()> {
    let env = Env::discover()?;
    let plan = Plan::new(false, cli.runs, fd_limit());
    let results = Results::load(env.clone(), plan, &env.root.join("bench/results.json"))?;
    let out = cli
        .out
        .clone()
        .unwrap_or_else(|| env.root.join("docs/BENCHMARKS.md"));
    results.write(&out)?;
    eprintln!("==> wrote {}", out.display());
    Ok(())
}

async fn run_all(cli: &Cli) -> Result<()> {
    let env = Env::discover()?;
    let plan = Plan::new(cli.smoke, cli.runs, fd_limit());
    let started = std::time::Instant::now();
    let wanted = |s: &str| cli.only.as_ref().is_none_or(|o| o.iter().any(|x| x == s));
    let mut results = Results::new(env.clone(), plan.clone());
    if !env.node {
        results.note(
            "Node.js or `bench/node-reference/node_modules` is missing: the Node reference was \
             skipped (run `npm ci` in bench/node-reference).",
        );
    }
    if !env.taskset {
        results.note("`taskset` is missing: servers and the load generator were not pinned.");
    }
    let allowed = |k: Kind| {
        (!k.is_node() || env.node)
            && cli
                .targets
                .as_ref()
                .is_none_or(|t| t.iter().any(|x| x == target_name(k) || x == slug(k)))
    };
    for scenario in SCENARIOS {
        if !wanted(scenario) {
            continue;
        }
        let t0 = std::time::Instant::now();
        eprintln!("==> {scenario}");
        if let Err(e) = run_scenario(scenario, &env, &plan, &allowed, &mut results).await {
            results.fail(&format!("Scenario `{scenario}` failed: {e}"));
        }
        results.scenario_time(scenario, t0.elapsed());
    }
    results.total = started.elapsed();
    // Only a whole run replaces the committed report; a subset goes next to the scratch files.
    let partial = cli.only.is_some() || cli.targets.is_some() || cli.runs.is_some();
    let out = cli.out.clone().unwrap_or_else(|| {
        if plan.smoke {
            env.work_dir.join("BENCHMARKS-smoke.md")
        } else if partial {
            env.work_dir.join("BENCHMARKS-partial.md")
        } else {
            env.root.join("docs/BENCHMARKS.md")
        }
    });
    results.write(&out)?;
    eprintln!(
        "==> wrote {} in {:.0} s",
        out.display(),
        started.elapsed().as_secs_f64()
    );
    if results.failed() {
        return Err("some runs failed (see the notes in the report)".into());
    }
    Ok(())
}

/// Upper bound of one run of one scenario against one target.
const RUN_TIMEOUT: Duration = Duration::from_secs(300);

async fn run_scenario(
    scenario: &str,
    env: &Env,
    plan: &Plan,
    allowed: &impl Fn(Kind) -> bool,
    results: &mut Results,
) -> Result<()> {
    let ws_targets = [Kind::Ours, Kind::Node, Kind::Sioxide, Kind::RawWs];
    match scenario {
        "echo" => {
            for run in 1..=plan.runs {
                for kind in ws_targets.into_iter().filter(|k| allowed(*k)) {
                    let r = once(env, kind, scenario, run, &StartOpts::default(), |s| {
                        load::echo_ws(
                            s.addr,
                            plan.echo_clients,
                            plan.payload,
                            plan.warm,
                            plan.measure,
                        )
                    })
                    .await;
                    results.push(scenario, kind, run, r);
                }
            }
        }
        "polling" => {
            for run in 1..=plan.runs {
                for kind in [Kind::Ours, Kind::Node, Kind::Sioxide]
                    .into_iter()
                    .filter(|k| allowed(*k))
                {
                    let r = once(env, kind, scenario, run, &StartOpts::default(), |s| {
                        load::echo_polling(
                            s.addr,
                            plan.echo_clients,
                            plan.payload,
                            plan.warm,
                            plan.measure,
                        )
                    })
                    .await;
                    results.push(scenario, kind, run, r);
                }
            }
        }
        "fanout" => {
            let fp = FanoutPlan {
                members: plan.fan_members,
                window: 16,
                warm: plan.warm,
                measure: plan.measure,
                fixed_rate: plan.fan_rate,
                fixed_for: plan.measure,
                flood: plan.flood,
                size: plan.payload,
            };
            // The chat servers take only the flood, on the chat protocol (`send`, with the
            // slow-reader policy); the others all three phases on `/harness`.
            let chat_flood =
                |k: Kind| !matches!(k, Kind::OursChat | Kind::NodeChat) || fp.flood > 0;
            for run in 1..=plan.runs {
                for kind in [
                    Kind::Ours,
                    Kind::OursBigBuffer,
                    Kind::Node,
                    Kind::Sioxide,
                    Kind::OursChat,
                    Kind::NodeChat,
                ]
                .into_iter()
                .filter(|k| allowed(*k) && chat_flood(*k))
                {
                    // The writer sends the whole flood back to back: the chat server's limit of
                    // events waiting per connection (256 by default) must hold all of it, as in
                    // `bench cluster`.
                    let opts = StartOpts {
                        extra: if kind == Kind::OursChat {
                            vec!["--max-pending-events".into(), "4096".into()]
                        } else {
                            Vec::new()
                        },
                        ..StartOpts::default()
                    };
                    let r = once(env, kind, scenario, run, &opts, |s| {
                        let addr = s.addr;
                        async move {
                            match kind {
                                Kind::OursChat | Kind::NodeChat => {
                                    chat::flood(vec![addr], fp.members, fp.flood).await
                                }
                                _ => load::fanout(addr, fp).await,
                            }
                        }
                    })
                    .await;
                    results.push(scenario, kind, run, r);
                }
            }
        }
        "sweep" => {
            for &size in &plan.sweep_sizes {
                let fp = FanoutPlan {
                    members: size,
                    window: (16_000 / size).clamp(2, 1_000),
                    warm: plan.warm,
                    measure: plan.measure.min(Duration::from_secs(3)),
                    fixed_rate: 0,
                    fixed_for: Duration::ZERO,
                    flood: 0,
                    size: plan.payload,
                };
                let name = format!("sweep-{size}");
                for run in 1..=plan.runs {
                    for kind in [Kind::Ours, Kind::Node, Kind::Sioxide]
                        .into_iter()
                        .filter(|k| allowed(*k))
                    {
                        let r = once(env, kind, &name, run, &StartOpts::default(), |s| {
                            load::fanout(s.addr, fp)
                        })
                        .await;
                        results.push(&name, kind, run, r);
                    }
                }
            }
        }
        "idle" => {
            let targets = [
                Kind::OursChat,
                Kind::Ours,
                Kind::Node,
                Kind::Sioxide,
                Kind::RawWs,
            ];
            for kind in targets.into_iter().filter(|k| allowed(*k)) {
                let tag = format!("idle-{}", slug(kind));
                eprintln!("    {tag}");
                let server = match Server::start(env, kind, &tag, &StartOpts::default()).await {
                    Ok(s) => s,
                    Err(e) => {
                        results.fail(&format!("idle, {}: {e}", kind.label()));
                        continue;
                    }
                };
                let auth = move |i: usize| {
                    (kind == Kind::OursChat).then(|| format!("{{\"name\":\"idle{i}\"}}"))
                };
                let r = tokio::time::timeout(
                    RUN_TIMEOUT + plan.idle_hold,
                    load::idle(server.addr, &plan.idle_levels, plan.idle_hold, auth, || {
                        server.rss_kib()
                    }),
                )
                .await;
                server.stop().await;
                match r {
                    Ok(Ok(outcome)) => results.idle(kind, outcome),
                    Ok(Err(e)) => results.fail(&format!("idle, {}: {e}", kind.label())),
                    Err(_) => results.fail(&format!("idle, {}: timed out", kind.label())),
                }
            }
        }
        "chat" => {
            for run in 1..=plan.runs {
                // Node first: ours is then also measured at Node's half rate (`equal_*`).
                let mut node_half = None;
                for kind in [Kind::NodeChat, Kind::OursChat]
                    .into_iter()
                    .filter(|k| allowed(*k))
                {
                    let equal = if kind == Kind::OursChat {
                        node_half
                    } else {
                        None
                    };
                    let r = once(env, kind, scenario, run, &StartOpts::default(), |s| {
                        chat::chat(vec![s.addr], plan, equal)
                    })
                    .await;
                    if kind == Kind::NodeChat {
                        node_half = r
                            .as_ref()
                            .ok()
                            .and_then(|m| m.get("half_target_msgs_per_s").copied());
                    }
                    results.push(scenario, kind, run, r);
                }
            }
        }
        "bot" => {
            if !allowed(Kind::OursChat) {
                return Ok(());
            }
            for run in 1..=plan.runs {
                let llm = fakellm::FakeLlm::start(plan.bot_rate, plan.bot_tokens).await?;
                let opts = StartOpts {
                    llm_base_url: Some(llm.base_url()),
                    extra: Vec::new(),
                };
                let r = once(env, Kind::OursChat, scenario, run, &opts, |s| {
                    chat::bot(s.addr, plan, llm.clone())
                })
                .await;
                llm.stop();
                results.push(scenario, Kind::OursChat, run, r);
            }
        }
        other => return Err(format!("unknown scenario {other}").into()),
    }
    Ok(())
}

/// Starts `kind`, runs `load` against it (bounded by [`RUN_TIMEOUT`]), stops it.
async fn once<F, Fut>(
    env: &Env,
    kind: Kind,
    scenario: &str,
    run: usize,
    opts: &StartOpts,
    load: F,
) -> Result<Metrics>
where
    F: FnOnce(&Server) -> Fut,
    Fut: std::future::Future<Output = Result<Metrics>>,
{
    let tag = format!("{scenario}-{}-{run}", slug(kind));
    eprintln!("    {tag}");
    let gate = machine::quiet_gate().await;
    if !gate.quiet {
        note(format!(
            "{tag} started on a busy machine ({:.0}% of a core busy after {:.0} s)",
            gate.busy, gate.waited
        ));
    }
    let probe = machine::probe(env.taskset).await;
    let server = Server::start(env, kind, &tag, opts).await?;
    cpu::set_server(server.pid);
    let rss_before = server.rss_kib();
    let r = tokio::time::timeout(RUN_TIMEOUT, load(&server)).await;
    let rss_after = server.rss_kib();
    server.stop().await;
    let mut m = r.map_err(|_| format!("{tag} timed out after {RUN_TIMEOUT:?}"))??;
    m.insert("quiet_wait_s".into(), gate.waited);
    m.insert("quiet_busy_cpu".into(), gate.busy);
    if let Some(ms) = probe {
        m.insert("probe_ms".into(), ms);
    }
    if let (Some(a), Some(b)) = (rss_before, rss_after) {
        m.insert("rss_start_mib".into(), a as f64 / 1024.0);
        m.insert("rss_end_mib".into(), b as f64 / 1024.0);
    }
    Ok(m)
}
