import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Init } from '../../src/abi/flags.js';
import { BASE_FLAGS, decodeInit, encodeInitReply, negotiate, payloadSize, type InitRequest } from '../../src/init.js';

/** What Linux 6.18 offered here with enable_uring=Y (docs/fuse-over-io-uring.md §4.3). */
const OFFER = 0x000007fd73fffffbn;

function initBytes(offered: bigint, unique = 2): Buffer {
  const b = Buffer.alloc(104);
  b.writeUInt32LE(104, 0); b.writeUInt32LE(26, 4); b.writeUInt32LE(unique, 8);
  b.writeUInt32LE(7, 40); b.writeUInt32LE(45, 44); b.writeUInt32LE(131072, 48);
  b.writeUInt32LE(Number(offered & 0xffffffffn), 52); b.writeUInt32LE(Number(offered >> 32n), 56);
  return b;
}

test('the kernel offer is decoded from FUSE_INIT, flags2 included', () => {
  const r = decodeInit(initBytes(OFFER), 104);
  assert.equal(r.major, 7); assert.equal(r.minor, 45); assert.equal(r.maxReadahead, 131072);
  assert.equal(r.offered, OFFER);
  assert.throws(() => decodeInit(Buffer.alloc(104), 104), /expected FUSE_INIT/);
});

test('the reference set is asked for, with OVER_IO_URING for the ring, and never more than offered', async () => {
  const req = decodeInit(initBytes(OFFER), 104);
  const fs = { readdirplus() {} };
  const n = await negotiate(req, {}, fs, true);
  assert.equal(n.flags, (BASE_FLAGS | Init.OVER_IO_URING) & OFFER);
  assert.ok(n.flags & Init.INIT_EXT);
  const narrow = await negotiate({ ...req, offered: Init.INIT_EXT | Init.ASYNC_READ }, { posixLocks: true }, fs, true);
  assert.equal(narrow.flags, Init.INIT_EXT | Init.ASYNC_READ);
});

test('options add their flags; passthrough wins over writeback', async () => {
  const req = decodeInit(initBytes(OFFER), 104);
  const n = await negotiate(req, { posixLocks: true, flockLocks: true, writeback: true, passthrough: true }, {}, false);
  assert.ok(n.flags & Init.POSIX_LOCKS && n.flags & Init.FLOCK_LOCKS && n.flags & Init.PASSTHROUGH);
  assert.equal(n.flags & Init.WRITEBACK_CACHE, 0n);
  assert.equal(n.maxStackDepth, 1);
  assert.equal(n.flags & Init.OVER_IO_URING, 0n);
  const w = await negotiate(req, { writeback: true }, {}, false);
  assert.ok(w.flags & Init.WRITEBACK_CACHE);
});

test('without readdirplus the kernel is not asked for READDIRPLUS', async () => {
  const n = await negotiate(decodeInit(initBytes(OFFER), 104), {}, {}, true);
  assert.equal(n.flags & (Init.DO_READDIRPLUS | Init.READDIRPLUS_AUTO), 0n);
});

test('init() sees the offer and may narrow but not widen', async () => {
  const req: InitRequest = decodeInit(initBytes(OFFER & ~Init.POSIX_ACL), 104);
  let seen = 0n;
  const n = await negotiate(req, {}, {
    init(info) { seen = info.offered; info.want &= ~Init.ASYNC_READ; info.want |= Init.POSIX_ACL; },
  }, true);
  assert.equal(seen, OFFER & ~Init.POSIX_ACL);
  assert.equal(n.flags & Init.ASYNC_READ, 0n);
  assert.equal(n.flags & Init.POSIX_ACL, 0n);
});

test('max_write is capped at 16 MiB and by max_pages_limit; the payload covers it', async () => {
  const n = await negotiate(decodeInit(initBytes(OFFER), 104), { maxWrite: 131072 }, {}, true);
  assert.equal(n.maxWrite, 131072); assert.equal(n.maxPages, 32); assert.equal(payloadSize(n), 131072);
  const big = await negotiate(decodeInit(initBytes(OFFER), 104), { maxWrite: 16 * 1024 * 1024 }, {}, true);
  assert.ok(big.maxWrite <= 16 * 1024 * 1024 && big.maxWrite % 4096 === 0);
  assert.equal(big.maxPages * 4096, big.maxWrite);
});

test('the INIT reply carries the unique, 7.45 and the flags split over flags/flags2', async () => {
  const req = decodeInit(initBytes(OFFER, 0x1234), 104);
  const n = await negotiate(req, {}, {}, true);
  const b = encodeInitReply(req, n);
  assert.equal(b.length, 80);
  assert.equal(b.readUInt32LE(0), 80); assert.equal(b.readInt32LE(4), 0); assert.equal(b.readUInt32LE(8), 0x1234);
  assert.equal(b.readUInt32LE(16), 7); assert.equal(b.readUInt32LE(20), 45);
  assert.equal(BigInt(b.readUInt32LE(28)) | (BigInt(b.readUInt32LE(48)) << 32n), n.flags);
  assert.equal(b.readUInt32LE(36), n.maxWrite); assert.equal(b.readUInt16LE(44), n.maxPages);
});
