// Helpers for the real-programs tests (test/mount/programs*.test.ts): a daemon serving memfs or
// mirror (the latter over a fresh, empty source directory) on a fresh mount point, long-running
// programs driven through their stdin and stdout, and comparisons of whole trees by lstat.
//
// The daemon is test/fixtures/daemon.ts, started here rather than through helpers/daemon.ts so
// that `--source` can be passed; the teardown and the clean-stop assertions are the same ones
// withDaemon makes.
import { spawn, type ChildProcess } from 'node:child_process';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { lstat, mkdtemp, readdir, readlink, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Child, assertCleanStop, fmtExit, makeMountpoint, runMounted, teardown, type ExitInfo, type TeardownReport } from './child.js';
import { ROOT, type ReadyEvent, type Transport } from './daemon.js';
import { runCmd, type RunOptions } from './run.js';

/**
 * 'mirror' is the fixture's default mirror: with FUSE passthrough when root, so the kernel does
 * the reads and writes on the source files itself. 'mirror-nopt' (--no-passthrough) makes the
 * mirror's own read/write/O_APPEND code carry the data.
 */
export type FsKind = 'memfs' | 'mirror' | 'mirror-nopt';

const FIXTURE = join(ROOT, 'dist', 'test', 'fixtures', 'daemon.js');

function fixtureSource(): string {
  try {
    return readFileSync(FIXTURE, 'utf8');
  } catch {
    return '';
  }
}

