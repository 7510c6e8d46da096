// Shared by the ops-*.test.ts files (no tests of its own): builds requests from raw bytes in
// both layouts, dispatches them, and reads the reply back.
//
//   ring: fuse_in_header at header 0, the fixed struct at header 128 (RingHeader.op_in), the
//         rest of the arguments in the payload from 0, their length at header 272 (payload_sz).
//   dev:  fuse_in_header in the header buffer, the fixed struct at payload 0 and the rest right
//         after it; the read's byte count (40 + arguments) is what the slot was begun with.
//
// Everything past the arguments is poison: in the payload, NUL-terminated names ("zz\0"), so a
// name scan or data read that runs past the request's end would find something; in the ring's
// op_in area, 0x5a bytes (the kernel does not clear op_in between requests).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Request } from '../../src/abi/request.js';
import { Dispatcher, type ReplySink } from '../../src/dispatch.js';
import type { Attr, Entry, Filesystem } from '../../src/filesystem.js';

export type Layout = 'ring' | 'dev';
export const LAYOUTS: readonly Layout[] = ['ring', 'dev'];

export const UID = 1000, GID = 1001, PID = 777, UNIQUE = 42;
const POISON = Buffer.from('zz\0');

export interface BuildOptions {
  payloadSize?: number;
  /** dev: bytes of arguments the read returned (default opIn + data); lets a test cut a request short. */
  devArgBytes?: number;
  /** ring: payload_sz (default data.length). */
  payloadSz?: number;
  unique?: number;
}

export function build(layout: Layout, opcode: number, nodeid: number, opIn: Buffer, data: Buffer, o: BuildOptions = {}): Request {
  const payload = Buffer.alloc(o.payloadSize ?? 8192);
  for (let i = 0; i < payload.length; i++) payload[i] = POISON[i % POISON.length]!;
  return fill(new Request(0, layout === 'ring', Buffer.alloc(512), payload), opcode, nodeid, opIn, data, o);
}

/**
 * Writes a request into slot `r` as the kernel would (a ring entry: fuse_in_header at 0, op_in
 * at 128, payload_sz at 272, the data in the payload; a /dev/fuse slot: the header, then op_in and
 * the data in the payload) and begins it. Slots may be filled again, as the kernel reuses them.
 */
export function fill(r: Request, opcode: number, nodeid: number, opIn: Buffer, data: Buffer,
  o: BuildOptions & { uid?: number } = {}): Request {
  const header = r.header;
  header.fill(0);
  header.writeUInt32LE(40 + opIn.length + data.length, 0);
  header.writeUInt32LE(opcode, 4);
  header.writeBigUInt64LE(BigInt(o.unique ?? UNIQUE), 8);
  header.writeBigUInt64LE(BigInt(nodeid), 16);
  header.writeUInt32LE(o.uid ?? UID, 24);
  header.writeUInt32LE(GID, 28);
  header.writeUInt32LE(PID, 32);
  if (r.ring) {
    header.fill(0x5a, 128, 256);
    opIn.copy(header, 128);
    header.writeBigUInt64LE(BigInt(o.unique ?? UNIQUE), 264);
    header.writeUInt32LE(o.payloadSz ?? data.length, 272);
    data.copy(r.payload, 0);
    r.begin(0);
    return r;
  }
  opIn.copy(r.payload, 0);
  data.copy(r.payload, opIn.length);
  r.begin(40 + (o.devArgBytes ?? opIn.length + data.length));
  return r;
}

export interface Harness {
  d: Dispatcher;
  commits: Request[];
  releases: Request[];
  logs: string[];
  traces: string[];
  destroyed: number;
  /** NOTIFY_REPLY deliveries: [notifyUnique, offset, a copy of the data]. */
  notifyReplies: [number, number, Buffer][];
}

