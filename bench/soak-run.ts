// One soak run: mount a target, start N soak clients (bench/soak-client.c) on it for a fixed time,
// sample the daemon while they run, check what they shared, wait until the daemon is idle with
// every file deleted, and judge: zero errors, nothing lost or torn, no growth beyond the leak
// bound, a clean unmount. Used by bench/soak.ts (npm run soak) and test/mount/soak.test.ts.
import { spawn, execFileSync } from 'node:child_process';
import { mkdir, readFile, readdir, rmdir, statfs, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkLog, leakVerdict, type LeakVerdict } from './soak-checks.js';
import { SoakDaemon, type SoakTarget, type SoakTransport, type StopReport } from './soak-daemon.js';
import { mergeOps, type ClientHist, type Latency } from './soak-hist.js';

const BENCH = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench');
const CLIENT_SOURCES = ['soak-client.c', 'soak-model.c', 'soak-data.c', 'soak-names.c', 'soak-shared.c'];

/** Compiles the soak client (bench/soak-client.c and the files it names) into `outDir` with the system compiler. */
export function buildClient(outDir: string): string {
  const bin = join(outDir, 'soak-client');
  execFileSync('cc', ['-O2', '-Wall', '-o', bin, ...CLIENT_SOURCES.map((f) => join(BENCH, f))], { stdio: 'inherit' });
  return bin;
}

export interface SoakOptions {
  target: SoakTarget;
  transport: SoakTransport;
  /** How long the clients run. */
  seconds: number;
  clients: number;
  seed: number;
  clientBin: string;
  /** O_DIRECT reads and writes among the operations (default on). */
  odirect?: boolean;
  log?: (line: string) => void;
}

/** What one client prints when it is done (see report() in soak-client.c). */
export interface ClientReport {
  id: number; seconds: number; cpu_us: number; errors: number; messages: string[];
  bytes_written: number; bytes_verified: number; log_records: number; hot_published: number; hot_reads: number;
  ops: Record<string, ClientHist>;
}

export interface SoakResult {
  target: SoakTarget;
  transport: SoakTransport;
  /** What was negotiated, e.g. "io_uring, 2 queues × 32, passthrough on". */
  connection: string;
  seconds: number;
  clients: number;
  seed: number;
  warmupSeconds: number;
  /** Per system call type: count and latency percentiles in ns, measured by the clients. */
  latency: Record<string, Latency>;
  totalOps: number;
  /** Every fault found, by the clients and by the checks here; errorCount counts those not listed too. */
  errors: string[];
  errorCount: number;
  bytesWritten: number;
  bytesVerified: number;
  logRecords: number;
  hotPublished: number;
  hotReads: number;
  memory: {
    startKiB: number; endKiB: number; peakKiB: number; storedStartBytes: number; storedPeakBytes: number; storedEndBytes: number;
    /** VmRSS about once a second while the clients ran: [seconds since they started, KiB]. */
    samples: [number, number][];
  };
  fds: { start: number; end: number };
  nodes: { start: number; end: number };
  leak: LeakVerdict;
  /** Over the load phase (first client started → last one done). */
  daemon: { cpuUs: number; loadSeconds: number; requests: number; errorReplies: number; pendingEnd: number };
  clientCpuUs: number;
  stop: StopReport;
  ok: boolean;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** `p`, or a rejection after `ms`: a call into a hung mount must not hang the run (the teardown then ends it). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms); });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

interface Running { id: number; pid: number; out: string; err: string; exit?: { code: number | null; signal: NodeJS.Signals | null }; done: Promise<void>; kill(): void }

