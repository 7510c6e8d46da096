// The path-level API: a filesystem that thinks in paths ("/a/b.txt") rather than nodeids, with
// operations named after the syscalls. The bridge (bridge.ts) serves it over the inode-level
// Filesystem. Every path is absolute within the mount and is a name under the project's name
// rule (src/abi/names.ts): bytes that are not UTF-8 arrive as lone surrogates U+DC80–U+DCFF and
// round-trip exactly; nameToBuffer(path) gives the bytes.
import type { FileHandle, FileLock, InitInfo, MaybePromise, RequestContext } from '../filesystem.js';

/** Who is asking (uid, gid, pid, umask) and an AbortSignal for interrupts: the inode API's context. */
export type PathContext = RequestContext;

/** A point in time with nanoseconds (what utimensat(2) carries). */
export interface TimeSpec {
  sec: number;
  nsec: number;
}

/**
 * A time in a Stat: a Date, milliseconds since the epoch (fractions allowed, as fuse-native
 * takes them), a TimeSpec, or nanoseconds as a bigint.
 */
export type StatTime = Date | number | TimeSpec | bigint;

/**
 * What getattr returns: the fields of stat(2), most optional. Node's fs.Stats and
 * fs.BigIntStats fit as they are (their `atimeNs`… give nanoseconds when present).
 */
export interface Stat {
  /** File type and permission bits, e.g. 0o100644 or 0o40755. */
  mode: number | bigint;
  /** Shown as st_ino when `useIno` is on (the default) and it is not 0; otherwise the nodeid is. */
  ino?: number | bigint;
  /** Default 1. */
  nlink?: number | bigint;
  uid?: number | bigint;
  gid?: number | bigint;
  rdev?: number | bigint;
  size?: number | bigint;
  /** 512-byte blocks allocated. */
  blocks?: number | bigint;
  blksize?: number | bigint;
  /** Default: the epoch. */
  atime?: StatTime;
  mtime?: StatTime;
  ctime?: StatTime;
  atimeNs?: bigint;
  mtimeNs?: bigint;
  ctimeNs?: bigint;
}

/** A directory entry from readdir: a plain name, or a name with what is known about it. */
export interface DirEntry {
  name: string;
  /** With a stat, the entry can be served as READDIRPLUS (the kernel then skips the lookup). */
  stat?: Stat;
  /** d_ino, when there is no stat. */
  ino?: number;
  /** d_type as a file type (mode & 0o170000, e.g. 0o100000), when there is no stat. */
  type?: number;
}

/** What open, opendir and create may return: a handle, or a handle with caching choices. */
export interface OpenResult {
  fh?: FileHandle;
  /** Bypass the page cache for this open file (FOPEN_DIRECT_IO). */
  directIo?: boolean;
  /** Keep the page cache from earlier opens (FOPEN_KEEP_CACHE). */
  keepCache?: boolean;
  /** The file is not seekable (FOPEN_NONSEEKABLE). */
  nonSeekable?: boolean;
  /** opendir: the kernel may cache the listing (FOPEN_CACHE_DIR). */
  cacheDir?: boolean;
}

export type OpenReturn = FileHandle | OpenResult | void | undefined;

/** statvfs(2). `namemax` (fuse-native's name) or `namelen`; `frsize` defaults to `bsize`. */
export interface PathStatfs {
  bsize?: number;
  frsize?: number;
  blocks?: number;
  bfree?: number;
  bavail?: number;
  files?: number;
  ffree?: number;
  namemax?: number;
  namelen?: number;
}

/**
 * A path-level filesystem. Every method is optional (a missing one answers ENOSYS, except those
 * noted), may return a plain value or a Promise, and gets the request context last. Throw
 * FuseError(errno) to fail with that errno; a Node.js system error (err.code 'ENOENT', …) or a
 * number (2 or -2) fails with that errno too; anything else answers EIO, is logged, and the
 * filesystem goes on.
 *
 * getattr, like every path operation here, must not follow a final symlink (lstat, not stat).
 * `fh` is whatever open/opendir/create returned (0 if they are not implemented); an open file
 * whose name was unlinked or renamed over keeps getting its last path, so identify open files
 * by `fh` where that matters.
 */
