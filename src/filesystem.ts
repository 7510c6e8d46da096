// The public, inode-level Filesystem interface: every method optional, a missing one answers
// ENOSYS. Shapes follow libfuse's low-level API and the kernel's structs (fuse_attr, fuse_entry_out).
//
// Numbers: nodeids, file handles, sizes and offsets are JavaScript numbers (exact up to 2^53).
// Names: see src/abi/names.ts — a name is a string decoded from the kernel's bytes as UTF-8, with
// each byte that is not valid UTF-8 mapped to a lone surrogate U+DC80–U+DCFF (Python's
// "surrogateescape"), so any byte string round-trips unchanged through every method.

/** Identifies an inode for the kernel; 1 is the root. */
export type NodeId = number;
/** A file or directory handle chosen by the filesystem in open/opendir/create. */
export type FileHandle = number;

/** struct fuse_attr. Times are seconds since the epoch plus nanoseconds. */
export interface Attr {
  ino: number;
  mode: number;
  nlink?: number;
  uid?: number;
  gid?: number;
  rdev?: number;
  size?: number;
  /** 512-byte blocks allocated. */
  blocks?: number;
  blksize?: number;
  atime?: number;
  atimensec?: number;
  mtime?: number;
  mtimensec?: number;
  ctime?: number;
  ctimensec?: number;
  /** FUSE_ATTR_* flags. */
  flags?: number;
}

/** The reply to lookup, mkdir, create (with Open), …: struct fuse_entry_out. */
export interface Entry {
  /** 0 with an entryTimeout caches a negative lookup. */
  nodeid: NodeId;
  generation?: number;
  attr: Attr;
  /** Seconds the kernel may cache the name → nodeid binding (fractional allowed). Default 1. */
  entryTimeout?: number;
  /** Seconds the kernel may cache the attributes. Default 1. */
  attrTimeout?: number;
}

/** The reply to getattr and setattr: struct fuse_attr_out. */
export interface AttrReply {
  attr: Attr;
  /** Seconds the kernel may cache the attributes. Default 1. */
  timeout?: number;
}

/** The reply to open and opendir: struct fuse_open_out. */
export interface OpenReply {
  fh?: FileHandle;
  /** FOPEN_* flags (DIRECT_IO, KEEP_CACHE, CACHE_DIR, …), see src/abi/flags.ts. */
  openFlags?: number;
  /** A backing id from session.openBacking() with FOPEN_PASSTHROUGH. */
  backingId?: number;
}

/** The reply to create: the new entry and its open file. */
export interface CreateReply extends Entry, OpenReply {}

/**
 * An Entry and an OpenReply as one CreateReply. Written out rather than `{ ...entry, ...open }`:
 * V8 (Node 20) takes ≈1.4 µs to add properties to the result of an object spread, more than
 * the rest of a create costs memfs.
 */
export function createReply(e: Entry, o: OpenReply): CreateReply {
  return {
    nodeid: e.nodeid, generation: e.generation, attr: e.attr, entryTimeout: e.entryTimeout, attrTimeout: e.attrTimeout,
    fh: o.fh, openFlags: o.openFlags, backingId: o.backingId,
  };
}

/** struct fuse_kstatfs. */
export interface Statfs {
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  bsize: number;
  namelen: number;
  frsize: number;
}

/** What setattr was asked to change: only the fields present are to be set. */
export interface SetattrIn {
  /** FATTR_* bits as the kernel sent them. */
  valid: number;
  fh?: FileHandle;
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  /** Set atime/mtime to these values… */
  atime?: number;
  atimensec?: number;
  mtime?: number;
  mtimensec?: number;
  /** …or to the current time (utimensat UTIME_NOW). */
  atimeNow?: boolean;
  mtimeNow?: boolean;
  ctime?: number;
  ctimensec?: number;
  lockOwner?: number;
  /** The kernel asks the filesystem to clear suid/sgid (FATTR_KILL_SUIDGID). */
  killSuidgid?: boolean;
}

/** struct fuse_file_lock: a POSIX byte-range lock (end is inclusive; type F_RDLCK 0, F_WRLCK 1, F_UNLCK 2). */
export interface FileLock {
  start: number;
  end: number;
  type: number;
  pid: number;
}

