//! CPU time of the server under test and of this process over a measurement window, from
//! `/proc/<pid>/stat` (user + system time, in clock ticks of 1/100 s), to tell which side was
//! the bottleneck. "The server" may be several processes (a cluster's nodes), and the services
//! they use (Redis, PostgreSQL: every process of those names) are measured apart.

use std::sync::{
    Mutex,
    atomic::{AtomicBool, Ordering::Relaxed},
};

use tokio::task::JoinHandle;

use crate::{load::Window, stats::Metrics};

static SERVER_PIDS: Mutex<Vec<u32>> = Mutex::new(Vec::new());
static SERVICES: AtomicBool = AtomicBool::new(false);

/// The process names measured as the services, when [`set_servers`] asks for them.
const SERVICE_NAMES: [&str; 2] = ["redis-server", "postgres"];

/// Sets the process measured as "the server".
pub fn set_server(pid: u32) {
    set_servers(vec![pid], false);
}

/// Sets the processes measured together as "the server", and whether Redis and PostgreSQL
/// are measured too (`<prefix>services_cpu`).
pub fn set_servers(pids: Vec<u32>, services: bool) {
    if let Ok(mut p) = SERVER_PIDS.lock() {
        *p = pids;
    }
    SERVICES.store(services, Relaxed);
}

/// utime + stime of a process, in ticks.
fn ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Every process whose name is one of the services'.
fn service_pids() -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| {
        let name = e.ok()?.file_name().into_string().ok()?;
        name.bytes().all(|b| b.is_ascii_digit()).then_some(name)
    })
    .filter(|pid| {
        std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .is_ok_and(|c| SERVICE_NAMES.contains(&c.trim()))
    })
    .collect()
}

/// Ticks of each of `pids` now (0 for one that is gone).
fn all_ticks(pids: &[String]) -> Vec<u64> {
    pids.iter().map(|p| ticks(p).unwrap_or(0)).collect()
}

/// What the processes spent between two readings of [`all_ticks`] (a process that ended
/// meanwhile counts what it had at the start).
fn spent(before: &[u64], after: &[u64]) -> u64 {
    before.iter().zip(after).map(|(b, a)| a.max(b) - b).sum()
}

/// CPU over one window, in percent of one core.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    server: f64,
    generator: f64,
    services: Option<f64>,
    /// Time the hypervisor gave to others, all CPUs together.
    steal: f64,
    /// Work on the server's core that was not the server's.
    core_other: f64,
}

/// Measures the processes over `w` in the background.
pub fn during(w: Window) -> JoinHandle<Option<Usage>> {
    tokio::spawn(async move {
        let servers: Vec<String> = SERVER_PIDS
            .lock()
            .ok()?
            .iter()
            .map(u32::to_string)
            .collect();
        crate::eio::sleep_until(w.from).await;
        let services = SERVICES.load(Relaxed).then(service_pids);
        let (s0, g0) = (all_ticks(&servers), ticks("self")?);
        let v0 = services.as_deref().map(all_ticks);
        let m0 = crate::machine::snapshot();
        crate::eio::sleep_until(w.until).await;
        let (s1, g1) = (all_ticks(&servers), ticks("self")?);
        let (_, steal, core) = crate::machine::between(m0, crate::machine::snapshot());
        let server = spent(&s0, &s1);
        let secs = w.secs();
        let services = match (&services, v0) {
            (Some(pids), Some(v0)) => Some(spent(&v0, &all_ticks(pids)) as f64 / secs),
            _ => None,
        };
        Some(Usage {
            server: server as f64 / secs,
            generator: (g1 - g0) as f64 / secs,
            services,
            steal: steal as f64 / secs,
            core_other: core.saturating_sub(server) as f64 / secs,
        })
    })
}

/// The measured processes' CPU time so far, to compare with a later one ([`Mark::spent`]).
pub struct Mark {
    servers: Vec<String>,
    services: Option<Vec<String>>,
    at: (Vec<u64>, Option<Vec<u64>>),
}

