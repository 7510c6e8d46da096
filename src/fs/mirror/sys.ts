// Syscalls as the mirror uses them: the addon's synchronous *at() calls (quick metadata, -errno
// results turned into FuseError here), Node's thread-pool fs calls on raw fd numbers (data, and
// anything that may take long: open with O_TRUNC, unlink of a large file, fsync), and the
// addon's thread-pool calls Node lacks (copy_file_range, fallocate, syncfs).
import * as fs from 'node:fs';
import { FuseError, Errno } from '../../errors.js';
import { native, AsyncOp, StatxField as F, STATX_FIELDS, StatfsField, type Native } from '../../native.js';
import type { Attr, Statfs, StatxAttr } from '../../filesystem.js';
import { AT_SYMLINK_NOFOLLOW, S_IFMT, STATX_BASIC_STATS, STATX_BTIME } from './constants.js';

export const sys: Native = native;

/** A native result: ≥ 0 as is, -errno thrown as FuseError. */
export function check(r: number): number {
  if (r < 0) throw new FuseError(-r);
  return r;
}

/** A native result that is a Buffer, or -errno. */
export function checkBuffer(r: Buffer | number): Buffer {
  if (typeof r === 'number') throw new FuseError(-r);
  return r;
}

/** Node's fs errors (errno negative, code 'ENOENT') and the rest as FuseError. */
export function asFuseError(e: unknown): unknown {
  if (e instanceof FuseError) return e;
  const x = e as { errno?: unknown; code?: unknown };
  if (typeof x?.errno === 'number' && x.errno !== 0 && Math.abs(x.errno) < 4096) return new FuseError(Math.abs(x.errno));
  if (typeof x?.code === 'string' && Errno[x.code] !== undefined) return new FuseError(Errno[x.code]!);
  return e;
}

/** One statx result, read from the Float64Array the addon fills. */
export class Stat {
  readonly v = new Float64Array(STATX_FIELDS);

  get mode(): number { return this.v[F.mode]!; }
  get type(): number { return this.v[F.mode]! & S_IFMT; }
  get uid(): number { return this.v[F.uid]!; }
  get gid(): number { return this.v[F.gid]!; }
  get nlink(): number { return this.v[F.nlink]!; }
  get size(): number { return this.v[F.size]!; }
  get ino(): number { return this.v[F.inoHi]! * 2 ** 32 + this.v[F.inoLo]!; }
  /** st_dev and st_ino, exactly (st_ino may pass 2^53): the identity of the inode. */
  get key(): string {
    const v = this.v;
    return `${v[F.devMajor]}:${v[F.devMinor]}:${v[F.inoHi]}:${v[F.inoLo]}`;
  }
  /** The birth time when the filesystem has one: tells a reused inode number from the old inode. */
  get btime(): string | undefined {
    const v = this.v;
    return v[F.mask]! & STATX_BTIME ? `${v[F.btime]}.${v[F.btimensec]}` : undefined;
  }

  attr(): Attr {
    const v = this.v;
    return {
      ino: this.ino, mode: v[F.mode]!, nlink: v[F.nlink]!, uid: v[F.uid]!, gid: v[F.gid]!,
      rdev: encodeDev(v[F.rdevMajor]!, v[F.rdevMinor]!), size: v[F.size]!, blocks: v[F.blocks]!, blksize: v[F.blksize]!,
      atime: v[F.atime]!, atimensec: v[F.atimensec]!, mtime: v[F.mtime]!, mtimensec: v[F.mtimensec]!,
      ctime: v[F.ctime]!, ctimensec: v[F.ctimensec]!,
    };
  }

  statx(): StatxAttr {
    const v = this.v;
    return {
      mask: v[F.mask]!, ino: this.ino, mode: v[F.mode]!, nlink: v[F.nlink]!, uid: v[F.uid]!, gid: v[F.gid]!,
      size: v[F.size]!, blocks: v[F.blocks]!, blksize: v[F.blksize]!, attributes: v[F.attributes]!,
      attributesMask: v[F.attributesMask]!, atime: v[F.atime]!, atimensec: v[F.atimensec]!,
      btime: v[F.btime]!, btimensec: v[F.btimensec]!, ctime: v[F.ctime]!, ctimensec: v[F.ctimensec]!,
      mtime: v[F.mtime]!, mtimensec: v[F.mtimensec]!, rdevMajor: v[F.rdevMajor]!, rdevMinor: v[F.rdevMinor]!,
      devMajor: v[F.devMajor]!, devMinor: v[F.devMinor]!,
    };
  }
}

