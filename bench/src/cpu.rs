//! CPU time of the server under test and of this process over a measurement window, from
//! `/proc/<pid>/stat` (user + system time, in clock ticks of 1/100 s), to tell which side was
//! the bottleneck.

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

use tokio::task::JoinHandle;

use crate::{load::Window, stats::Metrics};

static SERVER_PID: AtomicU32 = AtomicU32::new(0);

/// Sets the process measured as "the server".
pub fn set_server(pid: u32) {
    SERVER_PID.store(pid, Relaxed);
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

/// Measures both processes over `w` in the background; the handle yields
/// (server %, generator %) of one core.
pub fn during(w: Window) -> JoinHandle<Option<(f64, f64)>> {
    tokio::spawn(async move {
        let server = SERVER_PID.load(Relaxed).to_string();
        crate::eio::sleep_until(w.from).await;
        let (s0, g0) = (ticks(&server)?, ticks("self")?);
        crate::eio::sleep_until(w.until).await;
        let (s1, g1) = (ticks(&server)?, ticks("self")?);
        let secs = w.secs();
        Some(((s1 - s0) as f64 / secs, (g1 - g0) as f64 / secs))
    })
}

/// Adds `<prefix>server_cpu` and `<prefix>gen_cpu` (percent of a core) from a [`during`].
pub async fn add(m: &mut Metrics, prefix: &str, h: JoinHandle<Option<(f64, f64)>>) {
    if let Ok(Some((s, g))) = h.await {
        m.insert(format!("{prefix}server_cpu"), s);
        m.insert(format!("{prefix}gen_cpu"), g);
    }
}