/** The fixture serves mirror once its source names it (`--fs mirror --source <dir>`). */
export function fixtureSupportsMirror(): boolean {
  return /['"]mirror['"]/.test(fixtureSource());
}

/** memfs always; mirror as soon as the fixture can serve it, also without passthrough if it can. */
export const FILESYSTEMS: readonly FsKind[] = [
  'memfs',
  ...(fixtureSupportsMirror() ? ['mirror' as const] : []),
  ...(fixtureSupportsMirror() && /['"]no-passthrough['"]/.test(fixtureSource()) ? ['mirror-nopt' as const] : []),
];

/** How a describe() names the filesystem. */
export const fsLabel = (fs: FsKind) => (fs === 'mirror-nopt' ? 'mirror --no-passthrough' : fs);

export const TRANSPORTS = ['uring', 'dev'] as const satisfies readonly Transport[];

export const transportName = (t: Transport) => (t === 'uring' ? 'FUSE-over-io_uring' : 'classic /dev/fuse');

/** A program started with start(): stdin and stdout are pipes, stderr is collected. */
export class Program {
  readonly proc: ChildProcess;
  private out = '';
  private err = '';
  /** How far until() has consumed stdout. */
  private cursor = 0;
  private exitInfo: ExitInfo | undefined;
  private readonly exited: Promise<ExitInfo>;
  private readonly waiters = new Set<() => void>();

  constructor(readonly label: string, cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
    this.proc = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], cwd: opts.cwd, env: opts.env ?? process.env });
    this.proc.stdout!.setEncoding('utf8').on('data', (s: string) => { this.out += s; this.wake(); });
    this.proc.stderr!.setEncoding('utf8').on('data', (s: string) => { this.err += s; this.wake(); });
    this.proc.stdin!.on('error', () => undefined); // EPIPE when it died first: reported by until()
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => { this.exitInfo = { code, signal }; this.wake(); resolve(this.exitInfo); });
    });
    this.proc.on('error', (e) => { this.err += `\n[spawn error] ${e.message}\n`; this.exitInfo ??= { code: -1, signal: null }; this.wake(); });
  }

  get alive(): boolean { return this.exitInfo === undefined; }
  stdout(): string { return this.out; }
  stderr(): string { return this.err; }

  private wake(): void { for (const w of [...this.waiters]) w(); }

  send(text: string): void {
    this.proc.stdin!.write(text);
  }

  /** Closes stdin (end of input). */
  end(): void {
    this.proc.stdin!.end();
  }

  /**
   * Waits until stdout, past what earlier calls consumed, contains `marker`; returns the text
   * before it and consumes both. Rejects if the program exits first or after `ms`.
   */
  until(marker: string, ms = 60_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const done = (f: () => void) => { clearTimeout(timer); this.waiters.delete(check); f(); };
      const check = () => {
        const i = this.out.indexOf(marker, this.cursor);
        if (i >= 0) {
          const before = this.out.slice(this.cursor, i);
          this.cursor = i + marker.length;
          return done(() => resolve(before));
        }
        if (!this.alive) {
          done(() => reject(new Error(`${this.label} exited (${fmtExit(this.exitInfo!)}) before printing ${JSON.stringify(marker)}; ` +
            `stdout since: ${JSON.stringify(this.out.slice(this.cursor))}; stderr: ${this.err}`)));
        }
      };
      const timer = setTimeout(() => done(() => reject(new Error(`${this.label}: no ${JSON.stringify(marker)} within ${ms} ms; ` +
        `stdout since: ${JSON.stringify(this.out.slice(this.cursor))}; stderr: ${this.err}`))), ms);
      this.waiters.add(check);
      check();
    });
  }

  /** Waits for the exit; rejects after `ms`. */
  async waitExit(ms = 60_000): Promise<ExitInfo> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.label} still running after ${ms} ms; stderr: ${this.err}`)), ms);
    });
    try {
      return await Promise.race([this.exited, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Waits for the exit and asserts status 0. */
  async mustExit0(ms = 60_000): Promise<void> {
    const e = await this.waitExit(ms);
    assert.deepEqual(e, { code: 0, signal: null }, `${this.label} ended with ${fmtExit(e)}; stderr: ${this.err}`);
  }

  /** SIGKILL (a process blocked on a FUSE request only dies of that) and wait up to 5 s. */
  async kill(): Promise<void> {
    if (this.alive) {
      this.proc.kill('SIGKILL');
      await this.waitExit(5000).catch(() => undefined);
    }
  }
}

export interface FsMount {
  fs: FsKind;
  transport: Transport;
  mnt: string;
  /** mirror: the directory it mirrors. */
  source: string | undefined;
  info: ReadyEvent;
  /** A scratch directory outside the mount (removed afterwards): HOME, tarballs, originals. */
  scratch: string;
  /** Environment for the programs: HOME in scratch, fixed git identity, C locale, UTC. */
  env: NodeJS.ProcessEnv;
  /** Starts a long-running program; it is SIGKILLed at the end of the test if still alive. */
  start(label: string, cmd: string, args: readonly string[], opts?: { cwd?: string }): Program;
  daemonStderr(): string;
}

export interface WithFsOptions {
  /** Extra mount options for the fixture's --opt (e.g. 'writeback'). */
  opt?: string;
  /** Deadline for the body (default 150 s); past it the mount is torn down and the test fails. */
  timeoutMs?: number;
}

function parseEvents(stdout: string): Array<{ event: string; [k: string]: unknown }> {
  const out: Array<{ event: string; [k: string]: unknown }> = [];
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    try { out.push(JSON.parse(line) as { event: string }); } catch { /* partial */ }
  }
  return out;
}

/** Run options for a program in the test: the mount's environment and a deadline. */
export const opts = (m: FsMount, timeout = 60_000, cwd?: string): RunOptions => ({ env: m.env, timeout, cwd });

/**
 * Mounts `fs` over `transport`, runs `body`, and always tears down: the programs it started are
 * SIGKILLed, the daemon gets SIGTERM (then umount -l and SIGKILL if need be), the mount point,
 * the scratch directory and mirror's source are removed. For mirror, once the body passed, the
 * mount and the source directory must hold the same tree (`diff -r --no-dereference`). Then,
 * as withDaemon does, it asserts the clean stop.
 */
export async function withFs(fs: FsKind, transport: Transport, body: (m: FsMount) => Promise<void>,
  o: WithFsOptions = {}): Promise<void> {
  const tmp = await realpath(tmpdir());
  const scratch = await mkdtemp(join(tmp, 'fuse-uring-data-programs-'));
  const source = fs !== 'memfs' ? await mkdtemp(join(tmp, 'fuse-uring-data-mirror-src-')) : undefined;
  const programs: Program[] = [];
  const killPrograms = () => Promise.all(programs.map((p) => p.kill()));
  let child: Child | undefined;
  let stopping: Promise<TeardownReport> | undefined;
  const stop = async () => { await killPrograms(); return (stopping ??= teardown(child!)); };
  try {
    const mnt = await makeMountpoint(`prog-${transport}-${fs}`);
    const args = [FIXTURE, '--transport', transport, '--mnt', mnt, '--fs', fs === 'memfs' ? 'memfs' : 'mirror'];
    if (source) args.push('--source', source);
    if (fs === 'mirror-nopt') args.push('--no-passthrough');
    if (o.opt) args.push('--opt', o.opt);
    child = new Child(`daemon(${transport}, ${fs})`, mnt, process.execPath, args);
    const c = child;
    let info: ReadyEvent;
    try {
      info = await c.waitFor('ready line on stdout', () =>
        parseEvents(c.stdout()).find((e): e is ReadyEvent & { event: string; [k: string]: unknown } => e.event === 'ready'), 20_000);
    } catch (e) {
      await stop();
      throw e;
    }
    assert.equal(info.transport, transport, 'the transport asked for');
    const env: NodeJS.ProcessEnv = {
      ...process.env, HOME: scratch, LC_ALL: 'C', TZ: 'UTC',
      GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'Fuse Tester', GIT_AUTHOR_EMAIL: 'tester@example.invalid',
      GIT_COMMITTER_NAME: 'Fuse Tester', GIT_COMMITTER_EMAIL: 'tester@example.invalid',
      // No background `gc --auto` or maintenance left running on the mount at teardown.
      GIT_CONFIG_COUNT: '2', GIT_CONFIG_KEY_0: 'gc.auto', GIT_CONFIG_VALUE_0: '0',
      GIT_CONFIG_KEY_1: 'maintenance.auto', GIT_CONFIG_VALUE_1: 'false',
    };
    const m: FsMount = {
      fs, transport, mnt, source, info, scratch, env,
      start: (label, cmd, a, so = {}) => {
        const p = new Program(label, cmd, a, { cwd: so.cwd, env });
        programs.push(p);
        return p;
      },
      daemonStderr: () => c.stderr(),
    };
    const report = await runMounted('daemon', mnt, o.timeoutMs ?? 150_000, (async () => {
      await body(m);
      await killPrograms();
      if (source) {
        const r = await runCmd('diff', ['-r', '--no-dereference', mnt, source], { timeout: 60_000 });
        assert.equal(r.code, 0, `mirror: the mount and its source directory differ after the test:\n${r.stdout.slice(0, 4000)}${r.stderr}`);
      }
    })(), stop, () => c.stderr());
    const events = parseEvents(c.stdout());
    const why = `teardown ${JSON.stringify(report)}; events ${JSON.stringify(events)}; stderr:\n${c.stderr()}`;
    await assertCleanStop('daemon', mnt, report, events.find((e) => e.event === 'closed'), why);
  } finally {
    if (child && !stopping) await stop();
    await rm(scratch, { recursive: true, force: true });
    if (source) await rm(source, { recursive: true, force: true });
  }
}

/** python3 -c `script` with `args` as sys.argv[1:]: asserts exit 0, returns stdout. */
export async function py(script: string, args: readonly string[] = [], o: RunOptions = {}): Promise<string> {
  const r = await runCmd('python3', ['-c', script, ...args], { timeout: 60_000, ...o });
  assert.equal(r.code, 0, `python3 ${args.join(' ')} exited ${r.code ?? r.signal}: ${r.stderr.trim()}`);
  return r.stdout;
}

export interface EntryInfo {
  type: 'file' | 'dir' | 'symlink' | 'other';
  /** Permission bits and set-id/sticky bits. */
  perm: string;
  uid: number;
  gid: number;
  /** Regular files and symlinks; directories' sizes are the filesystem's own business. */
  size?: number;
  /** Non-directories: the hard link count. */
  nlink?: number;
  /** Modification time, in ns or truncated to seconds. */
  mtime: string;
  target?: string;
  /** Non-directories with nlink > 1: the first path (in sorted order) with the same inode. */
  sameAs?: string;
}

/**
 * Every entry under `root` (relative paths, sorted; the root itself is ''). `mtime`: 'ns' for
 * copies that keep nanoseconds (cp -a), 's' for archives that keep seconds (GNU tar's default).
 */
export async function snapshotTree(root: string, mtime: 'ns' | 's' | 'none'): Promise<Map<string, EntryInfo>> {
  const out = new Map<string, EntryInfo>();
  const firstOfInode = new Map<bigint, string>();
  const paths: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    paths.push(rel);
    const st = await lstat(join(root, rel));
    if (st.isDirectory()) {
      for (const name of (await readdir(join(root, rel))).sort()) await walk(rel === '' ? name : `${rel}/${name}`);
    }
  };
  await walk('');
  for (const rel of paths.sort()) {
    const st = await lstat(join(root, rel), { bigint: true });
    const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
    const e: EntryInfo = {
      type, perm: (Number(st.mode) & 0o7777).toString(8), uid: Number(st.uid), gid: Number(st.gid),
      mtime: mtime === 'ns' ? String(st.mtimeNs) : mtime === 's' ? String(st.mtimeNs / 1_000_000_000n) : '-',
    };
    if (type !== 'dir') {
      e.nlink = Number(st.nlink);
      if (type !== 'other') e.size = Number(st.size);
      if (st.nlink > 1n) {
        const first = firstOfInode.get(st.ino);
        if (first === undefined) firstOfInode.set(st.ino, rel);
        else e.sameAs = first;
      }
    }
    if (type === 'symlink') e.target = await readlink(join(root, rel));
    out.set(rel, e);
  }
  return out;
}

/** The differences between two snapshots, one line each (empty when they agree). */
export function treeDifferences(a: Map<string, EntryInfo>, b: Map<string, EntryInfo>, ignore: ReadonlyArray<keyof EntryInfo> = []): string[] {
  const diffs: string[] = [];
  const strip = (e: EntryInfo) => {
    const c: Partial<EntryInfo> = { ...e };
    for (const k of ignore) delete c[k];
    return JSON.stringify(c);
  };
  for (const [rel, ea] of a) {
    const eb = b.get(rel);
    if (!eb) diffs.push(`only in the first: ${rel || '.'}`);
    else if (strip(ea) !== strip(eb)) diffs.push(`${rel || '.'}: ${strip(ea)} != ${strip(eb)}`);
  }
  for (const rel of b.keys()) if (!a.has(rel)) diffs.push(`only in the second: ${rel || '.'}`);
  return diffs;
}

/** Asserts that two snapshots agree, quoting the first differences. */
export function assertSameTree(a: Map<string, EntryInfo>, b: Map<string, EntryInfo>, what: string,
  ignore: ReadonlyArray<keyof EntryInfo> = []): void {
  const d = treeDifferences(a, b, ignore);
  assert.equal(d.length, 0, `${what}: ${d.length} differences:\n${d.slice(0, 25).join('\n')}`);
}
