// Running the CLI (dist/src/cli.js) as the user would.
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { Child, makeMountpoint, teardown, type TeardownReport } from './child.js';
import { ROOT } from './daemon.js';
import { parseMounts } from './proc.js';
import { runCmd, type RunResult } from './run.js';

export const CLI = join(ROOT, 'dist', 'src', 'cli.js');

/** The line the CLI prints to stderr once mounted. */
export const mountedLine = (mnt: string) => `fuse-uring: memfs mounted at ${mnt}`;

/** Runs the CLI to completion (for invocations that must not mount). */
export function runCli(args: readonly string[], timeout = 20_000): Promise<RunResult> {
  return runCmd(process.execPath, [CLI, ...args], { timeout, env: { ...process.env, UV_USE_IO_URING: '0' } });
}

export interface CliMount {
  child: Child;
  mnt: string;
  stop(): Promise<TeardownReport>;
}

/** Spawns `cli.js memfs <fresh mnt> ...args` and waits (20 s) for the mounted line. */
export async function startCli(args: readonly string[], tag = 'cli'): Promise<CliMount> {
  const mnt = await makeMountpoint(tag);
  const child = new Child(`cli ${args.join(' ')}`, mnt, process.execPath, [CLI, 'memfs', mnt, ...args]);
  let stopping: Promise<TeardownReport> | undefined;
  const stop = () => (stopping ??= teardown(child));
  try {
    await child.waitFor('mounted line on stderr', () => (child.stderr().includes(mountedLine(mnt)) ? true : undefined), 20_000);
  } catch (e) {
    await stop();
    throw e;
  }
  return { child, mnt, stop };
}

/** Non-empty lines of a text. */
export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}

/**
 * Samples /proc/mounts every 5 ms until stopped: catches a mount that appears and disappears
 * while a CLI invocation that should fail before mounting is running.
 */
export function watchForMount(mnt: string): () => Promise<boolean> {
  let seen = false;
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    readFile('/proc/mounts', 'utf8').then((t) => {
      if (parseMounts(t).some((m) => m.target === mnt)) seen = true;
    }, () => undefined).finally(() => { busy = false; });
  }, 5);
  return async () => {
    clearInterval(timer);
    const t = await readFile('/proc/mounts', 'utf8');
    return seen || parseMounts(t).some((m) => m.target === mnt);
  };
}
