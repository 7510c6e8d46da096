// Putting a FUSE connection on a directory and taking it off: mount(2) as root, fusermount3
// otherwise (or for auto_unmount), with the mount point checked first.
import { execFile, spawn } from 'node:child_process';
import { accessSync, constants, readFileSync, writeFileSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { native } from './native.js';
import { DEFAULTS, type MountOptions } from './options.js';

const MS_RDONLY = 1, MS_NOSUID = 2, MS_NODEV = 4;
const MNT_DETACH = 2;
export const FUSECTL = '/sys/fs/fuse/connections';
/** A stat of the mount point that takes longer than this means a hung FUSE daemon is there. */
const STAT_TIMEOUT_MS = 3000;

export class MountError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
    this.name = 'MountError';
  }
}

export interface Mounted {
  mountpoint: string;
  /** The /dev/fuse fd. */
  fd: number;
  via: 'mount' | 'fusermount3';
  /** fusermount3's socket and pid, kept while it watches for auto_unmount. */
  commFd: number;
  helperPid: number;
  /** major:minor of the mount (the minor is the fusectl connection id), to unmount only our own. */
  dev: string;
  /** The mount's id in /proc/self/mountinfo (with dev, tells our mount from a later one at the same path). */
  mountId: number;
}

export interface MountInfo { mountId: number; dev: string; mountpoint: string; fstype: string }

/** Our view of /proc/self/mountinfo (read, never stat: stat of a FUSE mount can block). */
export function mountInfo(): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const f = line.slice(0, sep).split(' ');
    const after = line.slice(sep + 3).split(' ');
    out.push({ mountId: Number(f[0]), dev: f[2]!, mountpoint: unescape(f[4]!), fstype: after[0]! });
  }
  return out;
}

function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** The FUSE mount on top of `mountpoint`, if there is one. */
export function fuseMountAt(mountpoint: string): MountInfo | undefined {
  const mine = mountInfo().filter((m) => m.mountpoint === mountpoint);
  const top = mine[mine.length - 1];
  return top && /^fuse(blk)?(\.|$)/.test(top.fstype) ? top : undefined;
}

export interface CheckOptions {
  /** Clear a dead (or unanswering) FUSE mount found there instead of refusing. */
  force?: boolean;
  /** Where a cleared mount is reported. */
  log?: (line: string) => void;
}

/** How many dead FUSE mounts stacked on one mount point --force clears before giving up. */
const MAX_FORCED = 8;

/**
 * Resolves the mount point and checks it can be mounted on: it exists, is a directory, and is
 * not a dead FUSE mount (whose daemon is gone) or one that does not answer — those are cleared
 * with `force`, refused otherwise. A non-root user must be able to write to it (fusermount3's
 * rule). Throws MountError saying what to do.
 */
export async function checkMountpoint(mountpoint: string, opts: CheckOptions = {}): Promise<string> {
  const abs = resolve(mountpoint);
  for (let cleared = 0; ; cleared++) {
    const problem = await probeMountpoint(abs);
    if (typeof problem !== 'object') {
      if (native.geteuid() !== 0) checkWritable(problem);
      return problem;
    }
    const fuse = fuseMountAt(abs);
    if (!opts.force || !fuse || cleared >= MAX_FORCED) throw problem;
    const what = problem.code === 'ETIMEDOUT' ? 'a FUSE mount that did not answer' : 'a dead FUSE mount';
    await clearFuseMount(abs, fuse);
    opts.log?.(`cleared ${what} at ${abs} (--force)`);
  }
}

/**
 * stat() of a path on a FUSE mount, in a child process: a daemon that does not answer blocks the
 * caller in the kernel, and a thread of ours blocked there would keep this process from ever
 * exiting (Node joins its thread pool at exit). The child is killed after `ms` and left behind.
 */
function statInChild(path: string, ms: number): Promise<{ isDirectory(): boolean }> {
  const script = "require('fs').stat(process.argv[1], (e, st) => process.stdout.write(e ? 'E' + e.code : st.isDirectory() ? 'dir' : 'other'))";
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script, path], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      child.unref();
      child.stdout!.destroy();
      reject(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }));
    }, ms);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', () => {
      clearTimeout(timer);
      if (out === 'dir' || out === 'other') resolve({ isDirectory: () => out === 'dir' });
      else reject(Object.assign(new Error(out.slice(1) || 'stat failed'), { code: out.slice(1) || 'EIO' }));
    });
  });
}

