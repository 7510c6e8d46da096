// Session opcodes on raw bytes, both layouts: FORGET, BATCH_FORGET, INTERRUPT, NOTIFY_REPLY (no
// reply), DESTROY.
import assert from 'node:assert/strict';
import { Op } from '../../src/abi/opcodes.js';
import { both, build, harness, run, runNoReply, struct } from './ops-harness.js';

const none = Buffer.alloc(0);

both('FORGET: nodeid and nlookup, no reply; without forget() nothing happens', (L) => {
  const got: number[][] = [];
  runNoReply(L, { forget: (n, k) => { got.push([n, k]); } }, Op.FORGET, 9, struct(8).u64(0, 2 ** 40).buf, none);
  assert.deepEqual(got, [[9, 2 ** 40]]);
  runNoReply(L, {}, Op.FORGET, 9, struct(8).u64(0, 1).buf, none);
});

const items = (...pairs: [number, number][]): Buffer =>
  Buffer.concat(pairs.map(([n, k]) => struct(16).u64(0, n).u64(8, k).buf));

both('BATCH_FORGET: count × fuse_forget_one, no reply', (L) => {
  const got: number[][] = [];
  runNoReply(L, { forget: (n, k) => { got.push([n, k]); } }, Op.BATCH_FORGET, 0, struct(8).u32(0, 3).buf, items([5, 1], [6, 2], [2 ** 35, 3]));
  assert.deepEqual(got, [[5, 1], [6, 2], [2 ** 35, 3]]);
});

both('BATCH_FORGET: a count beyond the data present reads only the whole items there', (L) => {
  const got: number[][] = [];
  const data = Buffer.concat([items([5, 1], [6, 2]), Buffer.alloc(8, 0xff)]);
  runNoReply(L, { forget: (n, k) => { got.push([n, k]); } }, Op.BATCH_FORGET, 0, struct(8).u32(0, 1000).buf, data);
  assert.deepEqual(got, [[5, 1], [6, 2]]);
  got.length = 0;
  runNoReply(L, { forget: (n, k) => { got.push([n, k]); } }, Op.BATCH_FORGET, 0, struct(8).u32(0, 0xffffffff).buf, none);
  assert.deepEqual(got, []);
});

both('INTERRUPT: the unique it names has its signal aborted; no reply', async (L) => {
  let signal!: AbortSignal;
  let settle!: () => void;
  const h = harness({ getattr: (ctx) => { signal = ctx.signal; return new Promise((ok) => { settle = () => ok({ attr: { ino: 1, mode: 0o40755 } }); }); } });
  const target = build(L, Op.GETATTR, 1, struct(16).buf, none, { unique: 200 });
  h.d.dispatch(target);
  const intr = build(L, Op.INTERRUPT, 0, struct(8).u64(0, 200).buf, none, { unique: 201 });
  h.d.dispatch(intr);
  assert.equal(signal.aborted, true);
  assert.deepEqual(h.releases, [intr]);
  assert.equal(h.commits.length, 0);
  // An INTERRUPT for a unique nobody holds is harmless.
  const stray = build(L, Op.INTERRUPT, 0, struct(8).u64(0, 999).buf, none, { unique: 203 });
  h.d.dispatch(stray);
  assert.equal(h.releases.length, 2);
  settle();
  await new Promise((ok) => setImmediate(ok));
  assert.deepEqual(h.commits, [target]);
});

both('DESTROY: runs the session hook; an empty reply', (L) => {
  const r = run(L, {}, Op.DESTROY, 0, none, none);
  assert.equal(r.destroyed, 1);
  assert.equal(r.reply.error, 0);
  assert.equal(r.reply.len, 0);
});

/** struct fuse_notify_retrieve_in (40): dummy1 @0, offset @8, size @16, dummy2 @20, dummy3 @24, dummy4 @32. */
const retrieveIn = (offset: number, size: number): Buffer => struct(40).u64(0, 0xdd).u64(8, offset).u32(16, size).u32(20, 0xdd).buf;

both('NOTIFY_REPLY: its unique, the offset and the data go to the session hook; no reply', (L) => {
  // No fixed struct in op_in: fuse_notify_retrieve_in starts the payload in both layouts.
  const h = runNoReply(L, {}, Op.NOTIFY_REPLY, 3, none, Buffer.concat([retrieveIn(2 ** 33, 5), Buffer.from('hello')]), { unique: 0x1234 });
  assert.deepEqual(h.notifyReplies, [[0x1234, 2 ** 33, Buffer.from('hello')]]);
});

both('NOTIFY_REPLY: a size beyond the data present gives only what arrived; a short request is dropped', (L) => {
  let h = runNoReply(L, {}, Op.NOTIFY_REPLY, 3, none, Buffer.concat([retrieveIn(0, 4096), Buffer.from('abc')]));
  assert.deepEqual(h.notifyReplies, [[42, 0, Buffer.from('abc')]]);
  h = runNoReply(L, {}, Op.NOTIFY_REPLY, 3, none, retrieveIn(0, 0).subarray(0, 39));
  assert.deepEqual(h.notifyReplies, []);
});
