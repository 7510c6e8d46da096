// The Linux numbers memfs interprets itself: st_mode bits and open(2) flags as the kernel sends
// them (FUSE passes the caller's flags through unchanged, so these are the x86-64/arm64 values).
// Protocol flag families (RENAME_*, FUSE_INIT bits) live in src/abi/flags.ts.

export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_ISUID = 0o4000;
export const S_ISGID = 0o2000;
export const S_IXGRP = 0o0010;
/** The permission and set-id bits chmod may change. */
export const MODE_PERM = 0o7777;

export const O_EXCL = 0o200;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;

/** Largest byte offset a JavaScript number addresses exactly; writes and truncates past it get EFBIG. */
export const MAX_FILE_SIZE = Number.MAX_SAFE_INTEGER;
