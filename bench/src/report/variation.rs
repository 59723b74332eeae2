//! The report's variation section: how far each figure moved across the runs, the ratios
//! within each repetition (servers measured minutes apart on the same machine), and what the
//! machine did meanwhile (the calibration probe, steal time, other work on the server's core).

use std::{collections::BTreeMap, fmt::Write as _};

use super::{Results, fmt_int, fmt_pct, fmt_range, fmt_us, fmt_x};
use crate::{servers::Kind, stats::median_min_max};

/// The scenarios whose spread is shown: (scenario, the prefix of the measured phase's metrics,
/// its rate, what one operation is). The CPU per operation is `<prefix>server_us_per_<op>`.
const SPREAD: [(&str, &str, &str, &str); 4] = [
    ("echo", "", "acks_per_s", "ack"),
    ("polling", "", "acks_per_s", "ack"),
    ("fanout", "", "deliveries_per_s", "delivery"),
    ("chat", "sat_", "msgs_per_s", "msg"),
];

/// The ratios shown per repetition: (scenario, numerator, denominator, rate, CPU per op).
const RATIOS: [(&str, Kind, Kind, &str, &str); 9] = [
    (
        "echo",
        Kind::Ours,
        Kind::RawWs,
        "acks_per_s",
        "server_us_per_ack",
    ),
    (
        "echo",
        Kind::Ours,
        Kind::Sioxide,
        "acks_per_s",
        "server_us_per_ack",
    ),
    (
        "echo",
        Kind::Sioxide,
        Kind::RawWs,
        "acks_per_s",
        "server_us_per_ack",
    ),
    (
        "echo",
        Kind::Ours,
        Kind::Node,
        "acks_per_s",
        "server_us_per_ack",
    ),
    (
        "polling",
        Kind::Ours,
        Kind::Sioxide,
        "acks_per_s",
        "server_us_per_ack",
    ),
    (
        "polling",
        Kind::Ours,
        Kind::Node,
        "acks_per_s",
        "server_us_per_ack",
    ),
    (
        "fanout",
        Kind::Ours,
        Kind::Sioxide,
        "deliveries_per_s",
        "server_us_per_delivery",
    ),
    (
        "fanout",
        Kind::Ours,
        Kind::Node,
        "deliveries_per_s",
        "server_us_per_delivery",
    ),
    (
        "chat",
        Kind::OursChat,
        Kind::NodeChat,
        "sat_msgs_per_s",
        "sat_server_us_per_msg",
    ),
];

/// The range of `v` as a percentage of its median ("—" for fewer than two values).
fn spread(v: &[f64]) -> String {
    match median_min_max(v) {
        Some((m, lo, hi)) if v.len() > 1 && m > 0.0 => format!("{:.1}%", (hi - lo) / m * 100.0),
        _ => "—".into(),
    }
}

fn fmt_probe(v: f64) -> String {
    format!("{v:.1}")
}

impl Results {
    /// `metric` of each run of `scenario` against `kind`, by run number.
    fn by_run(&self, scenario: &str, kind: Kind, metric: &str) -> BTreeMap<usize, f64> {
        self.records
            .iter()
            .filter(|r| r.scenario == scenario && r.kind == kind)
            .filter_map(|r| r.metrics.get(metric).map(|v| (r.run, *v)))
            .collect()
    }

    /// `a / b` in each repetition that measured both.
    fn ratios(&self, scenario: &str, a: Kind, b: Kind, metric: &str) -> Vec<f64> {
        self.ratios_of(scenario, (a, metric), (b, metric))
    }

    /// Per repetition, `a`'s metric over `b`'s (the two may be different metrics of one run).
    fn ratios_of(&self, scenario: &str, (a, ma): (Kind, &str), (b, mb): (Kind, &str)) -> Vec<f64> {
        let den = self.by_run(scenario, b, mb);
        self.by_run(scenario, a, ma)
            .into_iter()
            .filter_map(|(run, x)| den.get(&run).filter(|y| **y > 0.0).map(|y| x / y))
            .collect()
    }

    /// The median over the repetitions of `a / b` (the figure the targets compare).
    pub(super) fn ratio_med(&self, scenario: &str, a: Kind, b: Kind, metric: &str) -> Option<f64> {
        self.ratio_med_of(scenario, (a, metric), (b, metric))
    }

    /// [`Self::ratio_med`] of two different metrics: `a`'s `ma` over `b`'s `mb`.
    pub(super) fn ratio_med_of(
        &self,
        scenario: &str,
        a: (Kind, &str),
        b: (Kind, &str),
    ) -> Option<f64> {
        median_min_max(&self.ratios_of(scenario, a, b)).map(|m| m.0)
    }

