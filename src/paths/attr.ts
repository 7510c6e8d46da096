// Stat (what a path filesystem returns: numbers, bigints, Dates, fuse-native's millisecond times,
// Node's fs.Stats) → struct fuse_attr, and statvfs → struct fuse_kstatfs.
import type { Attr, Statfs } from '../filesystem.js';
import { FuseError, Errno } from '../errors.js';
import type { PathStatfs, Stat, StatTime, TimeSpec } from './types.js';

export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;

/** What the bridge applies to every Stat (libfuse's use_ino, uid=, gid=, umask=). */
export interface AttrPolicy {
  useIno: boolean;
  uid: number | undefined;
  gid: number | undefined;
  umask: number | undefined;
}

const num = (v: number | bigint | undefined): number => (v === undefined ? 0 : typeof v === 'bigint' ? Number(v) : v);

// secOf() leaves the nanoseconds of the time it converted here (no tuple allocated per time).
let nsecOut = 0;

function secOfNs(ns: bigint): number {
  let s = ns / 1_000_000_000n;
  let r = ns % 1_000_000_000n;
  if (r < 0n) { r += 1_000_000_000n; s -= 1n; }
  nsecOut = Number(r);
  return Number(s);
}

function secOfMs(ms: number): number {
  if (!Number.isFinite(ms)) { nsecOut = 0; return 0; }
  const s = Math.floor(ms / 1000);
  nsecOut = Math.min(999_999_999, Math.max(0, Math.round((ms - s * 1000) * 1e6)));
  return s;
}

function secOf(t: StatTime | undefined, ns: bigint | undefined): number {
  if (ns !== undefined) return secOfNs(ns);
  if (t === undefined) { nsecOut = 0; return 0; }
  if (typeof t === 'number') return secOfMs(t);
  if (t instanceof Date) return secOfMs(t.getTime());
  if (typeof t === 'bigint') return secOfNs(t);
  nsecOut = t.nsec | 0;
  return t.sec;
}

/** The mode of a Stat; EIO (with a message) if a getattr returned something that is not one. */
export function modeOf(st: Stat): number {
  const mode = st === null || typeof st !== 'object' ? NaN : num(st.mode);
  if (!Number.isInteger(mode) || mode < 0) {
    throw new FuseError(Errno.EIO, `getattr returned ${st === null || typeof st !== 'object' ? String(st) : `mode ${String(st.mode)}`}, not a Stat with a mode`);
  }
  return mode;
}

/** struct fuse_attr for `st`, shown for `nodeid`. */
export function toAttr(st: Stat, nodeid: number, p: AttrPolicy): Attr {
  let mode = modeOf(st);
  if (p.umask !== undefined) mode = (mode & S_IFMT) | (0o777 & ~p.umask);
  const ino = p.useIno ? num(st.ino) : 0;
  const a: Attr = {
    ino: ino > 0 ? ino : nodeid,
    mode,
    nlink: num(st.nlink) || 1,
    uid: p.uid ?? num(st.uid),
    gid: p.gid ?? num(st.gid),
    rdev: num(st.rdev),
    size: num(st.size),
    blocks: num(st.blocks),
    blksize: num(st.blksize),
    atime: 0, atimensec: 0, mtime: 0, mtimensec: 0, ctime: 0, ctimensec: 0,
  };
  a.atime = secOf(st.atime, st.atimeNs);
  a.atimensec = nsecOut;
  a.mtime = secOf(st.mtime, st.mtimeNs);
  a.mtimensec = nsecOut;
  a.ctime = secOf(st.ctime, st.ctimeNs);
  a.ctimensec = nsecOut;
  return a;
}

/** The attributes of "/" for a filesystem without getattr (an empty directory, as libfuse shows it). */
export function defaultRootAttr(p: AttrPolicy): Attr {
  return toAttr({ mode: S_IFDIR | 0o755, nlink: 2 }, 1, p);
}

/** A time as utimens receives it: UTIME_NOW resolved to now. */
export function timeSpec(sec: number | undefined, nsec: number | undefined, now: boolean | undefined): TimeSpec | undefined {
  if (now) {
    const ms = Date.now();
    return { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1e6 };
  }
  return sec === undefined ? undefined : { sec, nsec: nsec ?? 0 };
}

/** statvfs → fuse_kstatfs; libfuse's defaults for what is missing. */
export function toStatfs(s: PathStatfs | undefined): Statfs {
  const bsize = num(s?.bsize) || 512;
  return {
    bsize,
    frsize: num(s?.frsize) || bsize,
    blocks: num(s?.blocks),
    bfree: num(s?.bfree),
    bavail: num(s?.bavail),
    files: num(s?.files),
    ffree: num(s?.ffree),
    namelen: num(s?.namemax ?? s?.namelen) || 255,
  };
}