/** struct fuse_statx: what statx(2) reports; `mask` says which fields are filled (STATX_*). */
export interface StatxAttr {
  mask: number;
  ino: number;
  mode: number;
  nlink?: number;
  uid?: number;
  gid?: number;
  size?: number;
  blocks?: number;
  blksize?: number;
  attributes?: number;
  attributesMask?: number;
  atime?: number;
  atimensec?: number;
  btime?: number;
  btimensec?: number;
  ctime?: number;
  ctimensec?: number;
  mtime?: number;
  mtimensec?: number;
  rdevMajor?: number;
  rdevMinor?: number;
  devMajor?: number;
  devMinor?: number;
}

export interface StatxReply {
  attr: StatxAttr;
  /** Seconds the kernel may cache the attributes. Default 1. */
  timeout?: number;
}

/** The reply to ioctl: its return value and the data copied back to the caller (≤ outSize). */
export interface IoctlReply {
  result: number;
  data?: Uint8Array;
}

/** Who is asking, for every request except forget. Valid until the reply is sent. */
export interface RequestContext {
  readonly opcode: number;
  readonly unique: number;
  readonly nodeid: NodeId;
  readonly uid: number;
  readonly gid: number;
  /** 0 for requests the kernel sends in the background (readahead, release). */
  readonly pid: number;
  /** umask of the caller for create/mkdir/mknod (0 when the kernel applies it itself). */
  readonly umask: number;
  /** Fires when the kernel interrupts this request (FUSE_INTERRUPT); give up with FuseError EINTR. */
  readonly signal: AbortSignal;
}

/** Writes struct fuse_dirent records into the reply buffer without copying the names twice. */
export interface DirentWriter {
  /**
   * Adds one entry; `nextOffset` is the cookie the kernel passes back to continue after it.
   * Returns false (and adds nothing) when the reply buffer is full.
   */
  add(name: string, ino: number, type: number, nextOffset: number): boolean;
}

/** Writes struct fuse_direntplus records: each carries the entry as lookup would return it. */
export interface DirentPlusWriter {
  /**
   * Adds one entry with its attributes; a non-zero entry.nodeid counts as one lookup (the
   * kernel will forget it). Pass nodeid 0 for "." and "..". Returns false when full.
   */
  add(name: string, entry: Entry, nextOffset: number): boolean;
}

/** The kernel's FUSE_INIT offer, and the place to narrow it. */
export interface InitInfo {
  readonly major: number;
  readonly minor: number;
  readonly maxReadahead: number;
  /** FUSE_* capability bits the kernel offered (64-bit value as a bigint). */
  readonly offered: bigint;
  /** The bits fuse-uring will ask for: clear bits here to refuse a capability. */
  want: bigint;
}

export type MaybePromise<T> = T | Promise<T>;

/**
 * An inode-level filesystem. Every method is optional: a missing one answers ENOSYS. Throw
 * FuseError(errno) to fail a request with that errno; anything else thrown answers EIO and is
 * logged. A method may return a plain value: it is replied to without a microtask.
 */
export interface Filesystem {
  /**
   * Before the first request: sees the kernel's offer (`info.offered`) and what will be asked for
   * (`info.want`). It may narrow `info.want`, or add offered capabilities it implements (e.g.
   * HANDLE_KILLPRIV_V2, which makes it responsible for dropping set-id bits and
   * security.capability on write, truncate and chown); what the kernel did not offer is dropped.
   */
  init?(info: InitInfo): MaybePromise<void>;
  /** Exactly once, after the filesystem is unmounted (or the session ends). */
  destroy?(): MaybePromise<void>;

  lookup?(ctx: RequestContext, parent: NodeId, name: string): MaybePromise<Entry>;
  /** The kernel dropped `nlookup` references to nodeid (FORGET and each BATCH_FORGET item). */
  forget?(nodeid: NodeId, nlookup: number): void;
  getattr?(ctx: RequestContext, nodeid: NodeId, fh: FileHandle | undefined): MaybePromise<AttrReply>;
  setattr?(ctx: RequestContext, nodeid: NodeId, set: SetattrIn): MaybePromise<AttrReply>;