function startClient(bin: string, mnt: string, id: number, o: SoakOptions): Running {
  const p = spawn(bin, [mnt, String(id), String(o.seconds), String(o.seed), o.odirect === false ? '0' : '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const r: Running = {
    id, pid: p.pid!, out: '', err: '',
    done: new Promise((ok) => p.on('close', (code, signal) => { r.exit = { code, signal }; ok(); })),
    kill: () => { if (!r.exit) p.kill('SIGKILL'); },
  };
  p.stdout.setEncoding('utf8').on('data', (s: string) => { r.out += s; });
  p.stderr.setEncoding('utf8').on('data', (s: string) => { r.err += s; if (o.log) for (const l of s.trimEnd().split('\n')) o.log(l); });
  return r;
}

/** memfs: bytes of file data held and inodes, from statfs (a STATFS request, answered by the daemon). */
async function memfsUsage(mnt: string): Promise<{ bytes: number; inodes: number }> {
  const s = await statfs(mnt);
  return { bytes: (s.blocks - s.bfree) * s.bsize, inodes: s.files - s.ffree };
}

export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const log = o.log ?? (() => {});
  const warmupSeconds = Math.min(15, Math.max(3, Math.round(o.seconds * 0.25)));
  const errors: string[] = [];
  let extraErrors = 0;
  const d = await SoakDaemon.start(o.target, o.transport);
  const memfs = o.target === 'memfs';
  const usage = async () => (memfs ? within(memfsUsage(d.mnt), 10_000, 'statfs of the mount') : { bytes: 0, inodes: 0 });
  const nodes = async (c?: { mirror?: Record<string, number> }) => (memfs ? (await usage()).inodes : c?.mirror?.nodes ?? 0);
  let clients: Running[] = [];
  const mem: SoakResult['memory'] = { startKiB: NaN, endKiB: NaN, peakKiB: NaN, storedStartBytes: 0, storedPeakBytes: 0, storedEndBytes: 0, samples: [] };
  const fds = { start: 0, end: 0 };
  const nodeCount = { start: 0, end: 0 };
  const daemon = { cpuUs: 0, loadSeconds: 0, requests: 0, errorReplies: 0, pendingEnd: 0 };
  const reports: ClientReport[] = [];
  let stop: StopReport;
  try {
    log(`${o.target} over ${o.transport}: mounted at ${d.mnt} (${d.describe()}), daemon pid ${d.pid}`);
    await within(mkdir(join(d.mnt, 'shared')), 10_000, 'mkdir in the mount');
    const c0 = await d.counters();
    const cpu0 = d.cpuUs();
    const t0 = Date.now();
    clients = Array.from({ length: o.clients }, (_, id) => startClient(o.clientBin, d.mnt, id, o));
    const allDone = Promise.all(clients.map((c) => c.done));
    let finished = false;
    void allDone.then(() => { finished = true; });

    // Warm-up, then the start sample; afterwards watch memfs's stored data for its peak.
    const deadline = t0 + (o.seconds + 90) * 1000;
    let sampled = false;
    while (!finished && Date.now() < deadline) {
      await Promise.race([allDone, sleep(250)]);
      if (finished) break;
      const u = await usage();
      if (!sampled && Date.now() - t0 >= warmupSeconds * 1000) {
        sampled = true;
        const c = await d.counters();
        mem.startKiB = d.memory().rssKiB;
        mem.storedStartBytes = u.bytes;
        fds.start = c.fds;
        nodeCount.start = await nodes(c);
        log(`${o.target}: after ${warmupSeconds} s warm-up: RSS ${(mem.startKiB / 1024).toFixed(1)} MiB, ${(u.bytes / 2 ** 20).toFixed(1)} MiB of file data, ${fds.start} fds, ${nodeCount.start} nodes`);
      }
      if (sampled) mem.storedPeakBytes = Math.max(mem.storedPeakBytes, u.bytes);
      const at = (Date.now() - t0) / 1000;
      if (at >= mem.samples.length) mem.samples.push([Math.round(at * 10) / 10, d.memory().rssKiB]);
    }
    if (!finished) {
      errors.push(`clients still running ${o.seconds + 90} s after they started: a request hangs (killed)`);
      for (const c of clients) c.kill();
      await d.stop();
      await Promise.race([allDone, sleep(10_000)]);
    }
    daemon.loadSeconds = (Date.now() - t0) / 1000;
    daemon.cpuUs = d.cpuUs() - cpu0;
    if (!sampled) errors.push(`the run ended before the warm-up (${warmupSeconds} s) did: no start sample`);

    for (const c of clients) {
      const line = c.out.trim().split('\n').pop() ?? '';
      if (c.exit?.code !== 0) errors.push(`client ${c.id} ended with ${JSON.stringify(c.exit)}: ${c.err.trim().split('\n').slice(-3).join(' | ')}`);
      try {
        const r = JSON.parse(line) as ClientReport;
        reports.push(r);
        errors.push(...r.messages.map((m) => `client ${r.id}: ${m}`));
        extraErrors += r.errors - r.messages.length;
      } catch {
        if (c.exit?.code === 0) errors.push(`client ${c.id} printed no report: ${JSON.stringify(line.slice(0, 200))}`);
      }
    }

    if (d.alive) {
      const c1 = await d.counters();
      daemon.requests = c1.requests - c0.requests;
      daemon.errorReplies = c1.errors - c0.errors;
      const shared = join(d.mnt, 'shared');
      try {
        const appended = clients.map((c) => reports.find((r) => r.id === c.id)?.log_records ?? 0);
        await within((async () => {
          errors.push(...checkLog(await readFile(join(shared, 'log')), appended));
          for (const name of await readdir(shared)) await unlink(join(shared, name));
          await rmdir(shared);
          const left = await readdir(d.mnt);
          if (left.length) errors.push(`left in the mount after every client cleaned up: ${left.join(', ')}`);
        })(), 30_000, 'checking and removing the shared files');
      } catch (e) {
        errors.push(`checking and removing the shared directory: ${(e as Error).message}`);
      }
      // Idle: the last FORGETs of deleted files may still be on their way.
      let last = '';
      for (let i = 0; i < 25; i++) {
        const c = await d.counters();
        const n = await nodes(c);
        const u = await usage();
        const now = JSON.stringify([c.pending, n, u.bytes, c.fds]);
        if (now === last && c.pending === 0) break;
        last = now;
        await sleep(200);
      }
      const cEnd = await d.counters();
      const m = d.memory();
      const u = await usage();
      mem.endKiB = m.rssKiB;
      mem.peakKiB = m.hwmKiB;
      mem.storedEndBytes = u.bytes;
      fds.end = cEnd.fds;
      nodeCount.end = await nodes(cEnd);
      daemon.pendingEnd = cEnd.pending;
      if (cEnd.pending !== 0) errors.push(`${cEnd.pending} requests still pending in the daemon after the clients ended`);
      if (memfs && u.bytes !== 0) errors.push(`memfs still holds ${u.bytes} bytes of file data after every file was deleted`);
    }
  } catch (e) {
    errors.push(`soak run: ${(e as Error).stack ?? String(e)}`);
  } finally {
    for (const c of clients) c.kill();
    stop = await d.stop();
  }
  const daemonErr = d.stderr().split('\n').filter((l) => l.trim() !== '' && !/^daemon: SIG(TERM|INT), unmounting$/.test(l));
  if (daemonErr.length) errors.push(`daemon stderr: ${daemonErr.slice(0, 10).join(' | ')}`);
  if (stop.exit.code !== 0 || !stop.closedOk || stop.leftMounted) errors.push(`unclean stop of the daemon: ${JSON.stringify(stop)}`);

  const leak = leakVerdict({
    rssStartKiB: mem.startKiB, rssEndKiB: mem.endKiB, storedStartBytes: mem.storedStartBytes, storedPeakBytes: mem.storedPeakBytes,
    fdsStart: fds.start, fdsEnd: fds.end, nodesStart: nodeCount.start, nodesEnd: nodeCount.end,
  });
  const merged = mergeOps(reports);
  const latency: Record<string, Latency> = {};
  for (const [op, h] of [...merged].sort((a, b) => b[1].n - a[1].n)) latency[op] = h.latency();
  const sum = (f: (r: ClientReport) => number) => reports.reduce((a, r) => a + f(r), 0);
  return {
    target: o.target, transport: o.transport, connection: d.ready ? d.describe() : '?', seconds: o.seconds, clients: o.clients,
    seed: o.seed, warmupSeconds, latency, totalOps: Object.values(latency).reduce((a, l) => a + l.n, 0),
    errors, errorCount: errors.length + extraErrors,
    bytesWritten: sum((r) => r.bytes_written), bytesVerified: sum((r) => r.bytes_verified), logRecords: sum((r) => r.log_records),
    hotPublished: sum((r) => r.hot_published), hotReads: sum((r) => r.hot_reads),
    memory: mem, fds, nodes: nodeCount, leak, daemon, clientCpuUs: sum((r) => r.cpu_us), stop,
    ok: errors.length + extraErrors === 0 && leak.ok,
  };
}