export function harness(fs: Filesystem, flags = 0n): Harness {
  const h: Harness = { d: null!, commits: [], releases: [], logs: [], traces: [], destroyed: 0, notifyReplies: [] };
  const sink: ReplySink = { commit: (r) => h.commits.push(r), release: (r) => h.releases.push(r) };
  h.d = new Dispatcher(fs, sink, {
    log: (l) => h.logs.push(l), trace: (l) => h.traces.push(l), destroy: () => { h.destroyed++; }, flags,
    notifyReply: (u, off, data) => { h.notifyReplies.push([u, off, Buffer.from(data)]); },
  });
  return h;
}

export interface Reply {
  /** The reply's error field (0 or a negative errno). */
  error: number;
  /** Body length. */
  len: number;
  body: Buffer;
}

/** The reply in `r`: asserts the header is consistent (len, and payload_sz over the ring). */
export function replyOf(r: Request): Reply {
  const len = r.header.readUInt32LE(0) - 16;
  const error = r.header.readInt32LE(4);
  assert.ok(len >= 0 && len <= r.payload.length, `reply length ${len}`);
  if (r.ring) assert.equal(r.header.readUInt32LE(272), len, 'payload_sz = body length');
  if (error !== 0) assert.equal(len, 0, 'an error reply has no body');
  return { error, len, body: r.payload.subarray(0, len) };
}

export interface Run extends Harness {
  req: Request;
  reply: Reply;
}

/**
 * Builds, dispatches, and returns the reply of a request whose handler answers synchronously:
 * asserts exactly one reply was committed (none released).
 */
export function run(layout: Layout, fs: Filesystem, opcode: number, nodeid: number, opIn: Buffer, data: Buffer,
  o: BuildOptions & { flags?: bigint } = {}): Run {
  const h = harness(fs, o.flags);
  const req = build(layout, opcode, nodeid, opIn, data, o);
  h.d.dispatch(req);
  assert.equal(h.releases.length, 0, 'no release for an opcode that is replied to');
  assert.equal(h.commits.length, 1, 'exactly one reply');
  assert.equal(h.commits[0], req);
  assert.ok(!h.traces.some((t) => t.includes('<undecodable')) || replyOf(req).error !== 0, 'describe decodes a valid request');
  return { ...h, req, reply: replyOf(req) };
}

/** run() for an opcode the kernel expects no reply to: asserts the slot was released, never committed. */
export function runNoReply(layout: Layout, fs: Filesystem, opcode: number, nodeid: number, opIn: Buffer, data: Buffer,
  o: BuildOptions = {}): Harness & { req: Request } {
  const h = harness(fs);
  const req = build(layout, opcode, nodeid, opIn, data, o);
  h.d.dispatch(req);
  assert.equal(h.commits.length, 0, 'no reply');
  assert.equal(h.releases.length, 1, 'the slot is given back');
  return { ...h, req };
}

/** Registers one test per layout. */
export function both(name: string, fn: (layout: Layout) => void | Promise<void>): void {
  for (const L of LAYOUTS) test(`${name} [${L}]`, () => fn(L));
}

/** A little-endian struct builder: `struct(16).u32(0, 5).u64(8, 7).buf`. */
export class S {
  readonly buf: Buffer;
  constructor(size: number) { this.buf = Buffer.alloc(size); }
  u16(off: number, v: number): this { this.buf.writeUInt16LE(v, off); return this; }
  u32(off: number, v: number): this { this.buf.writeUInt32LE(v >>> 0, off); return this; }
  s32(off: number, v: number): this { this.buf.writeInt32LE(v, off); return this; }
  u64(off: number, v: number | bigint): this { this.buf.writeBigUInt64LE(BigInt(v), off); return this; }
}
export const struct = (size: number): S => new S(size);

/** NUL-terminated names, concatenated. */
export const names = (...n: (string | Buffer)[]): Buffer =>
  Buffer.concat(n.flatMap((x) => [typeof x === 'string' ? Buffer.from(x) : x, Buffer.alloc(1)]));