  mkdir?(ctx: RequestContext, parent: NodeId, name: string, mode: number, umask: number): MaybePromise<Entry>;
  unlink?(ctx: RequestContext, parent: NodeId, name: string): MaybePromise<void>;
  rmdir?(ctx: RequestContext, parent: NodeId, name: string): MaybePromise<void>;
  /** RENAME and RENAME2; flags: RENAME_NOREPLACE 1, RENAME_EXCHANGE 2, RENAME_WHITEOUT 4. */
  rename?(ctx: RequestContext, parent: NodeId, name: string, newparent: NodeId, newname: string,
    flags: number): MaybePromise<void>;

  /**
   * `fuseFlags` is fuse_open_in.open_flags: OPEN_KILL_SUIDGID (src/abi/flags.ts) when, with
   * HANDLE_KILLPRIV_V2, an O_TRUNC open by a caller without CAP_FSETID must drop set-id bits.
   */
  open?(ctx: RequestContext, nodeid: NodeId, flags: number, fuseFlags?: number): MaybePromise<OpenReply>;
  create?(ctx: RequestContext, parent: NodeId, name: string, mode: number, umask: number,
    flags: number, fuseFlags?: number): MaybePromise<CreateReply>;
  /**
   * Fill `out` (a view of the reply buffer, `size` bytes: zero-copy) and return the byte count,
   * or return a Buffer/Uint8Array of at most `size` bytes.
   */
  read?(ctx: RequestContext, nodeid: NodeId, fh: FileHandle, offset: number, size: number,
    out: Buffer): MaybePromise<number | Uint8Array>;
  /** `data` is a view of the request buffer, valid until the method settles. Returns bytes written. */
  write?(ctx: RequestContext, nodeid: NodeId, fh: FileHandle, offset: number, data: Buffer,
    writeFlags: number, flags: number): MaybePromise<number>;
  flush?(ctx: RequestContext, nodeid: NodeId, fh: FileHandle, lockOwner: number): MaybePromise<void>;
  release?(ctx: RequestContext, nodeid: NodeId, fh: FileHandle, flags: number, releaseFlags: number,
    lockOwner: number): MaybePromise<void>;
  fsync?(ctx: RequestContext, nodeid: NodeId, fh: FileHandle, datasync: boolean): MaybePromise<void>;

  opendir?(ctx: RequestContext, nodeid: NodeId, flags: number): MaybePromise<OpenReply>;
  readdir?(ctx: RequestContext, nodeid: NodeId, fh: FileHandle, offset: number,
    out: DirentWriter): MaybePromise<void>;
  /** Without it, fuse-uring does not offer READDIRPLUS and the kernel sends READDIR + LOOKUP. */
  readdirplus?(ctx: RequestContext, nodeid: NodeId, fh: FileHandle, offset: number,
    out: DirentPlusWriter): MaybePromise<void>;
  releasedir?(ctx: RequestContext, nodeid: NodeId, fh: FileHandle, flags: number): MaybePromise<void>;

  statfs?(ctx: RequestContext, nodeid: NodeId): MaybePromise<Statfs>;

  /** The target of a symlink (a name under the name rule, so any bytes round-trip). */
  readlink?(ctx: RequestContext, nodeid: NodeId): MaybePromise<string>;
  symlink?(ctx: RequestContext, parent: NodeId, name: string, target: string): MaybePromise<Entry>;
  /** mknod(2): device nodes, FIFOs, sockets (and regular files when create is missing). */
  mknod?(ctx: RequestContext, parent: NodeId, name: string, mode: number, rdev: number, umask: number): MaybePromise<Entry>;
  /** A new name `newname` in `newparent` for the existing `nodeid`. */
  link?(ctx: RequestContext, nodeid: NodeId, newparent: NodeId, newname: string): MaybePromise<Entry>;

