// The daemon a soak run loads: test/fixtures/daemon.ts serving memfs, or mirror over a fresh
// source directory (with FUSE passthrough when root, or without), on a fresh mount point. It
// speaks JSON lines on stdout; SIGUSR2 makes it print its counters (requests, error replies,
// handlers pending, open fds, the mirror's node and fd-cache counts). Its memory and CPU time come
// from /proc. Only the process started here is ever signalled; the mount point and source are
// removed in stop(), or at exit if the caller never got there.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { processCpuUs } from './targets.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIXTURE = join(ROOT, 'dist', 'test', 'fixtures', 'daemon.js');

export type SoakTarget = 'memfs' | 'mirror' | 'mirror-nopt';
export type SoakTransport = 'uring' | 'dev';
export const SOAK_TARGETS: readonly SoakTarget[] = ['memfs', 'mirror', 'mirror-nopt'];

export interface DaemonCounters {
  requests: number;
  /** Error replies (ENOENT for a missing name counts: the clients ask for some on purpose). */
  errors: number;
  pending: number;
  fds: number;
  mirror?: Record<string, number>;
}

export interface DaemonMemory { rssKiB: number; hwmKiB: number }

export interface StopReport {
  exit: { code: number | null; signal: NodeJS.Signals | null };
  /** It printed {"event":"closed","ok":true}. */
  closedOk: boolean;
  /** The mount was still there after the daemon ended: the teardown had to umount -l it. */
  leftMounted: boolean;
}

interface ReadyEvent { event: 'ready'; transport: string; queues: number; queueDepth: number; maxWrite: number; passthrough?: boolean }

const live = new Set<SoakDaemon>();

function mounted(target: string): boolean {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => unescape(l.split(' ')[1] ?? '') === target);
}

function lazyUnmount(target: string): void {
  try { execFileSync('umount', ['-l', target], { stdio: 'ignore', timeout: 10_000 }); } catch { /* already gone */ }
}

export class SoakDaemon {
  private out = '';
  private err = '';
  private cursor = 0;
  private events: Record<string, unknown>[] = [];
  private statsSeq = 0;
  private exitInfo: StopReport['exit'] | undefined;
  private readonly waiters = new Set<() => void>();
  private stopping: Promise<StopReport> | undefined;
  readonly pid: number;
  ready!: ReadyEvent;

  private constructor(readonly target: SoakTarget, readonly transport: SoakTransport, readonly mnt: string,
    readonly source: string | undefined, private readonly child: ChildProcess) {
    this.pid = child.pid!;
    child.stdout!.setEncoding('utf8').on('data', (s: string) => { this.out += s; this.parse(); this.wake(); });
    child.stderr!.setEncoding('utf8').on('data', (s: string) => { this.err += s; this.wake(); });
    child.on('exit', (code, signal) => { this.exitInfo = { code, signal }; this.wake(); });
    live.add(this);
  }

