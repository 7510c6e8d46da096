// FUSE_INIT: the kernel's offer, what we ask for (the reference design's set plus what options
// ask for, only if offered), and the reply.
import { readFileSync } from 'node:fs';
import type { Filesystem, InitInfo } from './filesystem.js';
import { Init } from './abi/flags.js';
import { InHeader, InitIn, InitOut, MIN_READ_BUFFER, OutHeader, PAGE_SIZE } from './abi/layout.js';
import { Op } from './abi/opcodes.js';
import { DEFAULTS, type MountOptions } from './options.js';

export const KERNEL_MAJOR = 7;
export const KERNEL_MINOR = 45;

/** Asked for on every connection (when offered): the reference design's set. */
export const BASE_FLAGS = Init.ASYNC_READ | Init.BIG_WRITES | Init.AUTO_INVAL_DATA | Init.DO_READDIRPLUS
  | Init.READDIRPLUS_AUTO | Init.ASYNC_DIO | Init.PARALLEL_DIROPS | Init.MAX_PAGES | Init.ATOMIC_O_TRUNC
  | Init.SETXATTR_EXT | Init.INIT_EXT;

export interface InitRequest {
  /** fuse_in_header.unique bytes, copied into the reply as they came. */
  uniqueLo: number;
  uniqueHi: number;
  major: number;
  minor: number;
  maxReadahead: number;
  offered: bigint;
}

export function decodeInit(buf: Buffer, n: number): InitRequest {
  if (n < InHeader.SIZE + InitIn.SIZE - 44) throw new Error(`FUSE_INIT too short (${n} bytes)`);
  const opcode = buf.readUInt32LE(InHeader.opcode);
  if (opcode !== Op.INIT) throw new Error(`expected FUSE_INIT from the kernel, got opcode ${opcode}`);
  const b = InHeader.SIZE;
  const flags = BigInt(buf.readUInt32LE(b + InitIn.flags));
  const major = buf.readUInt32LE(b + InitIn.major);
  const minor = buf.readUInt32LE(b + InitIn.minor);
  // flags2 only exists when the kernel set INIT_EXT (and the request is long enough to hold it).
  const flags2 = (flags & Init.INIT_EXT) && n >= b + InitIn.flags2 + 4 ? BigInt(buf.readUInt32LE(b + InitIn.flags2)) : 0n;
  return {
    uniqueLo: buf.readUInt32LE(InHeader.unique), uniqueHi: buf.readUInt32LE(InHeader.unique + 4),
    major, minor, maxReadahead: buf.readUInt32LE(b + InitIn.max_readahead), offered: flags | (flags2 << 32n),
  };
}

/** What was really agreed; the ring's buffer sizes follow from it. */
export interface Negotiated {
  flags: bigint;
  minor: number;
  maxWrite: number;
  maxPages: number;
  maxReadahead: number;
  maxBackground: number;
  congestionThreshold: number;
  timeGran: number;
  maxStackDepth: number;
}

/** /proc/sys/fs/fuse/max_pages_limit: the kernel caps max_pages there (256 = 1 MiB by default). */
export function maxPagesLimit(): number {
  try {
    const n = Number(readFileSync('/proc/sys/fs/fuse/max_pages_limit', 'utf8').trim());
    if (Number.isInteger(n) && n > 0) return Math.min(n, 0xffff);
  } catch { /* older kernels: the compiled-in limit */ }
  return 256;
}

/**
 * Builds the set to ask for, lets fs.init() narrow it, and fixes the sizes. `uring`: ask for
 * FUSE_OVER_IO_URING. The result's flags are always a subset of the offer.
 */
