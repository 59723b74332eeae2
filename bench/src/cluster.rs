//! `bench cluster`: the chat and flood scenarios on one node and on three, to show what a
//! cluster costs and gives. Three set-ups run in turn, each on fresh state:
//!
//! - one node on its embedded defaults (SQLite, everything in process), the single-node figure;
//! - one node in cluster mode (PostgreSQL and Redis), which isolates what the services cost;
//! - three nodes in cluster mode, the clients spread evenly over them, so that two deliveries in
//!   three cross nodes (timed apart as "cross-node").
//!
//! The nodes all run on core 0 (this machine has two cores: one node per core is not possible),
//! the load generator on core 1; Redis and PostgreSQL are the machine's own services, not
//! pinned, and their CPU is counted apart. Writes `bench/cluster-results.json` and the cluster
//! section of `docs/BENCHMARKS.md` (between its markers; `bench report` keeps it).

use std::{net::SocketAddr, path::Path, time::Duration};

use serde_json::json;

use crate::{
    Plan, chat, cluster_report, cpu,
    eio::Result,
    servers::{Env, Kind, Server, StartOpts},
    stats::Metrics,
};

/// One set-up under test.
#[derive(Clone, Copy, Debug)]
pub struct Setup {
    /// The name in tables.
    pub label: &'static str,
    /// Nodes.
    pub nodes: usize,
    /// PostgreSQL and Redis (cluster mode), or the embedded defaults.
    pub cluster: bool,
}

/// The set-ups, in the order they run.
pub const SETUPS: [Setup; 3] = [
    Setup {
        label: "1 node, embedded (SQLite)",
        nodes: 1,
        cluster: false,
    },
    Setup {
        label: "1 node, PostgreSQL + Redis",
        nodes: 1,
        cluster: true,
    },
    Setup {
        label: "3 nodes, PostgreSQL + Redis",
        nodes: 3,
        cluster: true,
    },
];

/// PostgreSQL as the tests use it (`CHAT_TEST_PG_URL` or the local `test` database).
fn pg_url() -> String {
    std::env::var("CHAT_TEST_PG_URL").unwrap_or_else(|_| "postgres://127.0.0.1:5432/test".into())
}

/// The nodes of one set-up, and what to remove after them.
struct Running {
    nodes: Vec<Server>,
    /// The cluster's Redis prefix and PostgreSQL schema.
    names: Option<String>,
}

impl Running {
    async fn start(env: &Env, setup: Setup, tag: &str) -> Result<Self> {
        let names = setup.cluster.then(|| {
            let salt = std::process::id() ^ (crate::eio::now_us() as u32);
            format!("bench_{salt:08x}")
        });
        let mut nodes = Vec::new();
        for i in 0..setup.nodes {
            // The flood's writer has all 2,000 sends in flight at once.
            let mut extra = vec!["--max-pending-events".to_owned(), "4096".to_owned()];
            extra.extend(match &names {
                Some(name) => vec![
                    "--redis-url".into(),
                    "redis://127.0.0.1:6379".into(),
                    "--redis-prefix".into(),
                    name.clone(),
                    "--database-url".into(),
                    pg_url(),
                    "--database-schema".into(),
                    name.clone(),
                    "--jwt-secret".into(),
                    format!("{name}-secret"),
                    "--node-id".into(),
                    format!("n{i}"),
                ],
                None => Vec::new(),
            });
            let opts = StartOpts {
                llm_base_url: None,
                extra,
            };
            // The first node creates the schema; the others start on it.
            nodes.push(Server::start(env, Kind::OursChat, &format!("{tag}-n{i}"), &opts).await?);
        }
        let pids = nodes.iter().map(|n| n.pid).collect();
        cpu::set_servers(pids, setup.cluster);
        Ok(Self { nodes, names })
    }

    fn addrs(&self) -> Vec<SocketAddr> {
        self.nodes.iter().map(|n| n.addr).collect()
    }

    fn rss_mib(&self) -> f64 {
        self.nodes.iter().filter_map(Server::rss_kib).sum::<u64>() as f64 / 1024.0
    }

    /// Stops the nodes, drops the schema and deletes the prefix's keys.
    async fn stop(self) {
        for n in self.nodes {
            n.stop().await;
        }
        if let Some(name) = self.names {
            let url = pg_url();
            let drop = format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE");
            run("psql", &[url.as_str(), "-qc", drop.as_str()]).await;
            let script = "for _,k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end return 0";
            let pattern = format!("{name}*");
            run("redis-cli", &["eval", script, "0", pattern.as_str()]).await;
        }
    }
}

/// Runs a clean-up command; a failure is noted, never fatal.
async fn run(prog: &str, args: &[&str]) {
    let out = tokio::process::Command::new(prog).args(args).output().await;
    if !out.as_ref().is_ok_and(|o| o.status.success()) {
        crate::note(format!("clean-up `{prog}` failed: {out:?}"));
    }
}

/// One scenario on one set-up: its metrics, with CPU and memory of all its nodes.
async fn once(env: &Env, plan: &Plan, setup: Setup, scenario: &str, run: usize) -> Result<Metrics> {
    let tag = format!(
        "cluster-{scenario}-{}n-{}-{run}",
        setup.nodes, setup.cluster
    );
    eprintln!("    {tag}");
    let running = Running::start(env, setup, &tag).await?;
    let addrs = running.addrs();
    let work = async {
        match scenario {
            "chat" => chat::chat(addrs, plan, None).await,
            _ => {
                let mark = cpu::Mark::now();
                let mut m = chat::flood(addrs, plan.fan_members, plan.flood).await?;
                let (server, services) = mark.spent();
                m.insert("flood_server_cpu_s".into(), server);
                if let Some(s) = services {
                    m.insert("flood_services_cpu_s".into(), s);
                }
                Ok(m)
            }
        }
    };
    let r = tokio::time::timeout(Duration::from_secs(300), work).await;
    let rss = running.rss_mib();
    running.stop().await;
    let mut m = r.map_err(|_| format!("{tag} timed out"))??;
    m.insert("rss_end_mib".into(), rss);
    Ok(m)
}

/// `bench cluster`: every set-up through both scenarios, `plan.runs` times.
pub async fn run_all(env: &Env, plan: &Plan, out: &Path) -> Result<()> {
    let mut records = Vec::new();
    let mut failed = Vec::new();
    for run in 1..=plan.runs {
        for scenario in ["chat", "flood"] {
            for setup in SETUPS {
                match once(env, plan, setup, scenario, run).await {
                    Ok(m) => records.push((setup, scenario, m)),
                    Err(e) => failed.push(format!("{scenario}, {}: {e}", setup.label)),
                }
            }
        }
    }
    let raw = json!({
        "plan": format!("{plan:?}"),
        "records": records.iter().map(|(s, sc, m)| json!({
            "setup": s.label, "scenario": sc, "metrics": m,
        })).collect::<Vec<_>>(),
        "failed": failed,
    });
    if !plan.smoke {
        std::fs::write(
            env.root.join("bench/cluster-results.json"),
            serde_json::to_string_pretty(&raw)?,
        )?;
    }
    let section = cluster_report::cluster_section(plan, &records, &failed);
    cluster_report::put_cluster_section(out, &section)?;
    eprintln!("==> wrote the cluster section of {}", out.display());
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("; ").into())
    }
}