    pub(super) fn variation(&self, md: &mut String) {
        md.push_str(
            "## Variation, ratios within a run, and the machine\n\n\
             Each row's figures come from the repetitions of this run. **Range** is (max − min) / median. \
             **Server µs/op** is the server's CPU time (user + system, `/proc/<pid>/stat`) over the measured \
             window divided by the operations in it: it moves less than throughput when the machine's speed \
             or the load generator moves, and it is what a capacity plan needs. **Probe** is a fixed workload \
             (integer arithmetic and dependent loads over 32 MiB) timed on the servers' core just before each \
             server starts: if it moves, the machine moved. **Steal** is CPU time the hypervisor gave to other \
             guests during the window, all cores together; **others on core 0** is work on the server's core \
             that was not the server's. Before each start the harness waits (up to 30 s) until the whole \
             machine is below 8% of a core busy.\n\n\
             | scenario | server | runs | throughput/s | range | server µs/op | range | probe ms | steal | others on core 0 |\n\
             |---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        let mut rows: Vec<(String, &str, &str, &str)> = SPREAD
            .iter()
            .map(|(s, prefix, rate, op)| ((*s).to_owned(), *prefix, *rate, *op))
            .collect();
        for size in &self.plan.sweep_sizes {
            rows.push((format!("sweep-{size}"), "", "deliveries_per_s", "delivery"));
        }
        let (mut any, mut probes) = (false, Vec::new());
        for (scenario, prefix, rate, op) in &rows {
            for kind in self.kinds_of(scenario) {
                let rates = self.values(scenario, kind, &format!("{prefix}{rate}"));
                if rates.is_empty() {
                    continue;
                }
                any = true;
                let cpu = self.values(scenario, kind, &format!("{prefix}server_us_per_{op}"));
                let probe = self.values(scenario, kind, "probe_ms");
                probes.extend_from_slice(&probe);
                let most = |metric: &str| {
                    let v = self.values(scenario, kind, &format!("{prefix}{metric}"));
                    v.iter()
                        .copied()
                        .reduce(f64::max)
                        .map(fmt_pct)
                        .unwrap_or_else(|| "—".into())
                };
                let _ = writeln!(
                    md,
                    "| {scenario} | {} | {} | {} | {} | {} per {op} | {} | {} | {} | {} |",
                    kind.label(),
                    rates.len(),
                    fmt_range(&rates, fmt_int),
                    spread(&rates),
                    fmt_range(&cpu, fmt_us),
                    spread(&cpu),
                    fmt_range(&probe, fmt_probe),
                    most("steal_cpu"),
                    most("core_other_cpu"),
                );
            }
        }
        if !any {
            md.push_str("| — | not measured in this run | | | | | | | | |\n");
        }
        let _ = writeln!(
            md,
            "\nThe probe over the whole run: {} ms, range {} over {} starts.\n",
            fmt_range(&probes, fmt_probe),
            spread(&probes),
            probes.len()
        );
        self.ratio_table(md);
    }

    fn ratio_table(&self, md: &mut String) {
        md.push_str(
            "Ratios within each repetition (both servers measured in the same repetition, minutes apart):\n\n\
             | scenario | ratio | throughput, per run | median | server µs/op, per run | median |\n\
             |---|---|---|---:|---|---:|\n",
        );
        let list = |v: &[f64]| v.iter().map(|r| fmt_x(*r)).collect::<Vec<_>>().join(", ");
        let med = |v: &[f64]| {
            median_min_max(v)
                .map(|m| fmt_x(m.0))
                .unwrap_or_else(|| "—".into())
        };
        for (scenario, a, b, rate, per_op) in RATIOS {
            let t = self.ratios(scenario, a, b, rate);
            if t.is_empty() {
                continue;
            }
            let c = self.ratios(scenario, a, b, per_op);
            let _ = writeln!(
                md,
                "| {scenario} | {} / {} | {} | {} | {} | {} |",
                a.label(),
                b.label(),
                list(&t),
                med(&t),
                list(&c),
                med(&c)
            );
        }
        md.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_is_the_range_over_the_median() {
        assert_eq!(spread(&[90.0, 100.0, 110.0]), "20.0%");
        assert_eq!(spread(&[100.0]), "—");
        assert_eq!(fmt_range(&[3.0, 1.0, 2.0], fmt_probe), "2.0 (1.0–3.0)");
    }
}