export const u32 = (b: Buffer, off: number): number => b.readUInt32LE(off);
export const s32 = (b: Buffer, off: number): number => b.readInt32LE(off);
export const u16 = (b: Buffer, off: number): number => b.readUInt16LE(off);
export const u64 = (b: Buffer, off: number): bigint => b.readBigUInt64LE(off);
export const s64 = (b: Buffer, off: number): bigint => b.readBigInt64LE(off);

export const sampleAttr = (ino: number): Attr => ({
  ino, mode: 0o100640, nlink: 3, uid: 501, gid: 502, rdev: 0x0801, size: 123456789012, blocks: 2048,
  blksize: 8192, atime: 1700000001, atimensec: 11, mtime: 1700000002, mtimensec: 22, ctime: 1700000003,
  ctimensec: 33, flags: 0,
});

export const sampleEntry = (nodeid: number): Entry => ({
  nodeid, generation: 9, attr: sampleAttr(nodeid + 100), entryTimeout: 2.25, attrTimeout: 0.5,
});

/** Checks struct fuse_attr (88) at `off` field by field. */
export function checkAttr(b: Buffer, off: number, a: Attr): void {
  assert.equal(u64(b, off + 0), BigInt(a.ino), 'attr.ino');
  assert.equal(u64(b, off + 8), BigInt(a.size ?? 0), 'attr.size');
  assert.equal(u64(b, off + 16), BigInt(a.blocks ?? 0), 'attr.blocks');
  assert.equal(u64(b, off + 24), BigInt(a.atime ?? 0), 'attr.atime');
  assert.equal(u64(b, off + 32), BigInt(a.mtime ?? 0), 'attr.mtime');
  assert.equal(u64(b, off + 40), BigInt(a.ctime ?? 0), 'attr.ctime');
  assert.equal(u32(b, off + 48), a.atimensec ?? 0, 'attr.atimensec');
  assert.equal(u32(b, off + 52), a.mtimensec ?? 0, 'attr.mtimensec');
  assert.equal(u32(b, off + 56), a.ctimensec ?? 0, 'attr.ctimensec');
  assert.equal(u32(b, off + 60), a.mode, 'attr.mode');
  assert.equal(u32(b, off + 64), a.nlink ?? 1, 'attr.nlink');
  assert.equal(u32(b, off + 68), a.uid ?? 0, 'attr.uid');
  assert.equal(u32(b, off + 72), a.gid ?? 0, 'attr.gid');
  assert.equal(u32(b, off + 76), a.rdev ?? 0, 'attr.rdev');
  assert.equal(u32(b, off + 80), a.blksize ?? 4096, 'attr.blksize');
  assert.equal(u32(b, off + 84), a.flags ?? 0, 'attr.flags');
}

/** Checks struct fuse_entry_out (128) at `off` for sampleEntry(). */
export function checkEntry(b: Buffer, off: number, e: Entry): void {
  assert.equal(u64(b, off + 0), BigInt(e.nodeid), 'entry.nodeid');
  assert.equal(u64(b, off + 8), BigInt(e.generation ?? 0), 'entry.generation');
  const et = e.entryTimeout ?? 1, at = e.attrTimeout ?? 1;
  assert.equal(u64(b, off + 16), BigInt(Math.floor(et)), 'entry_valid');
  assert.equal(u64(b, off + 24), BigInt(Math.floor(at)), 'attr_valid');
  assert.equal(u32(b, off + 32), Math.round((et - Math.floor(et)) * 1e9), 'entry_valid_nsec');
  assert.equal(u32(b, off + 36), Math.round((at - Math.floor(at)) * 1e9), 'attr_valid_nsec');
  checkAttr(b, off + 40, e.attr);
}

/** The RequestContext fields every method sees. */
export function checkCtx(ctx: { uid: number; gid: number; pid: number; unique: number; nodeid: number; opcode: number }, opcode: number, nodeid: number): void {
  assert.deepEqual([ctx.uid, ctx.gid, ctx.pid, ctx.unique, ctx.nodeid, ctx.opcode], [UID, GID, PID, UNIQUE, nodeid, opcode]);
}
