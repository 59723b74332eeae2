//! The report's scenario sections: what each measures, its tables and charts.

use std::{fmt::Write as _, path::Path, time::Duration};

use super::{Results, fmt_int, fmt_ms, fmt_pct, fmt_us};
use crate::{
    chart::{self, Series},
    eio::Result,
    servers::Kind,
    stats::median_min_max,
};

impl Results {
    pub(super) fn sections(&self, md: &mut String, chart_dir: &Path, rel: &str) -> Result<()> {
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
                ("server µs/ack", "server_us_per_ack", fmt_us),
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
                ("server µs/ack", "server_us_per_ack", fmt_us),
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
                ("server µs/delivery", "server_us_per_delivery", fmt_us),
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
                ("server µs/delivery", "fixed_server_us_per_delivery", fmt_us),
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
                ("server µs/msg", "sat_server_us_per_msg", fmt_us),
                ("server µs/delivery", "sat_server_us_per_delivery", fmt_us),
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
                ("server µs/msg", "half_server_us_per_msg", fmt_us),
                ("generator CPU", "half_gen_cpu", fmt_pct),
            ],
        );
        md.push_str(
            "At Node's half rate (ours only: the same open loop at the rate Node's half load offered in \
             that repetition, so both servers' latencies are taken under the same load):\n\n",
        );
        self.table(
            md,
            "chat",
            &[
                ("msgs/s", "equal_msgs_per_s", fmt_int),
                ("delivery p50 ms", "equal_delivery_p50", fmt_ms),
                ("delivery p99 ms", "equal_delivery_p99", fmt_ms),
                ("delivery max ms", "equal_delivery_max", fmt_ms),
                ("server CPU", "equal_server_cpu", fmt_pct),
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
}
