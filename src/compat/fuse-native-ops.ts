// fuse-native's callback operations as a PathFilesystem. Each operation is called with
// fuse-native's arguments, in fuse-native's order, and its callback `cb(err, value)` read with
// fuse-native's conventions: err 0/null ok, a negative errno (Fuse.ENOENT is -2) or a positive
// one fails, and read/write pass their byte count as the first argument. A callback made before
// the operation returns is answered without a Promise; one that never comes is answered with
// ETIMEDOUT after fuse-native's auto-timeout (15 s unless `timeout` says otherwise).
import { Errno, FuseError } from '../errors.js';
import type { DirEntry, PathFilesystem, PathStatfs, Stat, TimeSpec } from '../paths/types.js';
import type { MaybePromise } from '../filesystem.js';
import { timeoutFor, type FuseNativeOptions } from './fuse-native-options.js';

type Callback = (...args: unknown[]) => void;
type Op = (...args: unknown[]) => void;
export type FuseNativeOps = Record<string, Op | undefined>;

/** fuse-native's err argument as a positive errno (0: success). */
export function errnoOf(err: unknown): number {
  if (err === null || err === undefined || err === false || err === 0) return 0;
  if (typeof err === 'number') return Number.isInteger(err) && Math.abs(err) < 4096 ? Math.abs(err) : Errno.EIO;
  if (typeof err === 'object') {
    const e = err as { errno?: unknown; code?: unknown };
    if (typeof e.errno === 'number' && e.errno !== 0 && Math.abs(e.errno) < 4096) return Math.abs(e.errno);
    if (typeof e.code === 'string' && Errno[e.code] !== undefined) return Errno[e.code]!;
  }
  return Errno.EIO;
}

function check(args: unknown[]): unknown[] {
  const n = errnoOf(args[0]);
  if (n !== 0) throw new FuseError(n);
  return args;
}

/** The callback results of a byte-count operation: cb(n), or leniently cb(0, n). */
function count(args: unknown[]): number {
  const a = args[0];
  if (typeof a === 'number' && a < 0) throw new FuseError(errnoOf(a));
  if (typeof a === 'number' && a > 0) return a;
  if ((a === 0 || a === null || a === undefined) && typeof args[1] === 'number' && args[1] > 0) return args[1];
  if (a !== null && typeof a === 'object') throw new FuseError(errnoOf(a));
  return 0;
}

/** fuse-native's stat: times are Dates or milliseconds, now when missing; nlink 1 when missing. */
function stat(st: unknown): Stat {
  if (st === null || typeof st !== 'object') throw new FuseError(Errno.EIO, `getattr gave ${String(st)}, not a stat object`);
  const s = st as Stat;
  if (s.atime !== undefined && s.mtime !== undefined && s.ctime !== undefined) return s;
  const now = Date.now();
  // Written out: adding properties to an object spread is ≈1.4 µs in V8 (src/filesystem.ts).
  return {
    mode: s.mode, ino: s.ino, nlink: s.nlink, uid: s.uid, gid: s.gid, rdev: s.rdev, size: s.size,
    blocks: s.blocks, blksize: s.blksize, atime: s.atime ?? now, mtime: s.mtime ?? now, ctime: s.ctime ?? now,
    atimeNs: s.atimeNs, mtimeNs: s.mtimeNs, ctimeNs: s.ctimeNs,
  };
}

const ms = (t: TimeSpec): number => t.sec * 1000 + Math.floor(t.nsec / 1e6);

/** The root's stat when a program has no getattr (what fuse-native answers). */
const ROOT_STAT: Stat = { mode: 0o40755, size: 4096, atime: 0, mtime: 0, ctime: 0 };

