// What the benchmark measures: our mounts (memfs over io_uring and over /dev/fuse, mirror with
// and without passthrough), tmpfs as the physical limit, and the mirror's source directory.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'dist', 'src', 'cli.js');
/** memfs-paths: PathMemFs through the path API, mounted by its own small daemon. */
const PATHMEM_DAEMON = join(ROOT, 'dist', 'bench', 'pathmem-daemon.js');

export type TargetName = 'memfs-uring' | 'memfs-dev' | 'memfs-paths' | 'mirror-passthrough' | 'mirror-nopassthrough' | 'tmpfs' | 'source';

export interface Target {
  name: TargetName;
  /** Where the workloads run. */
  dir: string;
  /** The serving daemon, for its CPU time (undefined for kernel filesystems). */
  pid?: number;
  /** The CLI's "mounted" line: the negotiated settings. */
  settings?: string;
  stop(): Promise<void>;
}

export const ALL_TARGETS: TargetName[] = ['memfs-uring', 'memfs-dev', 'memfs-paths', 'mirror-passthrough', 'mirror-nopassthrough', 'tmpfs', 'source'];

/** CPU time (µs) of every thread of `pid`, from /proc/<pid>/task/<tid>/schedstat (ns on CPU). */
export function processCpuUs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  let ns = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try { ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]); } catch { /* thread gone */ }
    }
  } catch { return 0; }
  return ns / 1000;
}

function waitForLine(child: ChildProcess, re: RegExp, what: string, ms = 20_000): Promise<string> {
  return new Promise((ok, fail) => {
    let err = '';
    const timer = setTimeout(() => fail(new Error(`${what}: not mounted after ${ms} ms: ${err}`)), ms);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = re.exec(err);
      if (m) { clearTimeout(timer); ok(m[0]); }
    });
    child.on('exit', (code) => { clearTimeout(timer); fail(new Error(`${what} exited (${code}) before mounting: ${err.trim()}`)); });
  });
}

async function stopDaemon(child: ChildProcess, mnt: string): Promise<void> {
  if (child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise<void>((ok) => { const t = setTimeout(ok, 5000); child.once('exit', () => { clearTimeout(t); ok(); }); });
  }
  if (child.exitCode === null) child.kill('SIGKILL');
  try { execFileSync('umount', ['-l', mnt], { stdio: 'ignore', timeout: 10_000 }); } catch { /* already gone */ }
  rmSync(mnt, { recursive: true, force: true });
}

async function cliTarget(name: TargetName, args: string[], mnt: string, extra: () => void = () => {}, script = CLI): Promise<Target> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.unref();
  const settings = await waitForLine(child, /fuse-uring: .* mounted at .*\)/, name).catch(async (e: Error) => {
    await stopDaemon(child, mnt);
    throw e;
  });
  return { name, dir: mnt, pid: child.pid, settings, stop: async () => { await stopDaemon(child, mnt); extra(); } };
}

/** Mounts (or prepares) one target under `base`. */
export async function startTarget(name: TargetName, base: string, queueDepth: number): Promise<Target> {
  const mnt = mkdtempSync(join(base, `${name}-`));
  const qd = ['--queue-depth', String(queueDepth)];
  switch (name) {
    case 'memfs-uring': return cliTarget(name, ['memfs', mnt, '--transport', 'uring', ...qd], mnt);
    case 'memfs-dev': return cliTarget(name, ['memfs', mnt, '--transport', 'dev', ...qd], mnt);
    case 'memfs-paths': return cliTarget(name, [mnt, '--transport', 'uring', ...qd], mnt, undefined, PATHMEM_DAEMON);
    case 'mirror-passthrough':
    case 'mirror-nopassthrough': {
      const src = mkdtempSync(join(sourceBase(), `${name}-src-`));
      const args = ['mirror', src, mnt, '--transport', 'uring', ...qd];
      if (name === 'mirror-nopassthrough') args.push('--no-passthrough');
      return cliTarget(name, args, mnt, () => rmSync(src, { recursive: true, force: true }));
    }
    case 'tmpfs':
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2g', 'tmpfs', mnt], { timeout: 10_000 });
      return { name, dir: mnt, stop: async () => { execFileSync('umount', ['-l', mnt], { timeout: 10_000 }); rmSync(mnt, { recursive: true, force: true }); } };
    case 'source': {
      const src = mkdtempSync(join(sourceBase(), 'source-'));
      rmSync(mnt, { recursive: true, force: true });
      return { name, dir: src, stop: async () => { rmSync(src, { recursive: true, force: true }); } };
    }
  }
}

/** Mirror sources and the "source" target live on the disk filesystem, not on /tmp if that is tmpfs. */
function sourceBase(): string {
  const dir = join(ROOT, '.bench-src');
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function benchBase(): string {
  return mkdtempSync(join(tmpdir(), 'fuse-uring-bench-'));
}
