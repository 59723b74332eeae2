//! What the machine itself did around each run, so that a figure that moved can be traced to
//! the machine rather than to the server: time the hypervisor took away (steal), other work on
//! the server's core, a quiet gate before each run, and a calibration probe of the server's
//! core speed.
//!
//! Read from `/proc/stat` (ticks of 1/100 s per CPU: user nice system idle iowait irq softirq
//! steal …).

use std::time::{Duration, Instant};

/// The CPU the servers are pinned to (`servers.rs`).
pub const SERVER_CORE: usize = 0;

/// Busy and steal ticks of one `/proc/stat` line.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Ticks {
    /// user + nice + system + irq + softirq.
    pub busy: u64,
    /// Time the hypervisor ran something else while this CPU wanted to run.
    pub steal: u64,
}

/// Parses one `cpu…` line of `/proc/stat`.
fn parse_line(line: &str) -> Option<Ticks> {
    let f: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().ok())
        .collect::<Option<_>>()?;
    let at = |i: usize| f.get(i).copied().unwrap_or(0);
    Some(Ticks {
        busy: at(0) + at(1) + at(2) + at(5) + at(6),
        steal: at(7),
    })
}

/// The whole machine (`cpu` line) and one core (`cpu<N>`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Snapshot {
    /// Every CPU together.
    pub all: Ticks,
    /// The server's core.
    pub core: Ticks,
}

/// Reads `/proc/stat` now (zeros where it cannot be read).
pub fn snapshot() -> Snapshot {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else {
        return Snapshot::default();
    };
    let core_name = format!("cpu{SERVER_CORE}");
    let mut s = Snapshot::default();
    for line in stat.lines() {
        let name = line.split_whitespace().next().unwrap_or_default();
        if name == "cpu" {
            s.all = parse_line(line).unwrap_or_default();
        } else if name == core_name {
            s.core = parse_line(line).unwrap_or_default();
        }
    }
    s
}

/// Ticks spent between two snapshots: (all busy, all steal, core busy).
pub fn between(a: Snapshot, b: Snapshot) -> (u64, u64, u64) {
    (
        b.all.busy.saturating_sub(a.all.busy),
        b.all.steal.saturating_sub(a.all.steal),
        b.core.busy.saturating_sub(a.core.busy),
    )
}

/// Busy CPU of the whole machine over `d`, in percent of one core.
async fn busy_over(d: Duration) -> f64 {
    let a = snapshot();
    tokio::time::sleep(d).await;
    let (busy, _, _) = between(a, snapshot());
    busy as f64 / d.as_secs_f64()
}

/// The most the machine may be busy (percent of one core: the harness's own bookkeeping, the
/// databases' housekeeping) for a run to start.
const QUIET_BELOW: f64 = 8.0;

/// How long a run waits for a quiet machine before it starts anyway (and says so).
const QUIET_PATIENCE: Duration = Duration::from_secs(30);

/// What [`quiet_gate`] saw.
pub struct Gate {
    /// Seconds waited.
    pub waited: f64,
    /// The machine's busy level last seen, in percent of one core.
    pub busy: f64,
    /// Whether that was below [`QUIET_BELOW`] (otherwise the patience ran out).
    pub quiet: bool,
}

/// Waits until the machine is quiet (below [`QUIET_BELOW`] over half a second) or
/// [`QUIET_PATIENCE`] passed.
pub async fn quiet_gate() -> Gate {
    let t0 = Instant::now();
    loop {
        let busy = busy_over(Duration::from_millis(500)).await;
        let quiet = busy < QUIET_BELOW;
        if quiet || t0.elapsed() >= QUIET_PATIENCE {
            return Gate {
                waited: t0.elapsed().as_secs_f64(),
                busy,
                quiet,
            };
        }
    }
}

/// The calibration probe's work: a fixed sequence of integer arithmetic and dependent loads
/// over 32 MiB (beyond the caches, as a server's heap is), the same on every machine.
pub fn probe_work() -> u64 {
    const WORDS: usize = 4 << 20;
    let mut table: Vec<u64> = (0..WORDS as u64)
        .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .collect();
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut sum = 0u64;
    for _ in 0..1_000_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let i = (x as usize ^ sum as usize) % WORDS;
        sum = sum.wrapping_add(table[i]);
        table[i] = sum;
    }
    sum
}

/// `bench probe`: runs [`probe_work`] and prints its wall time in ms (the caller pins it).
pub fn probe_main() {
    let t0 = Instant::now();
    let sum = std::hint::black_box(probe_work());
    println!("{:.3} {sum}", t0.elapsed().as_secs_f64() * 1e3);
}

/// Runs `bench probe` on the server's core and returns its time in ms.
pub async fn probe(taskset: bool) -> Option<f64> {
    let exe = std::env::current_exe().ok()?;
    let mut cmd = if taskset {
        let mut c = tokio::process::Command::new("taskset");
        c.arg("-c").arg(SERVER_CORE.to_string()).arg(exe);
        c
    } else {
        tokio::process::Command::new(exe)
    };
    let out = cmd.arg("probe").output().await.ok()?;
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_is_busy_and_steal() {
        let t = parse_line("cpu0 100 5 20 9000 7 3 2 40 0 0").expect("a line");
        assert_eq!(
            t,
            Ticks {
                busy: 130,
                steal: 40
            }
        );
        assert_eq!(parse_line("cpu0 x"), None);
    }

    #[test]
    fn the_probe_does_the_same_work_each_time() {
        assert_eq!(probe_work(), probe_work());
    }
}