impl Mark {
    /// Now.
    pub fn now() -> Self {
        let servers: Vec<String> = SERVER_PIDS
            .lock()
            .map(|p| p.iter().map(u32::to_string).collect())
            .unwrap_or_default();
        let services = SERVICES.load(Relaxed).then(service_pids);
        let at = (all_ticks(&servers), services.as_deref().map(all_ticks));
        Self {
            servers,
            services,
            at,
        }
    }

    /// CPU seconds spent since the mark: (the server, the services when measured).
    pub fn spent(&self) -> (f64, Option<f64>) {
        let server = spent(&self.at.0, &all_ticks(&self.servers)) as f64 / 100.0;
        let services = match (&self.services, &self.at.1) {
            (Some(pids), Some(before)) => Some(spent(before, &all_ticks(pids)) as f64 / 100.0),
            _ => None,
        };
        (server, services)
    }
}

/// Adds `<prefix>server_cpu` and `<prefix>gen_cpu` (percent of a core), `<prefix>services_cpu`
/// when measured, and what the machine did meanwhile: `<prefix>steal_cpu` (taken by the
/// hypervisor) and `<prefix>core_other_cpu` (others' work on the server's core), from a
/// [`during`].
pub async fn add(m: &mut Metrics, prefix: &str, h: JoinHandle<Option<Usage>>) {
    if let Ok(Some(u)) = h.await {
        m.insert(format!("{prefix}server_cpu"), u.server);
        m.insert(format!("{prefix}gen_cpu"), u.generator);
        m.insert(format!("{prefix}steal_cpu"), u.steal);
        m.insert(format!("{prefix}core_other_cpu"), u.core_other);
        if let Some(s) = u.services {
            m.insert(format!("{prefix}services_cpu"), s);
        }
    }
}

/// Server CPU time per operation, derived from a run's rate and the server's CPU over the same
/// window: (rate metric, CPU metric, the µs-per-operation metric written).
const PER_OP: [(&str, &str, &str); 6] = [
    ("acks_per_s", "server_cpu", "server_us_per_ack"),
    ("deliveries_per_s", "server_cpu", "server_us_per_delivery"),
    (
        "fixed_rate_per_s",
        "fixed_server_cpu",
        "fixed_server_us_per_delivery",
    ),
    ("sat_msgs_per_s", "sat_server_cpu", "sat_server_us_per_msg"),
    (
        "sat_deliveries_per_s",
        "sat_server_cpu",
        "sat_server_us_per_delivery",
    ),
    (
        "half_msgs_per_s",
        "half_server_cpu",
        "half_server_us_per_msg",
    ),
];

/// Adds the server's CPU time per operation (µs) wherever a run has both a rate and the
/// server's CPU over its window: percent of a core is 10,000 µs of CPU per second.
pub fn per_op(m: &mut Metrics) {
    for (rate, cpu, out) in PER_OP {
        if let (Some(&r), Some(&c)) = (m.get(rate), m.get(cpu))
            && r > 0.0
        {
            m.insert(out.to_owned(), c * 10_000.0 / r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_op_is_cpu_time_over_operations() {
        let mut m = Metrics::new();
        // Half a core for 25,000 acks a second: 20 µs of CPU per ack.
        m.insert("acks_per_s".into(), 25_000.0);
        m.insert("server_cpu".into(), 50.0);
        // A chat run: saturation measured, no CPU for the half-load phase.
        m.insert("sat_msgs_per_s".into(), 1_000.0);
        m.insert("sat_server_cpu".into(), 100.0);
        m.insert("half_msgs_per_s".into(), 500.0);
        // No rate: nothing derived.
        m.insert("deliveries_per_s".into(), 0.0);
        per_op(&mut m);
        assert_eq!(m.get("server_us_per_ack"), Some(&20.0));
        assert_eq!(m.get("sat_server_us_per_msg"), Some(&1_000.0));
        assert!(!m.contains_key("half_server_us_per_msg"));
        assert!(!m.contains_key("server_us_per_delivery"));
    }
}
