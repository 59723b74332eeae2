//! The report's opening: the machine, the versions and the servers measured.

use std::fmt::Write as _;

use super::{Results, cmd_output, loadavg, npm_version};

impl Results {
    pub(super) fn header(&self, md: &mut String) {
        let cpu = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let model = cpu
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
            .unwrap_or_else(|| "unknown".into());
        let cores = cpu.lines().filter(|l| l.starts_with("processor")).count();
        let mem = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines()
                    .find_map(|l| l.strip_prefix("MemTotal:"))
                    .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            })
            .map(|kib| format!("{:.1} GiB", kib / 1024.0 / 1024.0))
            .unwrap_or_else(|| "unknown".into());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_owned())
            .unwrap_or_default();
        let p = &self.plan;
        let _ = write!(
            md,
            "# Benchmarks\n\n\
             {}Measured by the harness in [`bench/`](../bench) on {date}. \
             Regenerate with one command: `bash bench/run.sh` (this run took {mins} minutes; \
             `bash bench/run.sh --smoke` runs every scenario with tiny loads in about a minute, for CI).\n\n\
             Every figure is measured in the same run, with the servers alternating: for each \
             repetition, every server in turn, each freshly started. Figures are the **median of \
             {runs} runs (min–max)** unless a scenario says otherwise.\n\n\
             ## Machine and versions\n\n\
             | | |\n|---|---|\n\
             | CPU | {model}, {cores} cores (`nproc`) |\n\
             | memory | {mem} |\n\
             | kernel | Linux {kernel} |\n\
             | pinning | server under test on core 0 (`taskset -c 0`), load generator on core 1 (`taskset -c 1`){pin} |\n\
             | open files | {fds} per process (`ulimit -n`) |\n\
             | load average (1, 5, 15 min) | {load0} at the start, {load1} at the end (other work on the machine shows here) |\n\
             | Rust | {rustc} |\n\
             | socketioxide | 0.18.9 (ours and the bare reference) |\n\
             | Node.js | {node} |\n\
             | socket.io (Node) | {sio} |\n\
             | better-sqlite3 | {bsql} |\n\n",
            if p.smoke {
                "**Smoke run: tiny loads, the figures mean nothing.** "
            } else {
                ""
            },
            date = self
                .date
                .clone()
                .unwrap_or_else(|| cmd_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"])),
            mins = (self.total.as_secs_f64() / 60.0).round().max(1.0),
            runs = p.runs,
            pin = if self.env.taskset {
                ""
            } else {
                " — **not pinned: taskset missing**"
            },
            fds = crate::fd_limit(),
            load0 = self.load_start,
            load1 = self.load_end.clone().unwrap_or_else(loadavg),
            rustc = cmd_output("rustc", &["--version"]),
            node = if self.env.node {
                cmd_output("node", &["--version"])
            } else {
                "not used".into()
            },
            sio = npm_version(&self.env, "socket.io"),
            bsql = npm_version(&self.env, "better-sqlite3"),
        );
        let _ = write!(
            md,
            "## Servers\n\n\
             | name | what | command (all on 127.0.0.1, port picked by the OS) |\n|---|---|---|\n\
             | ours (socketioxide app) | this project's Socket.IO stack: the conformance profile, built by the same app builder as the chat server (`/`: `message-with-ack` acks its arguments; `/harness`: `join`, `to`) | `taskset -c 0 target/release/examples/conformance --port 0 --ping-interval-ms 25000 --ping-timeout-ms 20000 --connect-timeout-ms 45000 --log-filter warn` |\n\
             | ours (chat server) | the chat server on embedded defaults (SQLite file, `synchronous=full`), rate limit raised | `taskset -c 0 target/release/server --port 0 --data-dir DIR --static-dir NONE --log-filter warn --rate-limit-per-sec 1000000 --rate-limit-burst 1000000` (+ `--llm-base-url http://127.0.0.1:P/v1` for the bot) |\n\
             | node socket.io 4.8 | the same handlers in Node (`bench/node-reference/server.js`) | `taskset -c 0 node bench/node-reference/server.js --port 0` |\n\
             | node socket.io 4.8 + better-sqlite3 | the chat subset (guests, `create`, `join`, `send` with per-room `seq` in a transaction, `message` to the room) on better-sqlite3, WAL, prepared statements, `synchronous=FULL` like ours | `taskset -c 0 node bench/node-reference/server.js --port 0 --chat --data-dir DIR` |\n\
             | bare socketioxide | reference (b): socketioxide 0.18.9 with library defaults (`SocketIo::new_layer()`) behind axum, same handlers | `taskset -c 0 target/release/sioxide-ref --port 0` |\n\
             | raw tokio-tungstenite | reference (c): a WebSocket server that speaks the same Engine.IO/Socket.IO framing by string slicing (no JSON, no rooms, no timers; 4 KiB read buffer like socketioxide’s engine) | `taskset -c 0 target/release/raw-ws-ref --port 0` |\n\n\
             The load generator (`target/release/bench`, one thread) speaks Engine.IO v4 / Socket.IO v5 itself \
             over tokio-tungstenite (and over HTTP/1.1 long-polling for one scenario), with the framing written by hand. \
             Each payload carries its send time (µs on the generator's monotonic clock) as a stamp `~<µs>_<seq>~`; \
             latencies go into HDR histograms (`hdrhistogram`, 3 significant digits). Open-loop phases stamp the \
             *intended* send time, so a server that falls behind shows it (no coordinated omission). Clients connect from \
             127.0.0.2–127.0.0.17 in turn (bind before connect) so ephemeral ports never run out.\n\n"
        );
    }
}
