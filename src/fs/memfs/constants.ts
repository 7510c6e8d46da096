// The Linux numbers memfs interprets itself: st_mode bits and open(2) flags as the kernel sends
// them (FUSE passes the caller's flags through unchanged, so these are the x86-64/arm64 values),
// and the argument values of the syscalls whose requests memfs answers (fallocate, lseek, fcntl
// locks, flock, xattrs, poll). Protocol flag families (RENAME_*, FUSE_INIT bits) live in
// src/abi/flags.ts.
export * from '../linux.js';

export const S_IFSOCK = 0o140000;
export const S_IFBLK = 0o060000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;
export const S_ISUID = 0o4000;
export const S_ISVTX = 0o1000;
export const S_IXGRP = 0o0010;

/** __FMODE_EXEC: the kernel's open for execve(2) carries it in the flags FUSE passes on. */
export const FMODE_EXEC = 0o40;
export const O_EXCL = 0o200;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;

/** Largest byte offset a JavaScript number addresses exactly; writes and truncates past it get EFBIG. */
export const MAX_FILE_SIZE = Number.MAX_SAFE_INTEGER;
/** st_nlink is a u32 on the wire. */
export const LINK_MAX = 0xffffffff;


/** fallocate(2) modes. */
export const FALLOC_FL_KEEP_SIZE = 0x01;
export const FALLOC_FL_PUNCH_HOLE = 0x02;
export const FALLOC_FL_ZERO_RANGE = 0x10;

/** lseek(2) whence values the kernel forwards (SEEK_SET/CUR/END it resolves itself). */
export const SEEK_DATA = 3;
export const SEEK_HOLE = 4;

/** struct flock l_type. */
export const F_RDLCK = 0;
export const F_WRLCK = 1;
export const F_UNLCK = 2;
/** The kernel's OFFSET_MAX (2^63 - 1) as a JavaScript number decodes to 2^63: "to the end of the file". */
export const OFFSET_MAX = 2 ** 63;

/** flock(2) operations. */
export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

/** setxattr(2) flags. */
export const XATTR_CREATE = 1;
export const XATTR_REPLACE = 2;
export const XATTR_SIZE_MAX = 65536;

/** poll(2) events; DEFAULT_POLLMASK is what a file without its own poll method reports. */
export const POLLIN = 0x001;
export const POLLOUT = 0x004;
export const POLLRDNORM = 0x040;
export const POLLWRNORM = 0x100;
export const DEFAULT_POLLMASK = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;

