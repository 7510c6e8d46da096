// How a path operation's outcome becomes the inode API's: plain values stay plain (replied to
// without a microtask), Promises are chained, and what a handler throws is mapped to an errno
// the way path-level code throws it — FuseError, a Node.js system error (code 'ENOENT'), or a
// bare errno number (fuse-native's -2, or 2). Anything else reaches the dispatcher as it is:
// EIO, logged once.
import type { MaybePromise } from '../filesystem.js';
import { Errno, FuseError } from '../errors.js';

export function isThenable<T>(x: unknown): x is PromiseLike<T> {
  return x !== null && typeof x === 'object' && typeof (x as PromiseLike<T>).then === 'function';
}

/** The FuseError a thrown value stands for, or the value itself when it names no errno. */
export function mapError(e: unknown): unknown {
  if (e instanceof FuseError) return e;
  if (typeof e === 'number' && Number.isInteger(e) && e !== 0 && Math.abs(e) < 4096) return new FuseError(Math.abs(e));
  if (e !== null && typeof e === 'object') {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code.charCodeAt(0) === 69 /* E */) {
      const n = Errno[code];
      if (n !== undefined) return new FuseError(n, (e as Error).message);
    }
  }
  return e;
}

export function rethrow(e: unknown): never {
  throw mapError(e);
}

/** f(value of r): synchronously when r is a plain value. */
export function then<T, R>(r: MaybePromise<T>, f: (v: T) => MaybePromise<R>): MaybePromise<R> {
  return isThenable<T>(r) ? Promise.resolve(r).then(f) : f(r);
}

/**
 * Wraps a bridge method so that whatever it throws or rejects with is mapped by mapError. The
 * synchronous path adds one try/catch; only a Promise gets one more handler.
 */
export function mapped<A extends unknown[], R>(f: (...args: A) => MaybePromise<R>): (...args: A) => MaybePromise<R> {
  return (...args: A) => {
    try {
      const r = f(...args);
      return isThenable<R>(r) ? Promise.resolve(r).then(undefined, rethrow) : r;
    } catch (e) {
      throw mapError(e);
    }
  };
}