  /** flags: XATTR_CREATE 1, XATTR_REPLACE 2; setxattrFlags: SETXATTR_ACL_KILL_SGID. */
  setxattr?(ctx: RequestContext, nodeid: NodeId, name: string, value: Buffer, flags: number,
    setxattrFlags: number): MaybePromise<void>;
  /**
   * The value of xattr `name` (throw ENODATA if there is none). `size` is the caller's buffer:
   * fuse-uring answers the size probe (size 0) and ERANGE (value longer than size) itself.
   */
  getxattr?(ctx: RequestContext, nodeid: NodeId, name: string, size: number): MaybePromise<Uint8Array>;
  /** The xattr names; fuse-uring encodes them NUL-separated and answers size probes and ERANGE. */
  listxattr?(ctx: RequestContext, nodeid: NodeId, size: number): MaybePromise<string[]>;
  removexattr?(ctx: RequestContext, nodeid: NodeId, name: string): MaybePromise<void>;
  /** access(2) without default_permissions: mask R_OK 4, W_OK 2, X_OK 1, F_OK 0. */
  access?(ctx: RequestContext, nodeid: NodeId, mask: number): MaybePromise<void>;
  fsyncdir?(ctx: RequestContext, nodeid: NodeId, fh: FileHandle, datasync: boolean): MaybePromise<void>;

  /** F_GETLK: the lock that would block `lock`, or one with type F_UNLCK if none would. */
  getlk?(ctx: RequestContext, nodeid: NodeId, fh: FileHandle, owner: number, lock: FileLock): MaybePromise<FileLock>;
  /** F_SETLK / F_SETLKW (`sleep`: wait for the lock; ctx.signal fires if the caller is interrupted). */
  setlk?(ctx: RequestContext, nodeid: NodeId, fh: FileHandle, owner: number, lock: FileLock,
    sleep: boolean): MaybePromise<void>;
  /** flock(2), with -o flock_locks: operation LOCK_SH 1, LOCK_EX 2, LOCK_UN 8, | LOCK_NB 4. */
  flock?(ctx: RequestContext, nodeid: NodeId, fh: FileHandle, owner: number, operation: number): MaybePromise<void>;

  /** fuseblk only: the device block holding file block `block`. */
  bmap?(ctx: RequestContext, nodeid: NodeId, blocksize: number, block: number): MaybePromise<number>;
  /**
   * A restricted ioctl: `input` holds the caller's in-data (the size _IOC_SIZE(cmd) gives),
   * up to `outSize` bytes may come back. Unrestricted ioctls (CUSE-style retries) are refused.
   */
  ioctl?(ctx: RequestContext, nodeid: NodeId, fh: FileHandle, cmd: number, arg: number, input: Buffer,
    outSize: number, flags: number): MaybePromise<IoctlReply>;
  /**
   * The ready events (POLLIN …) among `events`; if `kh` is given, the kernel wants
   * session.notify.pollWakeup(kh) once the file becomes ready.
   */
  poll?(ctx: RequestContext, nodeid: NodeId, fh: FileHandle, kh: number | undefined, events: number): MaybePromise<number>;
  /** fallocate(2) modes: KEEP_SIZE 1, PUNCH_HOLE 2, ZERO_RANGE 0x10, … */
  fallocate?(ctx: RequestContext, nodeid: NodeId, fh: FileHandle, offset: number, length: number, mode: number): MaybePromise<void>;
  /** SEEK_DATA 3 / SEEK_HOLE 4 (SEEK_SET/CUR/END the kernel does itself); returns the new offset. */
  lseek?(ctx: RequestContext, nodeid: NodeId, fh: FileHandle, offset: number, whence: number): MaybePromise<number>;
  /** Returns the bytes copied (COPY_FILE_RANGE and COPY_FILE_RANGE_64). */
  copyFileRange?(ctx: RequestContext, nodeidIn: NodeId, fhIn: FileHandle, offsetIn: number, nodeidOut: NodeId,
    fhOut: FileHandle, offsetOut: number, length: number, flags: number): MaybePromise<number>;
  /** O_TMPFILE: an unnamed file in directory `parent`, opened. */
  tmpfile?(ctx: RequestContext, parent: NodeId, mode: number, umask: number, flags: number): MaybePromise<CreateReply>;
  /** statx(2) with the fields the kernel asks for (`mask`); without it the kernel uses getattr. */
  statx?(ctx: RequestContext, nodeid: NodeId, fh: FileHandle | undefined, flags: number, mask: number): MaybePromise<StatxReply>;
  syncfs?(ctx: RequestContext, nodeid: NodeId): MaybePromise<void>;
}