export async function negotiate(req: InitRequest, o: MountOptions, fs: Filesystem, uring: boolean): Promise<Negotiated> {
  let want = BASE_FLAGS;
  if (uring) want |= Init.OVER_IO_URING;
  if (o.posixLocks) want |= Init.POSIX_LOCKS;
  if (o.flockLocks) want |= Init.FLOCK_LOCKS;
  if (o.dontMask) want |= Init.DONT_MASK;
  if (o.noOpenSupport) want |= Init.NO_OPEN_SUPPORT;
  if (o.noOpendirSupport) want |= Init.NO_OPENDIR_SUPPORT;
  if (o.handleKillpriv) want |= Init.HANDLE_KILLPRIV;
  if (o.passthrough) want |= Init.PASSTHROUGH;
  else if (o.writeback) want |= Init.WRITEBACK_CACHE;
  // Without readdirplus the kernel must not ask for it: it sends READDIR + LOOKUP instead.
  if (typeof fs.readdirplus !== 'function') want &= ~(Init.DO_READDIRPLUS | Init.READDIRPLUS_AUTO);
  want &= req.offered;

  const info: InitInfo = { major: req.major, minor: req.minor, maxReadahead: req.maxReadahead, offered: req.offered, want };
  if (fs.init) await fs.init(info);
  if (typeof info.want !== 'bigint') throw new TypeError('init(): info.want must stay a bigint');
  // init() may only narrow: a capability the kernel did not offer cannot be asked for.
  let flags = info.want & req.offered;
  if (req.offered & Init.INIT_EXT) flags |= Init.INIT_EXT;
  if ((flags & Init.PASSTHROUGH) && (flags & Init.WRITEBACK_CACHE)) flags &= ~Init.WRITEBACK_CACHE;

  const limit = maxPagesLimit();
  const maxWrite = Math.min(o.maxWrite ?? DEFAULTS.maxWrite, limit * PAGE_SIZE);
  const maxPages = Math.max(1, Math.ceil(maxWrite / PAGE_SIZE));
  return {
    flags,
    minor: Math.min(req.minor, KERNEL_MINOR),
    maxWrite,
    maxPages: flags & Init.MAX_PAGES ? maxPages : 32,
    maxReadahead: Math.min(req.maxReadahead, o.maxReadahead ?? req.maxReadahead),
    maxBackground: o.maxBackground ?? 0,
    congestionThreshold: o.congestionThreshold ?? 0,
    timeGran: o.timeGran ?? DEFAULTS.timeGran,
    maxStackDepth: flags & Init.PASSTHROUGH ? 1 : 0,
  };
}

/** fuse_out_header + fuse_init_out, as written to /dev/fuse. */
export function encodeInitReply(req: InitRequest, n: Negotiated): Buffer {
  const b = Buffer.alloc(OutHeader.SIZE + InitOut.SIZE);
  b.writeUInt32LE(b.length, OutHeader.len);
  b.writeInt32LE(0, OutHeader.error);
  b.writeUInt32LE(req.uniqueLo, OutHeader.unique);
  b.writeUInt32LE(req.uniqueHi, OutHeader.unique + 4);
  const o = OutHeader.SIZE;
  b.writeUInt32LE(KERNEL_MAJOR, o + InitOut.major);
  b.writeUInt32LE(n.minor, o + InitOut.minor);
  b.writeUInt32LE(n.maxReadahead, o + InitOut.max_readahead);
  b.writeUInt32LE(Number(n.flags & 0xffffffffn), o + InitOut.flags);
  b.writeUInt16LE(n.maxBackground, o + InitOut.max_background);
  b.writeUInt16LE(n.congestionThreshold, o + InitOut.congestion_threshold);
  b.writeUInt32LE(n.maxWrite, o + InitOut.max_write);
  b.writeUInt32LE(n.timeGran, o + InitOut.time_gran);
  b.writeUInt16LE(n.maxPages, o + InitOut.max_pages);
  b.writeUInt32LE(Number(n.flags >> 32n), o + InitOut.flags2);
  b.writeUInt32LE(n.maxStackDepth, o + InitOut.max_stack_depth);
  return b;
}

/** max(8192, max_write, max_pages × 4096): the smallest payload buffer the kernel accepts. */
export function payloadSize(n: Negotiated): number {
  return Math.max(MIN_READ_BUFFER, n.maxWrite, n.maxPages * PAGE_SIZE);
}
