// The soak's human-readable summary: one Markdown table (pasteable into docs/SOAK.md) and the
// RSS series condensed to one row per minute of churn.

const fmt = (v) => (v === null || v === undefined ? '-' : typeof v === 'number' ? v.toLocaleString('en-US') : String(v));
const kv = (obj) => (obj && Object.keys(obj).length ? Object.entries(obj).map(([k, v]) => `${k} ${fmt(v)}`).join(', ') : '0');
const round1 = (x) => Math.round(x * 10) / 10;
const sum = (obj) => Object.values(obj || {}).reduce((a, b) => a + b, 0);

export function printTable(s) {
  const m = s.messages;
  const v = s.verdict;
  const r = s.rss;
  const l = s.latencyMs;
  const d = m.deliveredToChurners || {};
  const o = m.deliveredToObservers || {};
  const rows = [
    ['result', `${s.pass ? 'PASS' : 'FAIL'}${s.loadHeld ? '' : ` (WARNING: the load did not hold: live fell to ${fmt(s.population.liveMin)}, ${fmt(s.ackTimeouts)} acks timed out)`}`],
    ['connections (target / live min–mean–max while churning)', `${fmt(s.params.connections)} / ${fmt(s.population.liveMin)}–${fmt(s.population.liveMean)}–${fmt(s.population.liveMax)} (+${s.population.observers} observers)`],
    ['churn phase', `${fmt(s.churnSeconds)} s`],
    ['sessions (total / during churn)', `${fmt(s.sessions.total)} / ${fmt(s.sessions.duringChurnPerSec)} per s`],
    ['transports', kv(s.sessions.transports)],
    ['ended by clients', kv(s.sessions.ended)],
    ['connect errors', kv(s.sessions.connectErrors)],
    ['unexpected disconnects', kv(s.sessions.unexpectedDisconnects)],
    ['join errors', kv(s.sessions.joinErrors)],
    ['messages sent / acked ok / stored', `${fmt(m.sent)} / ${fmt(m.acked)} / ${fmt(m.stored)}`],
    ['send refusals / no ack', `${kv(m.sendErrors)} / ${kv(m.noAck)}`],
    ['stored without an ack (sender left first)', fmt(m.storedWithoutAck)],
    ['delivered to churned clients (live + replayed; presence events)', `${fmt(d.live)} + ${fmt(d.replayed)}; ${fmt(d.presence)}`],
    ['delivered to observers (live + replayed)', `${fmt(o.live)} + ${fmt(o.replayed)}`],
    ['lost / duplicates / out of order (observers)', `${fmt(v.lost)} / ${fmt(v.duplicates)} / ${fmt(v.outOfOrder)}`],
    ['acked but not in history / history gaps', `${fmt(v.ackedMissing)} / ${fmt(v.historyGaps)}`],
    ['gaps / duplicates on churned sockets', `${fmt(v.churnSocketGaps)} / ${fmt(v.churnSocketDuplicates)}`],
    ['ghosts in presence (rooms without their observer)', `${fmt(v.ghosts)} (${fmt(v.roomsWithoutObserver)}), clean ${v.presenceCleanAfterSeconds ?? '-'} s after the last client left`],
    ['observer reconnects', `${fmt(v.observerReconnects)} (${kv(v.observerDisconnects)})`],
    ['server RSS start / peak / end (MiB)', `${fmt(r.startMiB)} / ${fmt(r.peakMiB)} (at +${fmt(r.peakAtSeconds)} s) / ${fmt(r.endMiB)}`],
    ['server RSS slope, second half', `${fmt(r.secondHalfSlopeMiBPerMin)} MiB/min`],
    ['server RSS quarter means (MiB)', r.quarterMeansMiB.map(fmt).join(' / ')],
    ['server RSS: before clients / after all left', `${fmt(r.beforeClientsMiB)} / ${fmt(r.afterClientsLeftMiB)} (VmHWM ${fmt(r.hwmMiB)})`],
    ['CPU while churning: server / clients', `${fmt(s.cpu.serverPct)}% / ${fmt(s.cpu.clientsPct)}% (of one core)`],
    ['waiting for a CPU: server / clients (run-queue delay) / machine CPU pressure', `${fmt(s.cpu.serverRunQueueWaitPct)}% / ${fmt(s.cpu.clientsRunQueueWaitPct)}% / ${fmt(s.cpu.machineCpuPressurePct)}%`],
    ['server open files (peak)', fmt(s.cpu.serverFdsPeak)],
    ['latency ms p50 / p99 / max: session', `${fmt(l.session.p50)} / ${fmt(l.session.p99)} / ${fmt(l.session.p100)}`],
    ['latency ms p50 / p99 / max: join ack', `${fmt(l.join.p50)} / ${fmt(l.join.p99)} / ${fmt(l.join.p100)}`],
    ['latency ms p50 / p99 / max: send ack', `${fmt(l.sendAck.p50)} / ${fmt(l.sendAck.p99)} / ${fmt(l.sendAck.p100)}`],
    ['probe (unloaded client) ms p50 / p99 / max: send ack; history', `${fmt(l.probeSend.p50)} / ${fmt(l.probeSend.p99)} / ${fmt(l.probeSend.p100)}; ${fmt(l.probeHistory.p50)} / ${fmt(l.probeHistory.p99)} / ${fmt(l.probeHistory.p100)} (${fmt(l.probeTimeouts)} over 120 s)`],
    ['probe ms p50 / p99 / max: its message stored (ts); back live on the same socket', `${fmt(l.probeStored.p50)} / ${fmt(l.probeStored.p99)} / ${fmt(l.probeStored.p100)}; ${fmt(l.probeEcho.p50)} / ${fmt(l.probeEcho.p99)} / ${fmt(l.probeEcho.p100)}`],
    ['churn workers\' event-loop lag, worst per 5 s sample, ms p50 / p99 / max', `${fmt(l.clientEventLoopLagMaxMs.p50)} / ${fmt(l.clientEventLoopLagMaxMs.p99)} / ${fmt(l.clientEventLoopLagMaxMs.p100)}`],
  ];
  const lines = ['| | |', '|---|---|', ...rows.map(([k, val]) => `| ${k} | ${val} |`)];
  console.log(`\n${lines.join('\n')}\n`);

  // RSS per minute of churn (the sample nearest each minute mark).
  const churn = s.samples.filter((x) => x.phase === 'churn');
  if (churn.length) {
    const start = churn[0].t;
    const out = ['| minute | live | server RSS MiB | server CPU % | fds | probe ack ms | probe echo ms | worker lag ms |', '|---:|---:|---:|---:|---:|---:|---:|---:|'];
    const span = churn.at(-1).t - start;
    const marks = Array.from({ length: Math.floor(span / 60 + 0.05) + 1 }, (_, k) => 60 * k);
    if (span - marks.at(-1) > 10) marks.push(span);
    for (const at of marks) {
      const near = churn.reduce((b, x) => (Math.abs(x.t - start - at) < Math.abs(b.t - start - at) ? x : b), churn[0]);
      out.push(`| ${round1(at / 60)} | ${fmt(near.live)} | ${fmt(near.rssMiB)} | ${fmt(near.cpuPct)} | ${fmt(near.fds)} | ${fmt(near.probeSendMs)} | ${fmt(near.probeEchoMs)} | ${fmt(near.clientLagMaxMs)} |`);
    }
    console.log(`${out.join('\n')}\n`);
  }
  if (s.examples.length) console.log(`examples of anomalies:\n  ${s.examples.join('\n  ')}\n`);
  if (s.ghostExamples.length) console.log(`ghosts:\n  ${s.ghostExamples.map((g) => JSON.stringify(g)).join('\n  ')}\n`);
  if (sum(s.sessions.connectErrors) || sum(s.sessions.unexpectedDisconnects)) {
    console.log('note: connection errors or unexpected disconnects happened (see above)');
  }
}
