// Runs the fuse-native programs in test/fixtures/fuse-native/ (plain CommonJS or ESM files that
// load fuse-uring/compat/fuse-native by package name, as a fuse-native user's program would) in
// a child process on a fresh mount point. The transport is chosen the way such a program leaves
// it to its environment: FUSE_URING_TRANSPORT.
import { join } from 'node:path';
import { Child, assertCleanStop, makeMountpoint, parseJsonLines, runMounted, teardown, type TeardownReport } from './child.js';
import { ROOT } from './daemon.js';

export type Transport = 'uring' | 'dev';
export type ProgramEvent = { event: string; [k: string]: unknown };

export const PROGRAMS = join(ROOT, 'test', 'fixtures', 'fuse-native');

export interface Program {
  readonly mnt: string;
  readonly pid: number;
  readonly child: Child;
  events(): ProgramEvent[];
  stderr(): string;
  stop(): Promise<TeardownReport>;
}

/** Spawns `node <script> ...args` with FUSE_URING_TRANSPORT set (Child copies the environment). */
export function spawnProgram(label: string, mnt: string, script: string, args: string[], transport: Transport): Child {
  const before = process.env.FUSE_URING_TRANSPORT;
  process.env.FUSE_URING_TRANSPORT = transport;
  try {
    return new Child(label, mnt, process.execPath, [join(PROGRAMS, script), ...args]);
  } finally {
    if (before === undefined) delete process.env.FUSE_URING_TRANSPORT;
    else process.env.FUSE_URING_TRANSPORT = before;
  }
}

export async function startProgram(script: string, transport: Transport): Promise<Program> {
  const mnt = await makeMountpoint(`fuse-native-${script.replace(/\.[cm]?js$/, '')}-${transport}`);
  const child = spawnProgram(`${script}(${transport})`, mnt, script, [mnt], transport);
  let stopping: Promise<TeardownReport> | undefined;
  const stop = () => (stopping ??= teardown(child));
  try {
    await child.waitFor('ready line on stdout', () => parseJsonLines<ProgramEvent>(child.stdout()).find((e) => e.event === 'ready'), 20_000);
  } catch (e) {
    await stop();
    throw e;
  }
  return { mnt, pid: child.pid, child, events: () => parseJsonLines<ProgramEvent>(child.stdout()), stderr: () => child.stderr(), stop };
}

/**
 * Starts a program, runs `body` under a deadline, always tears down, and (unless the body
 * failed) asserts the stop fuse-native programs make: SIGTERM → fuse.unmount(cb) → exit 0,
 * "closed ok:true", no mount left.
 */
export async function withProgram(script: string, transport: Transport, body: (p: Program) => Promise<void>, timeoutMs = 90_000): Promise<void> {
  const p = await startProgram(script, transport);
  const report = await runMounted('program', p.mnt, timeoutMs, body(p), p.stop, p.stderr);
  const why = `teardown ${JSON.stringify(report)}; events ${JSON.stringify(p.events())}; stderr:\n${p.stderr()}`;
  await assertCleanStop('program', p.mnt, report, p.events().find((e) => e.event === 'closed'), why);
}
