// A child process the tests started (a daemon fixture or the CLI), with its output captured, and
// the one teardown every test relies on: SIGTERM, a grace period, `umount -l` if the mount is
// still there, SIGKILL, rmdir. Only the pids started here are ever signalled.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, realpath, rmdir } from 'node:fs/promises';
import { rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { isMounted, mountEntrySync } from './proc.js';
import { runCmd } from './run.js';

export interface ExitInfo { code: number | null; signal: NodeJS.Signals | null }

/** Every mount point prefix the tests use; scripts/test-setup.js removes stale ones. */
export const MOUNT_PREFIX = 'fuse-uring-test-';

/** A fresh, empty directory under the real path of os.tmpdir() (/proc/mounts shows real paths). */
export async function makeMountpoint(tag: string): Promise<string> {
  return mkdtemp(join(await realpath(tmpdir()), `${MOUNT_PREFIX}${tag}-`));
}

/** Children whose teardown has not run; cleaned synchronously if the test process exits first. */
const live = new Set<Child>();

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class Child {
  readonly proc: ChildProcess;
  readonly pid: number;
  private out = '';
  private err = '';
  private exitInfo: ExitInfo | undefined;
  private readonly exitPromise: Promise<ExitInfo>;
  private readonly streamsClosed: Promise<void>;
  private readonly waiters = new Set<() => void>();

  /** `mnt`: the mount point this process serves, cleaned up at exit if no teardown ran. */
  constructor(readonly label: string, readonly mnt: string, cmd: string, args: readonly string[]) {
    // UV_USE_IO_URING=0: the only io_uring in the child is then the library's own ring.
    this.proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, UV_USE_IO_URING: '0' } });
    if (this.proc.pid === undefined) throw new Error(`${label}: could not spawn ${cmd}`);
    this.pid = this.proc.pid;
    this.proc.stdout!.setEncoding('utf8').on('data', (s: string) => { this.out += s; this.wake(); });
    this.proc.stderr!.setEncoding('utf8').on('data', (s: string) => { this.err += s; this.wake(); });
    this.exitPromise = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => { this.exitInfo = { code, signal }; this.wake(); resolve(this.exitInfo); });
    });
    this.streamsClosed = new Promise((resolve) => this.proc.on('close', () => resolve()));
    this.proc.on('error', (e) => { this.err += `\n[spawn error] ${e.message}\n`; this.wake(); });
    live.add(this);
  }

  stdout(): string { return this.out; }
  stderr(): string { return this.err; }
  get alive(): boolean { return this.exitInfo === undefined; }
  get exit(): ExitInfo | undefined { return this.exitInfo; }

  private wake(): void { for (const w of [...this.waiters]) w(); }

  signal(sig: NodeJS.Signals): void {
    if (this.alive) this.proc.kill(sig);
  }

  /**
   * Resolves with pick()'s first defined value, re-evaluated on every output chunk; rejects if
   * the process exits first or after `ms`, quoting its stderr.
   */
  waitFor<T>(what: string, pick: () => T | undefined, ms: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const done = (f: () => void) => { clearTimeout(timer); this.waiters.delete(check); f(); };
      const check = () => {
        let v: T | undefined;
        try { v = pick(); } catch (e) { return done(() => reject(e)); }
        if (v !== undefined) return done(() => resolve(v));
        if (!this.alive) {
          done(() => reject(new Error(`${this.label} exited (${fmtExit(this.exitInfo!)}) before ${what}; stderr:\n${this.err}`)));
        }
      };
      const timer = setTimeout(() => done(() =>
        reject(new Error(`${this.label}: no ${what} within ${ms} ms; stderr:\n${this.err}`))), ms);
      this.waiters.add(check);
      check();
    });
  }

  /** Waits for the exit (and up to 1 s more for the last output); rejects after `ms`. */
  async waitExit(ms: number): Promise<ExitInfo> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.label} (pid ${this.pid}) still running after ${ms} ms; stderr:\n${this.err}`)), ms);
    });
    try {
      const info = await Promise.race([this.exitPromise, deadline]);
      await Promise.race([this.streamsClosed, sleep(1000)]);
      return info;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The complete JSON-object lines of a child's stdout (a daemon's event protocol); a partial last line is skipped. */
export function parseJsonLines<T>(stdout: string): T[] {
  const out: T[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    try { out.push(JSON.parse(line) as T); } catch { /* a partial line: not complete yet */ }
  }
  return out;
}

export function fmtExit(e: ExitInfo): string {
  return e.signal ? `signal ${e.signal}` : `code ${e.code}`;
}

export interface TeardownReport {
  /** How the process ended (undefined only if even SIGKILL did not end it within 5 s). */
  exit: ExitInfo | undefined;
  /** It was gone before the SIGKILL (on its own, or after SIGTERM within the grace period). */
  stoppedInTime: boolean;
  /** The mount point was still mounted after that: the teardown had to `umount -l` it. */
  leftMounted: boolean;
  killed: boolean;
}

/** SIGTERM, wait up to `graceMs`, `umount -l` if still mounted, SIGKILL if still alive, rmdir. */
export async function teardown(child: Child, graceMs = 5000): Promise<TeardownReport> {
  const mnt = child.mnt;
  if (child.alive) {
    child.signal('SIGTERM');
    await child.waitExit(graceMs).catch(() => undefined);
  }
  const stoppedInTime = !child.alive;
  const leftMounted = await isMounted(mnt);
  if (leftMounted) await runCmd('umount', ['-l', mnt], { timeout: 10_000 }).catch(() => undefined);
  let killed = false;
  if (child.alive) {
    killed = true;
    child.signal('SIGKILL');
    await child.waitExit(5000).catch(() => undefined);
  }
  if (await isMounted(mnt)) await runCmd('umount', ['-l', mnt], { timeout: 10_000 }).catch(() => undefined);
  await rmdir(mnt).catch(() => undefined);
  live.delete(child);
  return { exit: child.exit, stoppedInTime, leftMounted, killed };
}

process.on('exit', () => {
  for (const child of live) {
    if (child.alive) { try { process.kill(child.pid, 'SIGKILL'); } catch { /* already gone */ } }
    try {
      if (mountEntrySync(child.mnt)) execFileSync('umount', ['-l', child.mnt], { timeout: 5000, stdio: 'ignore' });
      rmdirSync(child.mnt);
    } catch { /* best effort at exit */ }
  }
});

/**
 * Runs `body`, but gives up after `ms`: then `onTimeout` runs (it must kill the daemon, which
 * also releases any of our own fs calls stuck in the kernel) and the call rejects. The body's
 * late rejection is swallowed so that it cannot crash the test process.
 */
export async function withDeadline<T>(what: string, ms: number, body: Promise<T>, onTimeout: () => Promise<unknown>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  body.catch(() => undefined);
  const timedOut = Symbol('timeout');
  const deadline = new Promise<typeof timedOut>((resolve) => { timer = setTimeout(() => resolve(timedOut), ms); });
  try {
    const r = await Promise.race([body, deadline]);
    if (r === timedOut) {
      await onTimeout();
      throw new Error(`${what}: did not finish within ${ms} ms (the mount was torn down)`);
    }
    return r as T;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs `body` (already started) under a deadline on a mounted child, and always stops the child
 * (`stop` is idempotent). A failing body gets the child's stderr appended to its message and is
 * rethrown; otherwise the stop's report is returned for assertCleanStop.
 */
export async function runMounted(what: string, mnt: string, timeoutMs: number, body: Promise<void>,
  stop: () => Promise<TeardownReport>, stderr: () => string): Promise<TeardownReport> {
  try {
    await withDeadline(`test body on ${mnt}`, timeoutMs, body, stop);
  } catch (e) {
    await stop();
    if (e instanceof Error) e.message += `\n--- ${what} stderr ---\n${stderr()}`;
    throw e;
  }
  return stop();
}

/**
 * The clean stop every mount test expects of the process it stopped with SIGTERM: exit 0 within
 * the grace period, a "closed ok:true" event, destroy() run exactly once (when the event reports
 * it), and nothing left mounted.
 */
export async function assertCleanStop(what: string, mnt: string, report: TeardownReport,
  closedEvent: object | undefined, why: string): Promise<void> {
  const closed = closedEvent as { ok?: unknown; destroyCalls?: unknown } | undefined;
  assert.ok(report.stoppedInTime, `the ${what} did not exit within 5 s of SIGTERM; ${why}`);
  assert.ok(!report.leftMounted, `the ${what} exited but left ${mnt} mounted; ${why}`);
  assert.deepEqual(report.exit, { code: 0, signal: null }, `the ${what} ended with ${report.exit && fmtExit(report.exit)}; ${why}`);
  assert.equal(closed?.ok, true, `no "closed ok:true" event; ${why}`);
  if (closed?.destroyCalls !== undefined) assert.equal(closed.destroyCalls, 1, `destroy() ran ${String(closed.destroyCalls)} times, not once; ${why}`);
  assert.equal(await isMounted(mnt), false, `${mnt} is still mounted after the teardown`);
}
