// The Linux numbers the mirror passes to syscalls. Flags that differ between architectures
// (O_DIRECTORY, O_NOFOLLOW, O_DIRECT on arm) come from Node's own table; the rest are the same on
// every Linux architecture Node runs on.
import { constants as fsc } from 'node:fs';
export * from '../linux.js';


export const O_RDONLY = 0;
export const O_CREAT = fsc.O_CREAT;
export const O_EXCL = fsc.O_EXCL;
export const O_NOCTTY = fsc.O_NOCTTY;
export const O_TRUNC = fsc.O_TRUNC;
export const O_APPEND = fsc.O_APPEND;
export const O_NONBLOCK = fsc.O_NONBLOCK;
export const O_DIRECTORY = fsc.O_DIRECTORY;
export const O_NOFOLLOW = fsc.O_NOFOLLOW;
/** O_PATH (010000000): a handle on the inode for *at() calls, fstat and /proc/self/fd; no I/O. */
export const O_PATH = 0o10000000;
/** O_TMPFILE = __O_TMPFILE | O_DIRECTORY. */
export const O_TMPFILE = 0o20000000 | fsc.O_DIRECTORY;

export const AT_FDCWD = -100;
export const AT_SYMLINK_NOFOLLOW = 0x100;
/** AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC: the statx flags a FUSE_STATX may carry on. */
export const AT_STATX_SYNC_TYPE = 0x6000;


/** utimensat(2) nsec values. */
export const UTIME_NOW = (1 << 30) - 1;
export const UTIME_OMIT = (1 << 30) - 2;


export const NAME_MAX = 255;
