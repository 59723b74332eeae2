//! The report's table of targets: each goal, what was measured, and whether it was met.

use std::fmt::Write as _;

use super::{Results, fmt_int, fmt_ms, fmt_pct, fmt_us, fmt_x};
use crate::servers::Kind;

impl Results {
    pub(super) fn summary(&self, md: &mut String) {
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
        let ours_echo = self.med("echo", Kind::Ours, "acks_per_s");
        let node_echo = self.med("echo", Kind::Node, "acks_per_s");
        let raw_echo = self.med("echo", Kind::RawWs, "acks_per_s");
        let r = self.ratio_med("echo", Kind::Ours, Kind::Node, "acks_per_s");
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
        let r = self.ratio_med("echo", Kind::Ours, Kind::Node, "lat_p99");
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
        let r = self.ratio_med("echo", Kind::Ours, Kind::RawWs, "acks_per_s");
        let raw_gen = self.med("echo", Kind::RawWs, "gen_cpu");
        let raw_bound = raw_gen.is_some_and(|g| g >= 90.0);
        row(
            "echo vs raw WebSocket",
            "≥ 90% of raw, in the same run",
            r.map(|r| {
                let mut t = format!(
                    "{:.0}% (median of the repetitions' ratios; medians {} vs {} acks/s)",
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
            // Against a generator-bound raw figure, only a miss is certain.
            r.and_then(|r| match r >= 0.9 {
                false => Some(false),
                true if raw_bound => None,
                true => Some(true),
            }),
        );
        let c = self.ratio_med("echo", Kind::Ours, Kind::RawWs, "server_us_per_ack");
        row(
            "echo server CPU per ack vs raw",
            "≤ 1.15x raw's",
            c.map(|c| {
                format!(
                    "{} ({} vs {} µs per ack)",
                    fmt_x(c),
                    fmt_us(
                        self.med("echo", Kind::Ours, "server_us_per_ack")
                            .unwrap_or(0.0)
                    ),
                    fmt_us(
                        self.med("echo", Kind::RawWs, "server_us_per_ack")
                            .unwrap_or(0.0)
                    )
                )
            }),
            c.map(|c| c <= 1.15),
        );
        let mut layer: Vec<(String, f64)> = Vec::new();
        for (scenario, metric) in [
            ("echo".to_owned(), "acks_per_s"),
            ("polling".to_owned(), "acks_per_s"),
            ("fanout".to_owned(), "deliveries_per_s"),
        ]
        .into_iter()
        .chain(
            self.plan
                .sweep_sizes
                .iter()
                .map(|n| (format!("sweep-{n}"), "deliveries_per_s")),
        ) {
            if let Some(r) = self.ratio_med(&scenario, Kind::Ours, Kind::Sioxide, metric) {
                layer.push((scenario, r));
            }
        }
        row(
            "our layer vs bare socketioxide",
            "≥ 0.95x bare's throughput on every scenario",
            (!layer.is_empty()).then(|| {
                layer
                    .iter()
                    .map(|(s, r)| format!("{s} {}", fmt_x(*r)))
                    .collect::<Vec<_>>()
                    .join(", ")
            }),
            (!layer.is_empty()).then(|| layer.iter().all(|(_, r)| *r >= 0.95)),
        );
        let marginal = |kind: Kind| {
            self.idle
                .iter()
                .find(|(k, _, _)| *k == kind)
                .and_then(|(_, p, _)| Self::idle_per_conn(p))
                .map(|(_, _, m)| m)
        };
        let (chat, node) = (marginal(Kind::OursChat), marginal(Kind::Node));
        row(
            "idle memory, chat server vs Node",
            "below Node's (KiB per connection, marginal)",
            chat.zip(node)
                .map(|(c, n)| format!("{c:.1} vs {n:.1} KiB per connection")),
            chat.zip(node).map(|(c, n)| c < n),
        );
        let (ours, bare) = (marginal(Kind::Ours), marginal(Kind::Sioxide));
        row(
            "idle memory, our layer vs bare socketioxide",
            "≤ 1 KiB per connection above bare's",
            ours.zip(bare)
                .map(|(o, b)| format!("{o:.1} vs {b:.1} KiB per connection ({:+.1})", o - b)),
            ours.zip(bare).map(|(o, b)| o - b <= 1.0),
        );
        let (of, nf) = (
            self.med("fanout", Kind::Ours, "deliveries_per_s"),
            self.med("fanout", Kind::Node, "deliveries_per_s"),
        );
        let r = self.ratio_med("fanout", Kind::Ours, Kind::Node, "deliveries_per_s");
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
        let r = self.ratio_med("fanout", Kind::Ours, Kind::Node, "fixed_p99");
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
        let r = self.ratio_med("chat", Kind::OursChat, Kind::NodeChat, "sat_msgs_per_s");
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
        let ours = self.med("chat", Kind::OursChat, "equal_delivery_p99");
        let node = self.med("chat", Kind::NodeChat, "half_delivery_p99");
        let r = self.ratio_med_of(
            "chat",
            (Kind::OursChat, "equal_delivery_p99"),
            (Kind::NodeChat, "half_delivery_p99"),
        );
        row(
            "chat delivery p99 at Node's half rate",
            "ours ≤ Node",
            r.map(|r| {
                format!(
                    "{} vs {} ms = {}",
                    fmt_ms(ours.unwrap_or(0.0)),
                    fmt_ms(node.unwrap_or(0.0)),
                    fmt_x(r)
                )
            }),
            r.map(|r| r <= 1.0),
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
}