export interface PathFilesystem {
  /** Before the first request; may narrow `info.want` as the inode API's init can. */
  init?(info: InitInfo): MaybePromise<void>;
  /** Exactly once, after the filesystem is unmounted. */
  destroy?(): MaybePromise<void>;

  /** lstat(2). Without it only "/" exists (as an empty directory). `fh` is set for fstat(2). */
  getattr?(path: string, fh: FileHandle | undefined, ctx: PathContext): MaybePromise<Stat>;
  /** access(2) (only sent without default_permissions); mask R_OK 4, W_OK 2, X_OK 1, F_OK 0. */
  access?(path: string, mask: number, ctx: PathContext): MaybePromise<void>;
  /** Without it, statfs reports a 512-byte block size, 255-byte names and zeros. */
  statfs?(path: string, ctx: PathContext): MaybePromise<PathStatfs>;

  chmod?(path: string, mode: number, fh: FileHandle | undefined, ctx: PathContext): MaybePromise<void>;
  /** -1 for the one not being changed. */
  chown?(path: string, uid: number, gid: number, fh: FileHandle | undefined, ctx: PathContext): MaybePromise<void>;
  /** truncate(2), or ftruncate(2) when `fh` is set. */
  truncate?(path: string, size: number, fh: FileHandle | undefined, ctx: PathContext): MaybePromise<void>;
  /** utimensat(2); undefined for a time not being changed (UTIME_OMIT). UTIME_NOW arrives as the current time. */
  utimens?(path: string, atime: TimeSpec | undefined, mtime: TimeSpec | undefined, fh: FileHandle | undefined,
    ctx: PathContext): MaybePromise<void>;

  mkdir?(path: string, mode: number, ctx: PathContext): MaybePromise<void>;
  rmdir?(path: string, ctx: PathContext): MaybePromise<void>;
  unlink?(path: string, ctx: PathContext): MaybePromise<void>;
  /** rename(2)/renameat2(2); flags: RENAME_NOREPLACE 1, RENAME_EXCHANGE 2, RENAME_WHITEOUT 4. */
  rename?(from: string, to: string, flags: number, ctx: PathContext): MaybePromise<void>;
  /** A new name `to` for the file at `from`. */
  link?(from: string, to: string, ctx: PathContext): MaybePromise<void>;
  /** symlink(2): a link at `path` whose content is `target` (any bytes, under the name rule). */
  symlink?(target: string, path: string, ctx: PathContext): MaybePromise<void>;
  readlink?(path: string, ctx: PathContext): MaybePromise<string | Uint8Array>;
  /** mknod(2); without it a regular file is made with create + release. */
  mknod?(path: string, mode: number, rdev: number, ctx: PathContext): MaybePromise<void>;

  /** Without it, open succeeds with fh 0. */
  open?(path: string, flags: number, ctx: PathContext): MaybePromise<OpenReturn>;
  /** open(2) with O_CREAT: create and open. Without it the kernel uses mknod, then open. */
  create?(path: string, mode: number, flags: number, ctx: PathContext): MaybePromise<OpenReturn>;
  /**
   * pread(2): fill `buffer` (its length is the size asked for) from `position` and return the
   * byte count (0 at the end of the file), or return the bytes.
   */
  read?(path: string, fh: FileHandle, buffer: Buffer, position: number, ctx: PathContext): MaybePromise<number | Uint8Array>;
  /** pwrite(2): returns the bytes written. `data` is valid until the call settles: copy what you keep. */
  write?(path: string, fh: FileHandle, data: Buffer, position: number, ctx: PathContext): MaybePromise<number>;
  /** close(2) of one descriptor (there may be several per open file). */
  flush?(path: string, fh: FileHandle, ctx: PathContext): MaybePromise<void>;
  /** The last close of an open file. */
  release?(path: string, fh: FileHandle, flags: number, ctx: PathContext): MaybePromise<void>;
  fsync?(path: string, fh: FileHandle, datasync: boolean, ctx: PathContext): MaybePromise<void>;
  /** fallocate(2) modes: KEEP_SIZE 1, PUNCH_HOLE 2, ZERO_RANGE 0x10, … */
  fallocate?(path: string, fh: FileHandle, offset: number, length: number, mode: number, ctx: PathContext): MaybePromise<void>;
  /** SEEK_DATA 3 / SEEK_HOLE 4 only; returns the new offset. */
  lseek?(path: string, fh: FileHandle, offset: number, whence: number, ctx: PathContext): MaybePromise<number>;
  copyFileRange?(pathIn: string, fhIn: FileHandle, offsetIn: number, pathOut: string, fhOut: FileHandle,
    offsetOut: number, length: number, flags: number, ctx: PathContext): MaybePromise<number>;

