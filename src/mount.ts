// Putting a FUSE connection on a directory and taking it off: mount(2) as root, fusermount3
// otherwise (or for auto_unmount), with the mount point checked first.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { native } from './native.js';
import { DEFAULTS, type MountOptions } from './options.js';

const MS_RDONLY = 1, MS_NOSUID = 2, MS_NODEV = 4;
const MNT_DETACH = 2;
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
}

interface MountInfo { dev: string; mountpoint: string; fstype: string }

/** Our view of /proc/self/mountinfo (read, never stat: stat of a FUSE mount can block). */
export function mountInfo(): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const f = line.slice(0, sep).split(' ');
    const after = line.slice(sep + 3).split(' ');
    out.push({ dev: f[2]!, mountpoint: unescape(f[4]!), fstype: after[0]! });
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

/**
 * Resolves the mount point and checks it can be mounted on: it exists, is a directory, and is
 * not a dead FUSE mount (whose daemon is gone). Throws MountError saying what to do.
 */
export async function checkMountpoint(mountpoint: string): Promise<string> {
  const abs = resolve(mountpoint);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })), STAT_TIMEOUT_MS);
  });
  try {
    const st = await Promise.race([stat(abs), timeout]);
    if (!st.isDirectory()) throw new MountError(`mount point ${abs} is not a directory`, 'ENOTDIR');
    return await realpath(abs);
  } catch (e) {
    if (e instanceof MountError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new MountError(`mount point ${abs} does not exist: create it first (mkdir -p ${abs})`, code);
    if (code === 'ENOTDIR') throw new MountError(`mount point ${abs} is not a directory`, code);
    if (code === 'ENOTCONN' || code === 'ECONNABORTED') {
      throw new MountError(`${abs} is a dead FUSE mount (its daemon is gone): clear it with \`fuse-uring unmount ${abs}\` (or \`umount -l ${abs}\`) and try again`, 'ENOTCONN');
    }
    if (code === 'ETIMEDOUT') {
      throw new MountError(`${abs} does not answer (a hung FUSE daemon there?): unmount it with \`umount -l ${abs}\` and try again`, code);
    }
    throw new MountError(`cannot use mount point ${abs}: ${(e as Error).message}`, code);
  } finally {
    clearTimeout(timer);
  }
}

/** Mounts a new FUSE connection on `mountpoint` (already checked). The kernel then sends INIT. */
export function mountFuse(mountpoint: string, o: MountOptions): Mounted {
  const root = native.geteuid() === 0;
  const m: Mounted = { mountpoint, fd: -1, via: 'mount', commFd: -1, helperPid: -1, dev: '' };
  if (root && !o.autoUnmount) {
    m.fd = native.openDev();
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
  m.dev = fuseMountAt(mountpoint)?.dev ?? '';
  return m;
}

/** True while our connection is still mounted at the mount point. */
export function stillMounted(m: Mounted): boolean {
  const top = fuseMountAt(m.mountpoint);
  return top !== undefined && (m.dev === '' || top.dev === m.dev);
}

/** Lazily unmounts our connection (if it is still there); the kernel then ends the connection. */
export async function unmountFuse(m: Mounted): Promise<void> {
  if (!stillMounted(m)) return;
  if (native.geteuid() === 0) {
    try {
      native.umount(m.mountpoint, MNT_DETACH);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
    }
    return;
  }
  await fusermountUnmount(m.mountpoint);
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
