// Assertions on what inode-level handlers answer, shared by the filesystems' unit tests.
import assert from 'node:assert/strict';
import { FuseError } from '../../src/errors.js';
import type { Entry } from '../../src/filesystem.js';

/** `fn` throws a FuseError carrying `errno`. */
export function throwsErrno(fn: () => unknown, errno: number, what?: string): void {
  assert.throws(fn, (e: unknown) => e instanceof FuseError && e.errno === errno, what ?? `expected errno ${errno}`);
}

/** A lookup reply that tells the kernel the name does not exist: ENOENT to the caller. */
export function assertMissing(e: Entry, what?: string): void {
  assert.equal(e.nodeid, 0, what ?? 'a negative entry');
  assert.equal(e.entryTimeout ?? 1, 0, 'not cached: the next lookup asks again');
}
