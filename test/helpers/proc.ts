// Reading the kernel's view from /proc and /sys. None of these touch a FUSE mount, so none of
// them can hang on a daemon that stopped answering.
import { readFileSync } from 'node:fs';
import { readFile, readdir, readlink } from 'node:fs/promises';

export interface MountEntry { source: string; target: string; fstype: string; options: string }

/** /proc/mounts escapes space, tab, newline and backslash as \ooo. */
function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function parseMounts(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length < 4) continue;
    out.push({ source: unescapeMountField(f[0]!), target: unescapeMountField(f[1]!), fstype: f[2]!, options: f[3]! });
  }
  return out;
}

/** The topmost mount on `target`, if any. */
export async function mountEntry(target: string): Promise<MountEntry | undefined> {
  return parseMounts(await readFile('/proc/mounts', 'utf8')).filter((m) => m.target === target).pop();
}

export function mountEntrySync(target: string): MountEntry | undefined {
  return parseMounts(readFileSync('/proc/mounts', 'utf8')).filter((m) => m.target === target).pop();
}

export async function isMounted(target: string): Promise<boolean> {
  return (await mountEntry(target)) !== undefined;
}

/** Number of possible CPUs (/sys/devices/system/cpu/possible, e.g. "0-1" → 2): one ring queue each. */
export function possibleCpus(): number {
  let n = 0;
  for (const part of readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim().split(',')) {
    const [a, b] = part.split('-').map(Number);
    n += b === undefined ? 1 : b - a! + 1;
  }
  return n;
}

export function enableUring(): string {
  try {
    return readFileSync('/sys/module/fuse/parameters/enable_uring', 'utf8').trim();
  } catch {
    return 'missing';
  }
}

/**
 * Why the io_uring tests are skipped, or false to run them. They are skipped only when the
 * operator said so (FUSE_URING_SKIP_URING=1, honoured by scripts/test-setup.js too) and the
 * kernel really has io_uring off: otherwise a missing ring is a failure, not a skip.
 */
export function uringSkipReason(): string | false {
  if (process.env.FUSE_URING_SKIP_URING !== '1') return false;
  if (enableUring() !== 'Y') return `FUSE_URING_SKIP_URING=1 and /sys/module/fuse/parameters/enable_uring is ${enableUring()}`;
  let disabled = '0';
  try { disabled = readFileSync('/proc/sys/kernel/io_uring_disabled', 'utf8').trim(); } catch { /* older kernel: enabled */ }
  if (disabled === '2') return 'FUSE_URING_SKIP_URING=1 and kernel.io_uring_disabled is 2';
  return false;
}

/** What /proc/<pid>/fd/<fd> points at, e.g. 'anon_inode:[io_uring]', or undefined if closed. */
export async function fdTarget(pid: number, fd: number): Promise<string | undefined> {
  try {
    return await readlink(`/proc/${pid}/fd/${fd}`);
  } catch {
    return undefined;
  }
}

/** The fds of `pid` that are io_uring instances. */
export async function uringFds(pid: number): Promise<number[]> {
  const fds: number[] = [];
  for (const name of await readdir(`/proc/${pid}/fd`)) {
    if ((await fdTarget(pid, Number(name))) === 'anon_inode:[io_uring]') fds.push(Number(name));
  }
  return fds;
}

/**
 * The kernel's counters of an io_uring fd, from /proc/<pid>/fdinfo/<fd>. On 6.18 the file has
 * lines like "SqHead:\t18", "CqHead:\t13", "CqTail:\t13" (tab-separated, decimal, u32 that wrap).
 */
export async function fdinfoRing(pid: number, ringFd: number): Promise<Record<string, number>> {
  const text = await readFile(`/proc/${pid}/fdinfo/${ringFd}`, 'utf8');
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^(SqHead|SqTail|CachedSqHead|CqHead|CqTail|CachedCqTail|SqMask|CqMask):\s*(0x[0-9a-f]+|\d+)\s*$/gim)) {
    out[m[1]!] = Number(m[2]!);
  }
  if (out.CqTail === undefined) {
    throw new Error(`/proc/${pid}/fdinfo/${ringFd} has no CqTail line (not an io_uring fd?):\n${text}`);
  }
  return out;
}

/** CqTail of the daemon's ring: every completion the kernel posted, modulo 2^32. */
export async function fdinfoCqTail(pid: number, ringFd: number): Promise<number> {
  return (await fdinfoRing(pid, ringFd)).CqTail!;
}

/** after − before for the u32 ring counters. */
export function u32Delta(after: number, before: number): number {
  return (after - before) >>> 0;
}

/** Completions posted on every io_uring of `pid` (one per queue with queue threads), modulo 2^32. */
export async function cqTailSum(pid: number): Promise<number> {
  let sum = 0;
  for (const fd of await uringFds(pid)) sum = (sum + await fdinfoCqTail(pid, fd)) >>> 0;
  return sum;
}

export interface TaskInfo { tid: number; comm: string; cpus: string; switches: number; policy: number }

/** sched(7) policies as /proc/<pid>/stat field 41 gives them. */
export const SCHED_OTHER = 0;
export const SCHED_IDLE = 5;

/** The threads of `pid`: name, allowed CPUs (Cpus_allowed_list), context switches so far, policy. */
export async function tasks(pid: number): Promise<TaskInfo[]> {
  const out: TaskInfo[] = [];
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    try {
      const status = await readFile(`/proc/${pid}/task/${tid}/status`, 'utf8');
      const field = (k: string): string => new RegExp(`^${k}:\\s*(.*)$`, 'm').exec(status)?.[1]?.trim() ?? '';
      const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      // fields after "(comm)" start at field 3; policy is field 41
      const policy = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[41 - 3]);
      out.push({ tid: Number(tid), comm: field('Name'), cpus: field('Cpus_allowed_list'),
        switches: Number(field('voluntary_ctxt_switches')) + Number(field('nonvoluntary_ctxt_switches')), policy });
    } catch { /* the thread ended meanwhile */ }
  }
  return out;
}

/** The daemon's queue threads ("fuse-uring q<qid>"), by qid. */
export async function queueThreads(pid: number): Promise<Map<number, TaskInfo>> {
  const byQid = new Map<number, TaskInfo>();
  for (const t of await tasks(pid)) {
    const m = /^fuse-uring q(\d+)$/.exec(t.comm);
    if (m) byQid.set(Number(m[1]), t);
  }
  return byQid;
}