/** The real path of a usable mount point, or the MountError that says why it is not. */
async function probeMountpoint(abs: string): Promise<string | MountError> {
  let timer: NodeJS.Timeout | undefined;
  const clear = `clear it with \`fuse-uring unmount ${abs}\`, or mount with --force (MountOptions.force) to clear it first`;
  try {
    // On top of a FUSE mount, ask from a child process, which may get stuck there instead of us.
    const st = fuseMountAt(abs) ? await statInChild(abs, STAT_TIMEOUT_MS) : await Promise.race([stat(abs), new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })), STAT_TIMEOUT_MS);
    })]);
    if (!st.isDirectory()) return new MountError(`mount point ${abs} is not a directory`, 'ENOTDIR');
    return await realpath(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return new MountError(`mount point ${abs} does not exist: create it first (mkdir -p ${abs})`, code);
    if (code === 'ENOTDIR') return new MountError(`mount point ${abs} is not a directory`, code);
    if (code === 'ENOTCONN' || code === 'ECONNABORTED') {
      return new MountError(`${abs} is a dead FUSE mount (its daemon is gone): ${clear}`, 'ENOTCONN');
    }
    if (code === 'ETIMEDOUT') return new MountError(`${abs} does not answer (a hung FUSE daemon there?): ${clear}`, code);
    return new MountError(`cannot use mount point ${abs}: ${(e as Error).message}`, code);
  } finally {
    clearTimeout(timer);
  }
}

/** fusermount3 mounts only where the user may write (and, in a sticky directory, owns it). */
function checkWritable(abs: string): void {
  try {
    accessSync(abs, constants.W_OK);
  } catch {
    throw new MountError(`you (uid ${native.geteuid()}) cannot write to the mount point ${abs}, and fusermount3 mounts only there: use a directory you own`, 'EACCES');
  }
}

/**
 * Takes a FUSE mount off `abs`: aborts its connection through fusectl when that is mounted (so
 * that nothing stays blocked in it), then unmounts lazily — umount2(MNT_DETACH) as root,
 * `fusermount3 -u -z` otherwise. `fuse` is the mount seen there (only that one is touched).
 */
export async function clearFuseMount(abs: string, fuse: MountInfo): Promise<void> {
  abortConnection(fuse.dev);
  if (native.geteuid() === 0) {
    try {
      native.umount(abs, MNT_DETACH);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw new MountError(`umount of ${abs} failed: ${(e as Error).message}`);
    }
  } else {
    await fusermountUnmount(abs);
  }
}

/** Writes to /sys/fs/fuse/connections/<minor>/abort; false if fusectl is not mounted or refuses. */
export function abortConnection(dev: string): boolean {
  const minor = dev.split(':')[1];
  if (!minor || !/^\d+$/.test(minor)) return false;
  try {
    writeFileSync(`${FUSECTL}/${minor}/abort`, '1');
    return true;
  } catch {
    return false;
  }
}

/**
 * Mounts a new FUSE connection on `mountpoint` (already checked): mount(2) for `via` 'mount'
 * (root), fusermount3 otherwise. The kernel then sends INIT.
 */
export function mountFuse(mountpoint: string, o: MountOptions, via: 'mount' | 'fusermount3' = native.geteuid() === 0 ? 'mount' : 'fusermount3'): Mounted {
  const root = native.geteuid() === 0;
  const m: Mounted = { mountpoint, fd: -1, via: 'mount', commFd: -1, helperPid: -1, dev: '', mountId: -1 };
  if (via === 'mount') {
    try {
      m.fd = native.openDev();
    } catch (e) {
      throw new MountError(`cannot open /dev/fuse: ${(e as Error).message}`, (e as NodeJS.ErrnoException).code);
    }
    const data = [`fd=${m.fd}`, 'rootmode=40000', `user_id=${native.geteuid()}`, `group_id=${native.getegid()}`];
    if (o.defaultPermissions) data.push('default_permissions');
    if (o.allowOther) data.push('allow_other');
    const fstype = o.subtype ? `fuse.${o.subtype}` : 'fuse';
    try {
      native.mount(o.fsName ?? DEFAULTS.fsName, mountpoint, fstype, MS_NOSUID | MS_NODEV | (o.readOnly ? MS_RDONLY : 0), data.join(','));
    } catch (e) {
      native.close(m.fd);
      throw new MountError(`mount(2) of ${mountpoint} failed: ${(e as Error).message}`, (e as NodeJS.ErrnoException).code);
    }
  } else {
    const opts = [`fsname=${o.fsName ?? DEFAULTS.fsName}`, 'nosuid', 'nodev'];
    if (o.subtype) opts.push(`subtype=${o.subtype}`);
    if (o.defaultPermissions) opts.push('default_permissions');
    if (o.allowOther) opts.push('allow_other');
    if (o.readOnly) opts.push('ro');
    if (o.autoUnmount) opts.push('auto_unmount');
    let r;
    try {
      r = native.fusermount(mountpoint, opts.join(','), !!o.autoUnmount);
    } catch (e) {
      throw new MountError(`${(e as Error).message}${root ? '' : ' (as a non-root user, /dev/fuse must be mode 0666 and allow_other needs user_allow_other in /etc/fuse.conf)'}`, (e as NodeJS.ErrnoException).code);
    }
    Object.assign(m, { via: 'fusermount3', fd: r.fd, commFd: r.commFd, helperPid: r.pid });
  }
  const top = fuseMountAt(mountpoint);
  m.dev = top?.dev ?? '';
  m.mountId = top?.mountId ?? -1;
  return m;
}