  /** Without it, opendir succeeds with fh 0. */
  opendir?(path: string, flags: number, ctx: PathContext): MaybePromise<OpenReturn>;
  /**
   * The whole listing, in order. "." and ".." are added in front when missing. Called again
   * when a reader rewinds; the bridge pages it out to the kernel.
   */
  readdir?(path: string, fh: FileHandle, ctx: PathContext): MaybePromise<Iterable<string | DirEntry>>;
  releasedir?(path: string, fh: FileHandle, ctx: PathContext): MaybePromise<void>;
  fsyncdir?(path: string, fh: FileHandle, datasync: boolean, ctx: PathContext): MaybePromise<void>;

  /** flags: XATTR_CREATE 1, XATTR_REPLACE 2. */
  setxattr?(path: string, name: string, value: Buffer, flags: number, ctx: PathContext): MaybePromise<void>;
  /** The value, or null/undefined (or throw ENODATA) when there is none. */
  getxattr?(path: string, name: string, ctx: PathContext): MaybePromise<Uint8Array | null | undefined>;
  listxattr?(path: string, ctx: PathContext): MaybePromise<string[]>;
  removexattr?(path: string, name: string, ctx: PathContext): MaybePromise<void>;

  /** POSIX locks, with the mount option posixLocks (see the inode API's getlk/setlk). */
  getlk?(path: string, fh: FileHandle, owner: number, lock: FileLock, ctx: PathContext): MaybePromise<FileLock>;
  setlk?(path: string, fh: FileHandle, owner: number, lock: FileLock, sleep: boolean, ctx: PathContext): MaybePromise<void>;
  /** flock(2), with the mount option flockLocks. */
  flock?(path: string, fh: FileHandle, owner: number, operation: number, ctx: PathContext): MaybePromise<void>;
}

/** How the bridge presents a PathFilesystem to the kernel. */
export interface PathOptions {
  /** Seconds the kernel may cache a name → file binding. Default 1. */
  entryTimeout?: number;
  /** Seconds the kernel may cache attributes. Default 1. */
  attrTimeout?: number;
  /** Seconds the kernel may cache "no such name". Default 0 (not cached). */
  negativeTimeout?: number;
  /** st_ino from Stat.ino when it is not 0 (default true); false: st_ino is the nodeid. */
  useIno?: boolean;
  /** Serve READDIRPLUS for entries that carry a stat (default true). */
  readdirplus?: boolean;
  /** Keep the page cache across opens (FOPEN_KEEP_CACHE on every open; libfuse's kernel_cache). */
  keepCache?: boolean;
  /** Keep the page cache when size and mtime did not change since the last open (libfuse's auto_cache). */
  autoCache?: boolean;
  /** Report every file as owned by this uid / gid, whatever getattr says. */
  uid?: number;
  gid?: number;
  /** Report permission bits as 0o777 & ~umask, whatever getattr says. */
  umask?: number;
  /** Never forget a nodeid (libfuse's noforget): the table only grows. */
  noforget?: boolean;
}