export function adaptOps(ops: FuseNativeOps, opts: FuseNativeOptions): PathFilesystem {
  const has = (k: string): boolean => typeof ops[k] === 'function';
  const timeouts = new Map<string, number>();
  const timeoutOf = (name: string): number => {
    let t = timeouts.get(name);
    if (t === undefined) timeouts.set(name, (t = timeoutFor(opts.timeout, name)));
    return t;
  };

  /** Calls ops[name](...args, cb); the callback's arguments, synchronously if it came at once. */
  function call(name: string, args: unknown[]): MaybePromise<unknown[]> {
    let sync = true;
    let result: unknown[] | undefined;
    let resolve: ((a: unknown[]) => void) | undefined;
    const cb: Callback = (...a) => {
      if (result !== undefined) return;
      result = a;
      if (!sync) resolve!(a);
    };
    args.push(cb);
    ops[name]!.apply(ops, args);
    sync = false;
    if (result !== undefined) return result;
    return new Promise<unknown[]>((ok) => {
      resolve = ok;
      const ms = timeoutOf(name);
      if (ms > 0) {
        const timer = setTimeout(() => cb(-(Errno.ETIMEDOUT ?? 110)), ms);
        resolve = (a) => { clearTimeout(timer); ok(a); };
      }
    });
  }

  const done = <T>(r: MaybePromise<unknown[]>, f: (a: unknown[]) => T): MaybePromise<T> =>
    Array.isArray(r) ? f(check(r)) : r.then((a) => f(check(a)));
  const plain = (name: string, args: unknown[]): MaybePromise<void> => done(call(name, args), () => undefined);
  const fd = (a: unknown[]): number => (typeof a[1] === 'number' && a[1] > 0 ? a[1] : 0);

  const fs: PathFilesystem = {
    getattr(path, fh) {
      if (fh !== undefined && has('fgetattr')) return done(call('fgetattr', [path, fh]), (a) => stat(a[1]));
      if (!has('getattr')) {
        if (path === '/') return ROOT_STAT;
        throw new FuseError(Errno.EPERM);
      }
      return done(call('getattr', [path]), (a) => stat(a[1]));
    },
  };
  if (has('init')) fs.init = () => done(call('init', []), () => undefined);
  if (has('access')) fs.access = (path, mask) => plain('access', [path, mask]);
  if (has('statfs')) fs.statfs = (path) => done(call('statfs', [path]), (a) => (a[1] ?? {}) as PathStatfs);
  if (has('chmod')) fs.chmod = (path, mode) => plain('chmod', [path, mode]);
  if (has('chown')) fs.chown = (path, uid, gid) => plain('chown', [path, uid >>> 0, gid >>> 0]);
  if (has('truncate') || has('ftruncate')) {
    fs.truncate = (path, size, fh) => {
      if (fh !== undefined && has('ftruncate')) return plain('ftruncate', [path, fh, size]);
      if (!has('truncate')) throw new FuseError(Errno.ENOSYS);
      return plain('truncate', [path, size]);
    };
  }
  if (has('utimens')) {
    fs.utimens = (path, atime, mtime) => {
      if (atime !== undefined && mtime !== undefined) return plain('utimens', [path, ms(atime), ms(mtime)]);
      // One of them is UTIME_OMIT: fuse-native takes both, so pass the current one on.
      const cur = fs.getattr!(path, undefined, undefined as never);
      const go = (st: Stat): MaybePromise<void> => {
        const keep = (t: Stat['atime']): number => (t instanceof Date ? t.getTime() : typeof t === 'number' ? t : Date.now());
        return plain('utimens', [path, atime ? ms(atime) : keep(st.atime), mtime ? ms(mtime) : keep(st.mtime)]);
      };
      return cur instanceof Promise ? cur.then(go) : go(cur as Stat);
    };
  }
  if (has('mkdir')) fs.mkdir = (path, mode) => plain('mkdir', [path, mode]);
  if (has('rmdir')) fs.rmdir = (path) => plain('rmdir', [path]);
  if (has('unlink')) fs.unlink = (path) => plain('unlink', [path]);
  if (has('rename')) {
    fs.rename = (from, to, flags) => {
      if (flags !== 0) throw new FuseError(Errno.EINVAL); // libfuse 2 has no renameat2 flags
      return plain('rename', [from, to]);
    };
  }
  if (has('link')) fs.link = (from, to) => plain('link', [from, to]);
  if (has('symlink')) fs.symlink = (target, path) => plain('symlink', [target, path]);
  if (has('readlink')) fs.readlink = (path) => done(call('readlink', [path]), (a) => String(a[1] ?? ''));
  if (has('mknod')) fs.mknod = (path, mode, rdev) => plain('mknod', [path, mode, rdev]);
  if (has('open')) fs.open = (path, flags) => done(call('open', [path, flags]), fd);
  if (has('opendir')) fs.opendir = (path, flags) => done(call('opendir', [path, flags]), fd);
  if (has('create')) fs.create = (path, mode) => done(call('create', [path, mode]), fd);
  if (has('read')) {
    fs.read = (path, fh, buffer, position) => {
      const r = call('read', [path, fh, buffer, buffer.length, position]);
      return Array.isArray(r) ? count(r) : r.then(count);
    };
  }
  if (has('write')) {
    fs.write = (path, fh, data, position) => {
      const r = call('write', [path, fh, data, data.length, position]);
      return Array.isArray(r) ? count(r) : r.then(count);
    };
  }
  if (has('flush')) fs.flush = (path, fh) => plain('flush', [path, fh]);
  if (has('release')) fs.release = (path, fh) => plain('release', [path, fh]);
  if (has('releasedir')) fs.releasedir = (path, fh) => plain('releasedir', [path, fh]);
  // fuse-native 2.x calls these with (path, datasync, fd, cb); its README says (path, fd, datasync, cb).
  if (has('fsync')) fs.fsync = (path, fh, datasync) => plain('fsync', [path, datasync ? 1 : 0, fh]);
  if (has('fsyncdir')) fs.fsyncdir = (path, fh, datasync) => plain('fsyncdir', [path, datasync ? 1 : 0, fh]);
  if (has('readdir')) {
    fs.readdir = (path) => done(call('readdir', [path]), (a) => {
      const names = Array.isArray(a[1]) ? (a[1] as unknown[]) : [];
      const stats = Array.isArray(a[2]) && a[2].length === names.length ? (a[2] as unknown[]) : undefined;
      const out: (string | DirEntry)[] = [];
      for (let i = 0; i < names.length; i++) {
        const name = String(names[i]);
        const st = stats?.[i];
        out.push(st !== null && typeof st === 'object' ? { name, stat: stat(st) } : name);
      }
      return out;
    });
  }
  if (has('setxattr')) fs.setxattr = (path, name, value, flags) => plain('setxattr', [path, name, value, 0, flags]);
  if (has('getxattr')) {
    fs.getxattr = (path, name) => done(call('getxattr', [path, name, 0]), (a) => {
      const v = a[1];
      if (v === null || v === undefined) return null;
      return typeof v === 'string' ? Buffer.from(v) : (v as Uint8Array);
    });
  }
  if (has('listxattr')) fs.listxattr = (path) => done(call('listxattr', [path]), (a) => (Array.isArray(a[1]) ? a[1].map(String) : []));
  if (has('removexattr')) fs.removexattr = (path, name) => plain('removexattr', [path, name]);
  return fs;
}