/** True while our connection is still mounted at the mount point. */
export function stillMounted(m: Mounted): boolean {
  const top = fuseMountAt(m.mountpoint);
  return top !== undefined && (m.dev === '' || top.dev === m.dev) && (m.mountId < 0 || top.mountId === m.mountId);
}

/** Lazily unmounts our connection (if it is still there); the kernel then ends the connection. */
export async function unmountFuse(m: Mounted): Promise<void> {
  if (!stillMounted(m)) return;
  await detachMount(m.mountpoint);
}

/** How long a child umount may take before we stop waiting for it. */
const DETACH_TIMEOUT_MS = 10_000;

/**
 * umount2(MNT_DETACH) of whatever is at `mountpoint` — from a child process, never from this
 * thread. Dropping the last reference to a FUSE mount runs the kernel's teardown on the caller's
 * thread, and that teardown waits for requests still in flight; over io_uring those are handed to
 * the daemon by task_work that only the daemon's own thread can run. A daemon that unmounted
 * itself this way while a client's FLUSH was in flight hung in D state for good (unkillable).
 * Non-root: `fusermount3 -u -z`, which is a child already.
 */
export function detachMount(mountpoint: string): Promise<void> {
  if (native.geteuid() !== 0) return fusermountUnmount(mountpoint);
  return new Promise((ok, fail) => {
    let done = false;
    const finish = (e?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (e) fail(e);
      else ok();
    };
    // If the kernel's teardown never ends, the child is stuck (not us): stop waiting for it.
    const timer = setTimeout(() => finish(new MountError(`umount -l ${mountpoint}: no answer after ${DETACH_TIMEOUT_MS} ms`)), DETACH_TIMEOUT_MS);
    timer.unref();
    // -i: no /sbin/umount.<type> helper; -l: MNT_DETACH.
    const child = execFile('umount', ['-i', '-l', '--', mountpoint], (err, _out, stderr) => {
      if (!err) return finish();
      if (/not mounted|no mount point|not found/i.test(String(stderr))) return finish();
      finish(new MountError(`umount -l ${mountpoint} failed: ${String(stderr).trim() || err.message}`));
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') return finish(e);
      // No umount(8) on this machine: the syscall here, with the risk described above.
      try {
        native.umount(mountpoint, MNT_DETACH);
        finish();
      } catch (e2) {
        finish((e2 as NodeJS.ErrnoException).code === 'EINVAL' ? undefined : (e2 as Error));
      }
    });
  });
}

/** `fusermount3 -u -z <mountpoint>`: how a non-root user unmounts. */
export function fusermountUnmount(mountpoint: string): Promise<void> {
  return new Promise((ok, fail) => {
    execFile('fusermount3', ['-u', '-z', '--', mountpoint], { timeout: 10_000 }, (err, _out, stderr) => {
      if (err) fail(new MountError(`fusermount3 -u ${mountpoint} failed: ${String(stderr).trim() || err.message}`));
      else ok();
    });
  });
}

/** Releases what mountFuse kept besides the fd: fusermount3's socket (it then exits) and its pid. */
export function releaseHelper(m: Mounted): void {
  if (m.commFd >= 0) {
    native.close(m.commFd);
    m.commFd = -1;
  }
  if (m.helperPid > 0) {
    const pid = m.helperPid;
    // fusermount3 exits once it sees the socket close; reap it so no zombie is left.
    const reap = (tries: number): void => {
      if (native.reap(pid) || tries <= 0) return;
      setTimeout(() => reap(tries - 1), 100).unref();
    };
    reap(50);
    m.helperPid = -1;
  }
}
