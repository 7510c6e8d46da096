// fuse-uring/compat/fuse-native: fuse-native's `Fuse` class on fuse-uring, for programs written
// against fuse-native (callback-style, path-based operations): change the module name and they
// run, served over FUSE-over-io_uring when the kernel offers it (/dev/fuse otherwise).
//
//   const Fuse = require('fuse-uring/compat/fuse-native')      // CommonJS
//   import Fuse from 'fuse-uring/compat/fuse-native'           // ESM: module.exports is the default
//
// This file is CommonJS and loads nothing heavy: the errno constants and the static members are
// there at once; the ESM core (the addon, the session, the path bridge) is imported the first
// time something is mounted or unmounted, which is asynchronous with a callback anyway.
// Beyond fuse-native: the environment variable FUSE_URING_TRANSPORT=uring|dev|auto (or the
// option `transport`) chooses the transport; fuse-uring's own mount options pass through.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ERRNO } from './errno.cjs';

type Callback = (err: Error | null) => void;
const noop: Callback = () => {};

type Core = typeof import('./fuse-native-core.js');
let core: Promise<Core> | undefined;
const loadCore = (): Promise<Core> => (core ??= import('./fuse-native-core.js'));

/** Calls back on a later tick with the outcome of `p`, as fuse-native's callbacks come. */
function settle(p: Promise<unknown>, cb: Callback): void {
  p.then(() => process.nextTick(cb, null), (e: Error) => process.nextTick(cb, e));
}

class Fuse {
  /** The mount point, resolved. */
  readonly mnt: string;
  readonly ops: Fuse.Operations;
  readonly opts: Fuse.Options;
  /** nanoresource's state, as fuse-native exposes it. */
  opened = false;
  opening = false;
  closed = false;
  closing = false;
  private session: { unmount(): Promise<void> } | undefined;
  private openP: Promise<void> | undefined;
  private closeP: Promise<void> | undefined;

  constructor(mnt: string, ops: Fuse.Operations, opts: Fuse.Options = {}) {
    this.mnt = resolve(mnt);
    this.ops = ops ?? {};
    this.opts = opts ?? {};
  }

  /** Mounts; `cb(err)` once the kernel's INIT is answered (the filesystem is usable then). */
  mount(cb: Callback = noop): void {
    this.open(cb);
  }

  /** Unmounts; `cb(err)` once the session has ended. A Fuse cannot be mounted again after. */
  unmount(cb: Callback = noop): void {
    this.close(cb);
  }

  open(cb: Callback = noop): void {
    if (this.closed || this.closing) {
      process.nextTick(cb, new Error('Resource is closed: a Fuse cannot be mounted again after unmount'));
      return;
    }
    if (this.openP === undefined) {
      this.opening = true;
      this.openP = loadCore().then((c) => c.mountFuseNative(this.mnt, this.ops as never, this.opts)).then(
        (m) => { this.session = m.session; this.opened = true; this.opening = false; },
        (e: Error) => { this.opening = false; this.openP = undefined; throw e; },
      );
    }
    settle(this.openP, cb);
  }

  close(cb: Callback = noop): void {
    if (this.closeP === undefined) {
      this.closing = true;
      const opening = this.openP ?? Promise.resolve();
      this.closeP = opening.catch(() => {}).then(async () => {
        if (this.session) await this.session.unmount();
        this.closed = true;
        this.closing = false;
      });
    }
    settle(this.closeP, cb);
  }

  /** The negative errno for a code name ('ENOENT' → -2), -1 (EPERM) when unknown. */
  errno(code: string): number {
    return (code && ERRNO[String(code).toUpperCase()]) || -1;
  }

  /** Unmounts whatever FUSE filesystem is at `mnt` (this process's own, or another's: lazily). */
  static unmount(mnt: string, cb: Callback = noop): void {
    settle(loadCore().then((c) => c.unmountPath(resolve(mnt))), cb);
  }

  /** On Linux FUSE needs no setup beyond the kernel module: configured when /dev/fuse exists. */
  static isConfigured(cb: (err: Error | null, configured: boolean) => void): void {
    process.nextTick(cb, null, existsSync('/dev/fuse'));
  }

  /** fuse-native installs a macOS kernel extension here; on Linux there is nothing to do. */
  static configure(cb: Callback = noop): void {
    process.nextTick(cb, null);
  }

  static unconfigure(cb: Callback = noop): void {
    process.nextTick(cb, null);
  }

  static beforeMount(cb: Callback = noop): void {
    process.nextTick(cb, null);
  }

  static beforeUnmount(cb: Callback = noop): void {
    process.nextTick(cb, null);
  }
}

// Fuse.EPERM = -1, Fuse.ENOENT = -2, …, as fuse-native has them.
for (const [name, n] of Object.entries(ERRNO)) Object.defineProperty(Fuse, name, { value: n, enumerable: true });

