// Flag families of protocol 7.45. INIT capability bits are one 64-bit value (flags | flags2 << 32).
export const Init = {
  ASYNC_READ: 1n << 0n, POSIX_LOCKS: 1n << 1n, FILE_OPS: 1n << 2n, ATOMIC_O_TRUNC: 1n << 3n,
  EXPORT_SUPPORT: 1n << 4n, BIG_WRITES: 1n << 5n, DONT_MASK: 1n << 6n, SPLICE_WRITE: 1n << 7n,
  SPLICE_MOVE: 1n << 8n, SPLICE_READ: 1n << 9n, FLOCK_LOCKS: 1n << 10n, HAS_IOCTL_DIR: 1n << 11n,
  AUTO_INVAL_DATA: 1n << 12n, DO_READDIRPLUS: 1n << 13n, READDIRPLUS_AUTO: 1n << 14n,
  ASYNC_DIO: 1n << 15n, WRITEBACK_CACHE: 1n << 16n, NO_OPEN_SUPPORT: 1n << 17n,
  PARALLEL_DIROPS: 1n << 18n, HANDLE_KILLPRIV: 1n << 19n, POSIX_ACL: 1n << 20n,
  ABORT_ERROR: 1n << 21n, MAX_PAGES: 1n << 22n, CACHE_SYMLINKS: 1n << 23n,
  NO_OPENDIR_SUPPORT: 1n << 24n, EXPLICIT_INVAL_DATA: 1n << 25n, MAP_ALIGNMENT: 1n << 26n,
  SUBMOUNTS: 1n << 27n, HANDLE_KILLPRIV_V2: 1n << 28n, SETXATTR_EXT: 1n << 29n, INIT_EXT: 1n << 30n,
  INIT_RESERVED: 1n << 31n, SECURITY_CTX: 1n << 32n, HAS_INODE_DAX: 1n << 33n,
  CREATE_SUPP_GROUP: 1n << 34n, HAS_EXPIRE_ONLY: 1n << 35n, DIRECT_IO_ALLOW_MMAP: 1n << 36n,
  PASSTHROUGH: 1n << 37n, NO_EXPORT_SUPPORT: 1n << 38n, HAS_RESEND: 1n << 39n,
  ALLOW_IDMAP: 1n << 40n, OVER_IO_URING: 1n << 41n, REQUEST_TIMEOUT: 1n << 42n,
} as const;

/** Names of the set bits, for logs and the debug trace. */
export function initFlagNames(bits: bigint): string[] {
  const out: string[] = [];
  for (const [name, bit] of Object.entries(Init)) if (bits & bit) out.push(name);
  return out;
}

/** fuse_open_out.open_flags */
export const Fopen = {
  DIRECT_IO: 1, KEEP_CACHE: 2, NONSEEKABLE: 4, CACHE_DIR: 8, STREAM: 16, NOFLUSH: 32,
  PARALLEL_DIRECT_WRITES: 64, PASSTHROUGH: 128,
} as const;

/** fuse_setattr_in.valid */
export const Fattr = {
  MODE: 1, UID: 2, GID: 4, SIZE: 8, ATIME: 0x10, MTIME: 0x20, FH: 0x40, ATIME_NOW: 0x80,
  MTIME_NOW: 0x100, LOCKOWNER: 0x200, CTIME: 0x400, KILL_SUIDGID: 0x800,
} as const;

/** fuse_getattr_in.getattr_flags */
export const GETATTR_FH = 1;
/** fuse_fsync_in.fsync_flags */
export const FSYNC_FDATASYNC = 1;
/** fuse_release_in.release_flags */
export const Release = { FLUSH: 1, FLOCK_UNLOCK: 2 } as const;
/** fuse_write_in.write_flags */
export const Write = { CACHE: 1, LOCKOWNER: 2, KILL_SUIDGID: 4 } as const;
/** renameat2(2) flags as RENAME2 carries them. */
export const Rename = { NOREPLACE: 1, EXCHANGE: 2, WHITEOUT: 4 } as const;

/** Directory entry types (d_type) for readdir. */
export const DT = { UNKNOWN: 0, FIFO: 1, CHR: 2, DIR: 4, BLK: 6, REG: 8, LNK: 10, SOCK: 12 } as const;

/** d_type from st_mode. */
export function dtFromMode(mode: number): number {
  return (mode & 0o170000) >>> 12;
}

/** fuse_lk_in.lk_flags: the lock is a BSD flock(2), not a POSIX lock. */
export const LK_FLOCK = 1;
/** fuse_setxattr_in.setxattr_flags: clear the ACL-implied sgid bit (FUSE_SETXATTR_ACL_KILL_SGID). */
export const SETXATTR_ACL_KILL_SGID = 1;
/** fuse_ioctl_in.flags */
export const Ioctl = { COMPAT: 1, UNRESTRICTED: 2, RETRY: 4, BIT32: 8, DIR: 16, COMPAT_X32: 32 } as const;
/** fuse_poll_in.flags: the kernel wants a POLL notification when the file becomes ready. */
export const POLL_SCHEDULE_NOTIFY = 1;
/** fuse_notify_inval_entry_out.flags: only expire the dentry, do not drop it. */
export const EXPIRE_ONLY = 1;
/** fuse_open_in.open_flags */
export const OPEN_KILL_SUIDGID = 1;
/** fuse_attr.flags */
export const ATTR_SUBMOUNT = 1;
export const ATTR_DAX = 2;
