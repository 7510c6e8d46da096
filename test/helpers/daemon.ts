// Starts test/fixtures/daemon.ts in a child process on a fresh mount point; the test process is
// then the FUSE client. The daemon speaks one JSON object per stdout line and obeys signals.
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SessionStats } from '../../src/index.js';
import { Child, assertCleanStop, makeMountpoint, parseJsonLines, runMounted, teardown, type ExitInfo, type TeardownReport } from './child.js';

/** The repository root, from dist/test/helpers/. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const FIXTURE = join(ROOT, 'dist', 'test', 'fixtures', 'daemon.js');

export type Transport = 'uring' | 'dev';

export interface DaemonOptions {
  /** 'auto' lets the library choose; the ready line says what it chose. */
  transport: Transport | 'auto';
  fs?: 'memfs' | 'faulty';
  queueDepth?: number;
  /** Mount through fusermount3 with auto_unmount. */
  autoUnmount?: boolean;
  /** Extra mount options for the fixture's --opt, e.g. 'posixLocks,flockLocks'. */
  opt?: string;
  /** Default 20 s. */
  readyTimeoutMs?: number;
}

export interface ReadyEvent {
  event: 'ready'; pid: number; transport: Transport; ringFd: number; queues: number; queueDepth: number; maxWrite: number;
  /** The fusectl connection id. */
  id: number;
  mountedVia: 'mount' | 'fusermount3';
}
export interface ClosedEvent { event: 'closed'; ok: boolean; destroyCalls: number; error?: string }
interface StatsEvent { event: 'stats'; seq: number; session: SessionStats }
type DaemonEvent = StatsEvent | ReadyEvent | ClosedEvent | { event: string; [k: string]: unknown };

export interface Daemon {
  readonly mnt: string;
  readonly pid: number;
  readonly info: ReadyEvent;
  stderr(): string;
  /** Every JSON line printed so far. */
  events(): DaemonEvent[];
  closed(): ClosedEvent | undefined;
  /** session.stats() of the daemon, fresh (SIGUSR2 → one stats line). */
  stats(): Promise<SessionStats>;
  waitExit(ms: number): Promise<ExitInfo>;
  /** The teardown (idempotent): SIGTERM, 5 s, umount -l, SIGKILL, rmdir. */
  stop(): Promise<TeardownReport>;
}

const parseEvents = (stdout: string): DaemonEvent[] => parseJsonLines<DaemonEvent>(stdout);

export async function startDaemon(opts: DaemonOptions): Promise<Daemon> {
  const mnt = await makeMountpoint(`${opts.transport}-${opts.fs ?? 'memfs'}`);
  const args = [FIXTURE, '--transport', opts.transport, '--mnt', mnt, '--fs', opts.fs ?? 'memfs'];
  if (opts.queueDepth !== undefined) args.push('--queue-depth', String(opts.queueDepth));
  if (opts.autoUnmount) args.push('--auto-unmount');
  if (opts.opt) args.push('--opt', opts.opt);
  const child = new Child(`daemon(${opts.transport}, ${opts.fs ?? 'memfs'})`, mnt, process.execPath, args);
  let stopping: Promise<TeardownReport> | undefined;
  const stop = () => (stopping ??= teardown(child));
  let info: ReadyEvent;
  try {
    info = await child.waitFor('ready line on stdout', () =>
      parseEvents(child.stdout()).find((e): e is ReadyEvent => e.event === 'ready'), opts.readyTimeoutMs ?? 20_000);
  } catch (e) {
    await stop();
    throw e;
  }
  assert.equal(info.pid, child.pid, 'the ready line names the daemon pid');
  let statsSeq = 0;
  return {
    mnt, pid: child.pid, info,
    stderr: () => child.stderr(),
    events: () => parseEvents(child.stdout()),
    closed: () => parseEvents(child.stdout()).find((e): e is ClosedEvent => e.event === 'closed'),
    stats: async () => {
      const want = ++statsSeq;
      child.signal('SIGUSR2');
      const line = await child.waitFor('stats line', () =>
        parseEvents(child.stdout()).find((e): e is StatsEvent => e.event === 'stats' && (e as StatsEvent).seq === want), 10_000);
      return line.session;
    },
    waitExit: (ms) => child.waitExit(ms),
    stop,
  };
}

/**
 * Mounts, runs `body`, and always tears down. Unless the body failed, it then asserts the clean
 * stop: the daemon answered SIGTERM (or an earlier external umount) by unmounting, printed
 * `closed ok:true` and exited 0 within 5 s, and no mount is left on its mount point.
 */
export async function withDaemon(opts: DaemonOptions, body: (d: Daemon) => Promise<void>, timeoutMs = 90_000): Promise<void> {
  const d = await startDaemon(opts);
  const report = await runMounted('daemon', d.mnt, timeoutMs, body(d), d.stop, d.stderr);
  const why = `teardown ${JSON.stringify(report)}; events ${JSON.stringify(d.events())}; stderr:\n${d.stderr()}`;
  await assertCleanStop('daemon', d.mnt, report, d.closed() ?? {}, why);
}