declare namespace Fuse {
  interface Stat {
    mode: number; uid?: number; gid?: number; size?: number; dev?: number; nlink?: number; ino?: number;
    rdev?: number; blksize?: number; blocks?: number; atime?: Date | number; mtime?: Date | number; ctime?: Date | number;
  }
  interface Statfs {
    bsize?: number; frsize?: number; blocks?: number; bfree?: number; bavail?: number; files?: number; ffree?: number;
    favail?: number; fsid?: number; flag?: number; namemax?: number;
  }
  /** fuse-native's operations, with its argument orders. */
  interface Operations {
    init?(cb: (err?: number | null) => void): void;
    access?(path: string, mode: number, cb: (err: number | null) => void): void;
    statfs?(path: string, cb: (err: number | null, statfs?: Statfs) => void): void;
    getattr?(path: string, cb: (err: number | null, stat?: Stat) => void): void;
    fgetattr?(path: string, fd: number, cb: (err: number | null, stat?: Stat) => void): void;
    flush?(path: string, fd: number, cb: (err: number | null) => void): void;
    fsync?(path: string, datasync: number, fd: number, cb: (err: number | null) => void): void;
    fsyncdir?(path: string, datasync: number, fd: number, cb: (err: number | null) => void): void;
    readdir?(path: string, cb: (err: number | null, names?: string[], stats?: Stat[]) => void): void;
    truncate?(path: string, size: number, cb: (err: number | null) => void): void;
    ftruncate?(path: string, fd: number, size: number, cb: (err: number | null) => void): void;
    readlink?(path: string, cb: (err: number | null, target?: string) => void): void;
    chown?(path: string, uid: number, gid: number, cb: (err: number | null) => void): void;
    chmod?(path: string, mode: number, cb: (err: number | null) => void): void;
    mknod?(path: string, mode: number, dev: number, cb: (err: number | null) => void): void;
    setxattr?(path: string, name: string, value: Buffer, position: number, flags: number, cb: (err: number | null) => void): void;
    getxattr?(path: string, name: string, position: number, cb: (err: number | null, value?: Buffer | null) => void): void;
    listxattr?(path: string, cb: (err: number | null, names?: string[]) => void): void;
    removexattr?(path: string, name: string, cb: (err: number | null) => void): void;
    open?(path: string, flags: number, cb: (err: number | null, fd?: number) => void): void;
    opendir?(path: string, flags: number, cb: (err: number | null, fd?: number) => void): void;
    /** cb(bytesRead): the byte count is the first argument. */
    read?(path: string, fd: number, buffer: Buffer, length: number, position: number, cb: (bytesOrErr: number) => void): void;
    /** cb(bytesWritten): the byte count is the first argument. */
    write?(path: string, fd: number, buffer: Buffer, length: number, position: number, cb: (bytesOrErr: number) => void): void;
    release?(path: string, fd: number, cb: (err: number | null) => void): void;
    releasedir?(path: string, fd: number, cb: (err: number | null) => void): void;
    create?(path: string, mode: number, cb: (err: number | null, fd?: number) => void): void;
    /** atime and mtime in milliseconds since the epoch. */
    utimens?(path: string, atime: number, mtime: number, cb: (err: number | null) => void): void;
    unlink?(path: string, cb: (err: number | null) => void): void;
    rename?(src: string, dest: string, cb: (err: number | null) => void): void;
    link?(src: string, dest: string, cb: (err: number | null) => void): void;
    symlink?(src: string, dest: string, cb: (err: number | null) => void): void;
    mkdir?(path: string, mode: number, cb: (err: number | null) => void): void;
    rmdir?(path: string, cb: (err: number | null) => void): void;
  }
  /** fuse-native's options; see docs/paths.md for what each does here. */
  interface Options {
    [k: string]: unknown;
    force?: boolean; mkdir?: boolean; debug?: boolean; displayFolder?: unknown; name?: string;
    timeout?: number | false | Record<string, number | false>;
    allowOther?: boolean; allowRoot?: boolean; autoUnmount?: boolean; defaultPermissions?: boolean;
    blkdev?: boolean; blksize?: number; maxRead?: number; fd?: number; userId?: number; fsname?: string; subtype?: string;
    kernelCache?: boolean; autoCache?: boolean; umask?: number; uid?: number; gid?: number;
    entryTimeout?: number; attrTimeout?: number; acAttrTimeout?: number; noforget?: boolean; remember?: number; modules?: string;
    /** fuse-uring: 'uring', 'dev' or 'auto' (default; also FUSE_URING_TRANSPORT). */
    transport?: 'auto' | 'uring' | 'dev';
  }
}

// Typed access to the errno constants (defined above, from the table).
declare namespace Fuse {
  const EPERM: number, ENOENT: number, ESRCH: number, EINTR: number, EIO: number, ENXIO: number, E2BIG: number,
    ENOEXEC: number, EBADF: number, ECHILD: number, EAGAIN: number, ENOMEM: number, EACCES: number, EFAULT: number,
    ENOTBLK: number, EBUSY: number, EEXIST: number, EXDEV: number, ENODEV: number, ENOTDIR: number, EISDIR: number,
    EINVAL: number, ENFILE: number, EMFILE: number, ENOTTY: number, ETXTBSY: number, EFBIG: number, ENOSPC: number,
    ESPIPE: number, EROFS: number, EMLINK: number, EPIPE: number, EDOM: number, ERANGE: number, EDEADLK: number,
    ENAMETOOLONG: number, ENOLCK: number, ENOSYS: number, ENOTEMPTY: number, ELOOP: number, EWOULDBLOCK: number,
    ENOMSG: number, EIDRM: number, ENODATA: number, ETIME: number, EPROTO: number, EBADMSG: number, EOVERFLOW: number,
    EILSEQ: number, ENOTSOCK: number, EOPNOTSUPP: number, ENOTSUP: number, ECONNREFUSED: number, ENOTCONN: number,
    ETIMEDOUT: number, ESTALE: number, EDQUOT: number, EDEADLOCK: number, ECANCELED: number;
}

export = Fuse;
