// The soak's printed summary: one block per run (counts, errors, memory, CPU, latency table) and
// a final table with one line per run.
import { mib } from './soak-checks.js';
import type { SoakResult } from './soak-run.js';

const int = (n: number) => Math.round(n).toLocaleString('en-US');

function si(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return int(n);
}

function bytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  return `${(n / 1024).toFixed(1)} KiB`;
}

function us(ns: number): string {
  const v = ns / 1000;
  return v < 10 ? v.toFixed(2) : v < 1000 ? v.toFixed(1) : int(v);
}

function table(head: string[], rows: string[][], leftCols = 1): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => r.map((c, i) => (i < leftCols ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ').trimEnd();
  return [fmt(head), ...rows.map(fmt)].join('\n');
}

const transportLabel = (t: string) => (t === 'uring' ? 'io_uring' : '/dev/fuse');

export function runBlock(r: SoakResult): string {
  const m = r.memory;
  const out: string[] = [];
  out.push(`== ${r.target} over ${transportLabel(r.transport)} (${r.connection}): ${r.seconds} s, ${r.clients} clients, seed ${r.seed}: ${r.ok ? 'PASS' : 'FAIL'} ==`);
  out.push(`operations  ${int(r.totalOps)} (${si(r.totalOps / r.daemon.loadSeconds)}/s); errors ${r.errorCount}; ` +
    `written ${bytes(r.bytesWritten)}, read back and verified ${bytes(r.bytesVerified)}`);
  out.push(`shared      log: ${int(r.logRecords)} O_APPEND records, each whole and in order; "hot": replaced by rename ${int(r.hotPublished)} times, read whole ${int(r.hotReads)} times`);
  const held = (b: number) => (r.target === 'memfs' ? ` (${bytes(b)} file data held)` : '');
  out.push(`daemon RSS  ${mib(m.startKiB)} after ${r.warmupSeconds} s warm-up${held(m.storedStartBytes)} → ${mib(m.endKiB)} at the end, ` +
    `every file deleted${held(m.storedEndBytes)}; VmHWM ${mib(m.peakKiB)}${r.target === 'memfs' ? `; file data peaked at ${bytes(m.storedPeakBytes)}` : ''}`);
  const step = Math.max(1, Math.ceil(m.samples.length / 12));
  const series = m.samples.filter((_, i) => i % step === 0).map(([t, kib]) => `${t.toFixed(0)}s ${(kib / 1024).toFixed(0)}`);
  if (series.length) out.push(`            RSS MiB while loaded: ${series.join(', ')}`);
  out.push(`leak check  growth ${r.leak.growthKiB >= 0 ? '+' : ''}${mib(r.leak.growthKiB)}, allowed ${mib(r.leak.allowedKiB)}; ` +
    `fds ${r.fds.start} → ${r.fds.end}; nodes ${int(r.nodes.start)} → ${int(r.nodes.end)}: ${r.leak.ok ? 'ok' : 'FAIL'}`);
  for (const reason of r.leak.reasons) out.push(`            ${reason}`);
  const cpuS = r.daemon.cpuUs / 1e6;
  out.push(`daemon CPU  ${cpuS.toFixed(1)} s in ${r.daemon.loadSeconds.toFixed(1)} s (${Math.round((100 * cpuS) / r.daemon.loadSeconds)} % of one core); ` +
    `${int(r.daemon.requests)} requests, ${(r.daemon.cpuUs / Math.max(1, r.daemon.requests)).toFixed(1)} µs each; ` +
    `${int(r.daemon.errorReplies)} error replies (ENOENT, EEXIST, ENOTEMPTY the clients asked for); clients ${(r.clientCpuUs / 1e6).toFixed(1)} s CPU`);
  out.push('latency per call, µs, measured by the clients:');
  const rows = Object.entries(r.latency).map(([op, l]) => [op, int(l.n), us(l.p50), us(l.p90), us(l.p99), us(l.p999), us(l.max)]);
  out.push(table(['call', 'count', 'p50', 'p90', 'p99', 'p99.9', 'max'], rows).replace(/^/gm, '  '));
  if (r.errors.length) {
    out.push(`errors (${r.errorCount}, first ${Math.min(30, r.errors.length)}):`);
    for (const e of r.errors.slice(0, 30)) out.push(`  ${e}`);
  }
  return out.join('\n');
}

export function summaryTable(results: readonly SoakResult[]): string {
  const rows = results.map((r) => [
    r.target, transportLabel(r.transport), int(r.totalOps), si(r.totalOps / r.daemon.loadSeconds), String(r.errorCount),
    `${(r.memory.startKiB / 1024).toFixed(1)} → ${(r.memory.endKiB / 1024).toFixed(1)}`,
    `${r.leak.growthKiB >= 0 ? '+' : ''}${(r.leak.growthKiB / 1024).toFixed(1)} (${(r.leak.allowedKiB / 1024).toFixed(1)})`,
    (r.daemon.cpuUs / Math.max(1, r.daemon.requests)).toFixed(1),
    r.latency.read ? us(r.latency.read.p99) : '-', r.latency.write ? us(r.latency.write.p99) : '-',
    r.latency.create ? us(r.latency.create.p99) : '-', r.ok ? 'PASS' : 'FAIL',
  ]);
  return table(['target', 'transport', 'calls', 'calls/s', 'errors', 'RSS MiB start → end', 'growth (allowed) MiB',
    'daemon µs/req', 'read p99 µs', 'write p99 µs', 'create p99 µs', 'result'], rows, 2);
}
