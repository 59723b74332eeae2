//! The cluster section of the report: `bench cluster`'s figures as tables, kept in
//! `docs/BENCHMARKS.md` between two markers so that the main report (`bench all`,
//! `bench report`) and the cluster run each rewrite only their own part.

use std::{fmt::Write as _, path::Path};

use crate::{
    Plan,
    cluster::{SETUPS, Setup},
    eio::Result,
    stats::{Metrics, median_min_max},
};

/// Where the section starts and ends in the report.
pub const START: &str = "<!-- cluster section: written by `bench cluster` -->";
/// Where it ends.
pub const END: &str = "<!-- end of the cluster section -->";

fn median(
    records: &[(Setup, &str, Metrics)],
    setup: Setup,
    scenario: &str,
    key: &str,
) -> Option<f64> {
    let values: Vec<f64> = records
        .iter()
        .filter(|(s, sc, _)| s.label == setup.label && *sc == scenario)
        .filter_map(|(_, _, m)| m.get(key).copied())
        .collect();
    median_min_max(&values).map(|(med, _, _)| med)
}

fn int(v: Option<f64>) -> String {
    v.map_or_else(|| "–".into(), |v| format!("{:.0}", v))
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "–".into(), |v| format!("{v:.1}"))
}

/// CPU time per unit, in µs, from a percent of a core and a rate per second.
fn per(cpu_pct: Option<f64>, rate: Option<f64>) -> Option<f64> {
    match (cpu_pct, rate) {
        (Some(c), Some(r)) if r > 0.0 => Some(c / 100.0 / r * 1e6),
        _ => None,
    }
}

/// The section's Markdown.
pub fn cluster_section(
    plan: &Plan,
    records: &[(Setup, &str, Metrics)],
    failed: &[String],
) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "## Cluster: one node and three\n");
    let _ = writeln!(
        md,
        "`bash bench/run.sh cluster` ({} run(s), medians). The nodes all run on core 0 (two cores \
         here: one core per node is not possible), the load generator on core 1; Redis 7 and \
         PostgreSQL are the machine's services, unpinned, their CPU counted apart (\"services\"). \
         Clients are spread evenly over the nodes; with three nodes two deliveries in three cross \
         nodes through Redis (\"cross-node\"). CPU per message counts the nodes only; per delivery \
         it counts nodes and services.\n",
        plan.runs
    );
    let _ = writeln!(
        md,
        "**Chat**: {} clients in {} rooms, each sending `send` with an ack, closed loop \
         (saturation), then open loop at half that rate (latency).\n",
        plan.chat_clients, plan.chat_rooms
    );
    md.push_str("| set-up | msgs/s (sat.) | deliveries/s | nodes CPU | services CPU | nodes µs/msg | ack p50 / p99 ms (half) | delivery p50 / p99 ms (half) | cross-node p50 / p99 ms (half) | RSS MiB |\n");
    md.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for s in SETUPS {
        let m = |k: &str| median(records, s, "chat", k);
        let _ = writeln!(
            md,
            "| {} | {} | {} | {}% | {} | {} | {} / {} | {} / {} | {} / {} | {} |",
            s.label,
            int(m("sat_msgs_per_s")),
            int(m("sat_deliveries_per_s")),
            int(m("sat_server_cpu")),
            m("sat_services_cpu").map_or_else(|| "–".into(), |v| format!("{v:.0}%")),
            ms(per(m("sat_server_cpu"), m("sat_msgs_per_s"))),
            ms(m("half_ack_p50")),
            ms(m("half_ack_p99")),
            ms(m("half_delivery_p50")),
            ms(m("half_delivery_p99")),
            ms(m("half_cross_delivery_p50")),
            ms(m("half_cross_delivery_p99")),
            ms(m("rss_end_mib")),
        );
    }
    let _ = writeln!(
        md,
        "\n**Flood**: one writer sends {} messages back to back into a room of {} members (the \
         writer on the first node, every node with `--max-pending-events 4096` so that all of \
         them may be in flight); every member counts what it receives.\n",
        plan.flood, plan.fan_members
    );
    md.push_str("| set-up | deliveries/s | p50 / p99 ms | lost | duplicates | replayed | nodes + services CPU µs/delivery |\n");
    md.push_str("|---|---:|---:|---:|---:|---:|---:|\n");
    for s in SETUPS {
        let m = |k: &str| median(records, s, "flood", k);
        let cpu = match (m("flood_server_cpu_s"), m("flood_received")) {
            (Some(c), Some(n)) if n > 0.0 => {
                Some((c + m("flood_services_cpu_s").unwrap_or(0.0)) / n * 1e6)
            }
            _ => None,
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} / {} | {} | {} | {} | {} |",
            s.label,
            int(m("flood_deliveries_per_s")),
            ms(m("flood_p50")),
            ms(m("flood_p99")),
            int(m("flood_lost")),
            int(m("flood_duplicates")),
            int(m("flood_replayed")),
            ms(cpu),
        );
    }
    for f in failed {
        let _ = writeln!(md, "\n**Failed**: {f}");
    }
    md
}

/// Puts `section` between the markers of the report at `out` (at its end when it has none).
pub fn put_cluster_section(out: &Path, section: &str) -> Result<()> {
    let current = std::fs::read_to_string(out).unwrap_or_default();
    let block = format!("{START}\n{section}{END}\n");
    let next = match (current.find(START), current.find(END)) {
        (Some(a), Some(b)) if b > a => {
            format!(
                "{}{block}{}",
                &current[..a],
                current[b + END.len()..].trim_start_matches('\n')
            )
        }
        _ => format!("{}\n\n{block}", current.trim_end()),
    };
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(out, next)?;
    Ok(())
}

/// The cluster section of the report at `out`, markers included, if it has one.
pub fn kept_section(out: &Path) -> Option<String> {
    let current = std::fs::read_to_string(out).ok()?;
    let a = current.find(START)?;
    let b = current.find(END)?;
    (b > a).then(|| format!("{}\n", &current[a..b + END.len()]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_section_replaces_its_old_self_and_nothing_else() {
        let dir = std::env::temp_dir().join(format!("cluster-report-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let out = dir.join("B.md");
        std::fs::write(&out, "# Report\n\ntext\n").expect("write");
        put_cluster_section(&out, "one\n").expect("first");
        put_cluster_section(&out, "two\n").expect("second");
        let md = std::fs::read_to_string(&out).expect("read");
        assert_eq!(md, format!("# Report\n\ntext\n\n{START}\ntwo\n{END}\n"));
        assert_eq!(kept_section(&out), Some(format!("{START}\ntwo\n{END}\n")));
        std::fs::remove_dir_all(&dir).ok();
    }
}
