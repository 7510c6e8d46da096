// Encoders for reply structs and little-endian u64 helpers. u64 fields are JavaScript numbers:
// exact up to 2^53, which covers nodeids, handles, sizes and offsets in practice.
import type { Attr, Entry, OpenReply, Statfs } from '../filesystem.js';
import { AttrL, AttrOut, EntryOut, OpenOut, StatfsOut } from './layout.js';

const TWO32 = 4294967296;

export function getU64(v: DataView, off: number): number {
  return v.getUint32(off, true) + v.getUint32(off + 4, true) * TWO32;
}

/** Writes a non-negative integer (or a negative one as two's complement, e.g. pre-1970 times). */
export function setU64(v: DataView, off: number, n: number): void {
  if (n >= 0 && n < TWO32) {
    v.setUint32(off, n, true);
    v.setUint32(off + 4, 0, true);
  } else {
    v.setBigUint64(off, BigInt.asUintN(64, BigInt(Math.trunc(n))), true);
  }
}

/** Splits fractional seconds into whole seconds and nanoseconds, as entry_valid/attr_valid want. */
export function setTimeout64(v: DataView, secOff: number, nsecOff: number, seconds: number): void {
  if (!(seconds > 0)) { setU64(v, secOff, 0); v.setUint32(nsecOff, 0, true); return; }
  const whole = Math.floor(seconds);
  setU64(v, secOff, whole);
  v.setUint32(nsecOff, Math.min(999999999, Math.round((seconds - whole) * 1e9)), true);
}

export function writeAttr(v: DataView, off: number, a: Attr): void {
  setU64(v, off + AttrL.ino, a.ino);
  setU64(v, off + AttrL.size, a.size ?? 0);
  setU64(v, off + AttrL.blocks, a.blocks ?? 0);
  setU64(v, off + AttrL.atime, a.atime ?? 0);
  setU64(v, off + AttrL.mtime, a.mtime ?? 0);
  setU64(v, off + AttrL.ctime, a.ctime ?? 0);
  v.setUint32(off + AttrL.atimensec, a.atimensec ?? 0, true);
  v.setUint32(off + AttrL.mtimensec, a.mtimensec ?? 0, true);
  v.setUint32(off + AttrL.ctimensec, a.ctimensec ?? 0, true);
  v.setUint32(off + AttrL.mode, a.mode, true);
  v.setUint32(off + AttrL.nlink, a.nlink ?? 1, true);
  v.setUint32(off + AttrL.uid, a.uid ?? 0, true);
  v.setUint32(off + AttrL.gid, a.gid ?? 0, true);
  v.setUint32(off + AttrL.rdev, a.rdev ?? 0, true);
  v.setUint32(off + AttrL.blksize, a.blksize ?? 4096, true);
  v.setUint32(off + AttrL.flags, a.flags ?? 0, true);
}

/** struct fuse_entry_out at `off`; returns its size. */
export function writeEntry(v: DataView, off: number, e: Entry): number {
  setU64(v, off + EntryOut.nodeid, e.nodeid);
  setU64(v, off + EntryOut.generation, e.generation ?? 0);
  setTimeout64(v, off + EntryOut.entry_valid, off + EntryOut.entry_valid_nsec, e.entryTimeout ?? 1);
  setTimeout64(v, off + EntryOut.attr_valid, off + EntryOut.attr_valid_nsec, e.attrTimeout ?? 1);
  writeAttr(v, off + EntryOut.attr, e.attr);
  return EntryOut.SIZE;
}

/** struct fuse_attr_out at 0; returns its size. */
export function writeAttrOut(v: DataView, attr: Attr, timeout: number | undefined): number {
  setTimeout64(v, AttrOut.attr_valid, AttrOut.attr_valid_nsec, timeout ?? 1);
  v.setUint32(AttrOut.attr_valid_nsec + 4, 0, true);
  writeAttr(v, AttrOut.attr, attr);
  return AttrOut.SIZE;
}

/** struct fuse_open_out at `off`; returns its size. */
export function writeOpenOut(v: DataView, off: number, o: OpenReply): number {
  setU64(v, off + OpenOut.fh, o.fh ?? 0);
  v.setUint32(off + OpenOut.open_flags, o.openFlags ?? 0, true);
  v.setInt32(off + OpenOut.backing_id, o.backingId ?? 0, true);
  return OpenOut.SIZE;
}

export function writeStatfs(v: DataView, s: Statfs): number {
  setU64(v, StatfsOut.blocks, s.blocks);
  setU64(v, StatfsOut.bfree, s.bfree);
  setU64(v, StatfsOut.bavail, s.bavail);
  setU64(v, StatfsOut.files, s.files);
  setU64(v, StatfsOut.ffree, s.ffree);
  v.setUint32(StatfsOut.bsize, s.bsize, true);
  v.setUint32(StatfsOut.namelen, s.namelen, true);
  v.setUint32(StatfsOut.frsize, s.frsize, true);
  for (let o = 52; o < StatfsOut.SIZE; o += 4) v.setUint32(o, 0, true);
  return StatfsOut.SIZE;
}

// Checks on what handlers return: a value out of range throws, and the request answers EIO.

export const MAX_U64 = 2 ** 64 - 2048;

/** `n` as an unsigned integer of at most `max`; anything else throws (the request answers EIO). */
export function checkUint(n: unknown, what: string, max: number = MAX_U64): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > max) {
    throw new RangeError(`${what}: ${String(n)} is not an integer in [0, ${max}]`);
  }
  return n;
}

/** `n` as a signed integer in [min, max]. */
export function checkInt(n: unknown, what: string, min: number, max: number): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new RangeError(`${what}: ${String(n)} is not an integer in [${min}, ${max}]`);
  }
  return n;
}

/** `x` is a non-null object (a method's structured result). */
export function checkObject<T>(x: T, what: string): T {
  if (x === null || typeof x !== 'object') throw new TypeError(`${what} must return an object`);
  return x;
}
