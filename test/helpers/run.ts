// Running ordinary programs from the tests. Everything here has a deadline: a FUSE request that
// is never answered leaves its caller blocked in the kernel, so a program that touches a broken
// mount must be SIGKILLed (FUSE waits are killable, not interruptible) instead of waited for.
import { execFile } from 'node:child_process';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './daemon.js';

export interface RunResult {
  /** Exit status, or null when the program died of a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Milliseconds before the program is SIGKILLed and the call rejects. Default 30 s. */
  timeout?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Runs `cmd` without a shell. Resolves with the exit status whatever it is (the caller asserts);
 * rejects only when the program could not be started or ran past its timeout.
 */
export function runCmd(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeout = opts.timeout ?? 30_000;
  return new Promise((resolve, reject) => {
    execFile(cmd, args, {
      timeout, killSignal: 'SIGKILL', maxBuffer: 64 << 20, encoding: 'utf8', cwd: opts.cwd, env: opts.env,
    }, (err, stdout, stderr) => {
      if (!err) return resolve({ code: 0, signal: null, stdout, stderr });
      const e = err as Error & { code?: unknown; killed?: boolean; signal?: NodeJS.Signals | null };
      if (e.killed) {
        return reject(new Error(`\`${cmd} ${args.join(' ')}\` did not finish within ${timeout} ms (killed); ` +
          `stderr: ${stderr.trim() || '(empty)'}`));
      }
      if (typeof e.code === 'number') return resolve({ code: e.code, signal: null, stdout, stderr });
      if (e.signal) return resolve({ code: null, signal: e.signal, stdout, stderr });
      reject(err);
    });
  });
}

/** Runs `cmd` and asserts that it exits 0; returns its stdout. */
export async function mustRun(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  const r = await runCmd(cmd, args, opts);
  assert.equal(r.code, 0, `\`${cmd} ${args.join(' ')}\` exited ${r.code ?? r.signal}: ${r.stderr.trim()}`);
  return r.stdout;
}

/**
 * `sh -c script` with `args` as $1, $2, … (pass paths as arguments, never splice them into the
 * script). Asserts exit 0 and returns stdout.
 */
export function sh(script: string, args: readonly string[] = [], opts: RunOptions = {}): Promise<string> {
  return mustRun('sh', ['-c', script, 'sh', ...args], opts);
}

/** `count` stats of missing names (one LOOKUP each) from a Node client pinned to `cpu` (taskset). */
export async function statMissingFrom(mnt: string, cpu: number, tag: string, count: number): Promise<void> {
  const script = `const fs=require('fs');let n=0;for(let i=0;i<${count};i++){try{fs.statSync(process.argv[1]+'/${tag}'+i)}catch(e){if(e.code==='ENOENT')n++}}` +
    'if(n!==' + count + ')throw new Error("expected ENOENT, got "+n)';
  const r = await runCmd('taskset', ['-c', String(cpu), process.execPath, '-e', script, mnt], { timeout: 60_000 });
  assert.equal(r.code, 0, r.stderr);
}

/**
 * Runs `body` (an ES module's code) in a fresh Node process with `mount` and `MemFs` imported and
 * `mnt` a new mount point (process.argv[1]); returns the JSON its last output line holds. For what
 * a process that mounts and lives on looks like afterwards. The mount is touched from children of
 * that process only (a daemon never touches its own mount), and taken off here if it is left.
 */
export async function inMountingProcess<T>(tag: string, body: string): Promise<T> {
  const mnt = await mkdtemp(join(tmpdir(), `fuse-uring-${tag}-`));
  try {
    const script = `const { mount, MemFs } = await import(${JSON.stringify(join(ROOT, 'dist', 'src', 'index.js'))});\n${body}\nsetTimeout(() => process.exit(0), 50);`;
    const r = await runCmd(process.execPath, ['--input-type=module', '-e', script, mnt], { timeout: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
  } finally {
    await runCmd('umount', ['-l', mnt], { timeout: 10_000 }).catch(() => undefined);
    await rm(mnt, { recursive: true, force: true });
  }
}