/** fuse_attr.rdev is the kernel's new_encode_dev(): minor bits 0–7 and 20–31, major bits 8–19. */
export function encodeDev(major: number, minor: number): number {
  return ((minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12)) >>> 0;
}

/** statx(dirfd, name) without following a final symlink; name null: the fd itself. */
export function statAt(dirfd: number, name: Uint8Array | null, mask = STATX_BASIC_STATS | STATX_BTIME, flags = 0): Stat {
  const st = new Stat();
  check(native.fsStatx(dirfd, name, flags | AT_SYMLINK_NOFOLLOW, mask, st.v));
  return st;
}

const statfsOut = new Float64Array(8);
export function statfs(fd: number): Statfs {
  check(native.fsStatfs(fd, statfsOut));
  const o = statfsOut;
  return {
    blocks: o[StatfsField.blocks]!, bfree: o[StatfsField.bfree]!, bavail: o[StatfsField.bavail]!,
    files: o[StatfsField.files]!, ffree: o[StatfsField.ffree]!, bsize: o[StatfsField.bsize]!,
    namelen: o[StatfsField.namelen]!, frsize: o[StatfsField.frsize]!,
  };
}

// ---- in the thread pool ----

type Cb<T> = (e: NodeJS.ErrnoException | null, v: T) => void;
function call<T>(f: (cb: Cb<T>) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => f((e, v) => (e ? reject(asFuseError(e)) : resolve(v))));
}

export const openAsync = (path: string | Buffer, flags: number, mode = 0): Promise<number> =>
  call<number>((cb) => fs.open(path, flags, mode, cb));
export const closeAsync = (fd: number): Promise<void> => call<void>((cb) => fs.close(fd, (e) => cb(e, undefined)));
export const readAsync = (fd: number, buf: Buffer, off: number, len: number, pos: number): Promise<number> =>
  call<number>((cb) => fs.read(fd, buf, off, len, pos, cb));
export const writeAsync = (fd: number, buf: Buffer, off: number, len: number, pos: number): Promise<number> =>
  call<number>((cb) => fs.write(fd, buf, off, len, pos, cb));
export const fsyncAsync = (fd: number, datasync: boolean): Promise<void> =>
  call<void>((cb) => (datasync ? fs.fdatasync : fs.fsync)(fd, (e) => cb(e, undefined)));
export const ftruncateAsync = (fd: number, size: number): Promise<void> =>
  call<void>((cb) => fs.ftruncate(fd, size, (e) => cb(e, undefined)));
export function unlinkNow(path: Buffer): void {
  try {
    fs.unlinkSync(path);
  } catch (e) {
    throw asFuseError(e);
  }
}
export const unlinkAsync = (path: Buffer): Promise<void> => call<void>((cb) => fs.unlink(path, (e) => cb(e, undefined)));
export const rmdirAsync = (path: Buffer): Promise<void> => call<void>((cb) => fs.rmdir(path, (e) => cb(e, undefined)));
export const renameAsync = (from: Buffer, to: Buffer): Promise<void> => call<void>((cb) => fs.rename(from, to, (e) => cb(e, undefined)));

function nativeAsync(op: number, a: number, b = 0, c = 0, d = 0, e = 0, f = 0): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    native.fsAsync(op, a, b, c, d, e, f, (r) => (r < 0 ? reject(new FuseError(-r)) : resolve(r)));
  });
}

export const copyFileRangeAsync = (fdIn: number, offIn: number, fdOut: number, offOut: number, len: number, flags: number): Promise<number> =>
  nativeAsync(AsyncOp.COPY_FILE_RANGE, fdIn, offIn, fdOut, offOut, len, flags);
export const fallocateAsync = (fd: number, mode: number, offset: number, length: number): Promise<number> =>
  nativeAsync(AsyncOp.FALLOCATE, fd, mode, offset, length);
export const syncfsAsync = (fd: number): Promise<number> => nativeAsync(AsyncOp.SYNCFS, fd);
