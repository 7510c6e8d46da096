// Linux numbers both reference filesystems use: mode bits, access modes, limits, statx masks.

/** The permission and set-id bits chmod may change. */
export const MODE_PERM = 0o7777;
export const O_ACCMODE = 3;
export const O_RDWR = 2;
export const O_WRONLY = 1;
/** PATH_MAX: a symlink target must be shorter, in bytes. */
export const PATH_MAX = 4096;
/** access(2) mask bits. */
export const R_OK = 4;
/** statx(2) mask bits. */
export const STATX_NLINK = 0x4;
export const STATX_BASIC_STATS = 0x7ff;
export const STATX_BTIME = 0x800;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;
export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_ISGID = 0o2000;
/** Any execute bit. */
export const S_IXUGO = 0o0111;
export const W_OK = 2;
/** XATTR_NAME_MAX and XATTR_SIZE_MAX. */
export const XATTR_NAME_MAX = 255;
export const X_OK = 1;