  /** Mounts `target` over `transport`; rejects (having cleaned up) if it is not ready in 20 s. */
  static async start(target: SoakTarget, transport: SoakTransport): Promise<SoakDaemon> {
    const base = realpathSync(tmpdir());
    const mnt = mkdtempSync(join(base, 'fuse-uring-soak-'));
    const source = target === 'memfs' ? undefined : mkdtempSync(join(base, 'fuse-uring-soak-src-'));
    const args = [FIXTURE, '--transport', transport, '--mnt', mnt];
    if (source === undefined) args.push('--fs', 'memfs');
    else args.push('--fs', 'mirror', '--source', source, ...(target === 'mirror-nopt' ? ['--no-passthrough'] : []));
    // UV_USE_IO_URING=0: the daemon's only io_uring is then the library's own ring.
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, UV_USE_IO_URING: '0' } });
    if (child.pid === undefined) throw new Error(`could not start ${FIXTURE}`);
    const d = new SoakDaemon(target, transport, mnt, source, child);
    try {
      d.ready = await d.waitEvent((e) => e.event === 'ready', 'the ready line', 20_000) as unknown as ReadyEvent;
    } catch (e) {
      await d.stop();
      throw e;
    }
    return d;
  }

  get alive(): boolean { return this.exitInfo === undefined; }
  stderr(): string { return this.err; }

  /** What was negotiated, for the report: "2 queues × 32", "passthrough on", "max_write 1 MiB". */
  describe(): string {
    const r = this.ready;
    const parts = [r.transport === 'uring' ? `io_uring, ${r.queues} queues × ${r.queueDepth}` : `/dev/fuse, ${r.queueDepth} buffers`];
    if (this.target !== 'memfs') parts.push(r.passthrough ? 'passthrough on' : 'passthrough off');
    return parts.join(', ');
  }

  private wake(): void { for (const w of [...this.waiters]) w(); }

  private parse(): void {
    let nl: number;
    while ((nl = this.out.indexOf('\n', this.cursor)) >= 0) {
      const line = this.out.slice(this.cursor, nl);
      this.cursor = nl + 1;
      if (!line.startsWith('{')) continue;
      try { this.events.push(JSON.parse(line) as Record<string, unknown>); } catch { /* not ours */ }
    }
  }

  private waitEvent(match: (e: Record<string, unknown>) => boolean, what: string, ms: number): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const done = (f: () => void) => { clearTimeout(timer); this.waiters.delete(check); f(); };
      const check = () => {
        const e = this.events.find(match);
        if (e) return done(() => resolve(e));
        if (!this.alive) done(() => reject(new Error(`the ${this.target} daemon exited (${JSON.stringify(this.exitInfo)}) before ${what}: ${this.err.trim()}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`the ${this.target} daemon: no ${what} within ${ms} ms: ${this.err.trim()}`))), ms);
      this.waiters.add(check);
      check();
    });
  }

  /** The daemon's own counters (SIGUSR2 → one stats line). */
  async counters(): Promise<DaemonCounters> {
    const seq = ++this.statsSeq;
    this.child.kill('SIGUSR2');
    const e = await this.waitEvent((x) => x.event === 'stats' && x.seq === seq, 'a stats line', 10_000);
    const s = e.session as { requests: number; errors: number; pending: number };
    return { requests: s.requests, errors: s.errors, pending: s.pending, fds: e.fds as number, mirror: e.mirror as Record<string, number> | undefined };
  }

  /** VmRSS and VmHWM (peak) from /proc/<pid>/status. */
  memory(): DaemonMemory {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssKiB: kib('VmRSS'), hwmKiB: kib('VmHWM') };
  }

  /** CPU time of all its threads so far, µs. */
  cpuUs(): number {
    return processCpuUs(this.pid);
  }

  /** SIGTERM (the fixture unmounts and exits 0), 10 s, then umount -l and SIGKILL if needed. */
  stop(): Promise<StopReport> {
    return (this.stopping ??= this.teardown());
  }

  private async teardown(): Promise<StopReport> {
    const exited = () => new Promise<void>((ok) => {
      if (!this.alive) return ok();
      const t = setTimeout(ok, 10_000);
      this.child.once('exit', () => { clearTimeout(t); ok(); });
    });
    if (this.alive) this.child.kill('SIGTERM');
    await exited();
    const leftMounted = mounted(this.mnt);
    if (leftMounted) lazyUnmount(this.mnt);
    if (this.alive) {
      this.child.kill('SIGKILL');
      await exited();
    }
    if (mounted(this.mnt)) lazyUnmount(this.mnt);
    try { rmdirSync(this.mnt); } catch { /* still busy: left for the exit handler */ }
    if (this.source) rmSync(this.source, { recursive: true, force: true });
    live.delete(this);
    const closed = this.events.find((e) => e.event === 'closed');
    return { exit: this.exitInfo ?? { code: null, signal: null }, closedOk: closed?.ok === true, leftMounted };
  }
}

process.on('exit', () => {
  for (const d of live) {
    if (d.alive) { try { process.kill(d.pid, 'SIGKILL'); } catch { /* gone */ } }
    if (mounted(d.mnt)) lazyUnmount(d.mnt);
    try { rmdirSync(d.mnt); } catch { /* best effort */ }
    if (d.source) { try { rmSync(d.source, { recursive: true, force: true }); } catch { /* best effort */ } }
  }
});
