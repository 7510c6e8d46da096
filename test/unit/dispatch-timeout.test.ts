// requestTimeout in the dispatcher, on raw slot bytes without a kernel: a handler that does not
// settle in time is answered ETIMEDOUT exactly once, its late result is dropped, and — because it
// ran on a private copy of its request — it cannot touch the slot once the slot holds the next
// request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Request } from '../../src/abi/request.js';
import { Dispatcher, type ReplySink } from '../../src/dispatch.js';
import { Op } from '../../src/abi/opcodes.js';
import { Errno } from '../../src/errors.js';
import { fill } from './ops-harness.js';
import type { Filesystem, RequestContext } from '../../src/filesystem.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Fields { opcode: number; unique: number; nodeid?: number; uid?: number; opIn?: Buffer; data?: Buffer }

/** Fills a slot (ring or /dev/fuse layout, as the slot is) with a request. */
function fillSlot(r: Request, f: Fields): Request {
  return fill(r, f.opcode, f.nodeid ?? 1, f.opIn ?? Buffer.alloc(0), f.data ?? Buffer.alloc(0), { unique: f.unique, uid: f.uid });
}

const ringSlot = () => new Request(0, true, Buffer.alloc(512), Buffer.alloc(8192));
const devSlot = () => new Request(0, false, Buffer.alloc(512), Buffer.alloc(8192));
const readIn = (size: number): Buffer => { const b = Buffer.alloc(40); b.writeUInt32LE(size, 16); return b; };
const writeIn = (size: number): Buffer => { const b = Buffer.alloc(40); b.writeUInt32LE(size, 16); return b; };
const err = (r: Request): number => r.header.readInt32LE(4);

function harness(fs: Filesystem, requestTimeout = 40) {
  const commits: Array<{ unique: number; error: number; body: Buffer }> = [];
  const logs: string[] = [];
  const sink: ReplySink = {
    commit: (r) => {
      const len = r.header.readUInt32LE(0) - 16;
      commits.push({ unique: r.unique, error: err(r), body: Buffer.from(r.payload.subarray(0, len)) });
    },
    release: () => assert.fail('release'),
  };
  const d = new Dispatcher(fs, sink, { log: (l) => logs.push(l), destroy: () => {}, requestTimeout });
  return { d, commits, logs };
}

test('a handler that never settles is answered ETIMEDOUT once, and the opcode is logged once', async () => {
  const { d, commits, logs } = harness({ getattr: () => new Promise(() => {}) });
  const a = fillSlot(ringSlot(), { opcode: Op.GETATTR, unique: 7, opIn: Buffer.alloc(16) });
  const b = fillSlot(ringSlot(), { opcode: Op.GETATTR, unique: 8, opIn: Buffer.alloc(16) });
  d.dispatch(a);
  d.dispatch(b);
  assert.equal(d.pending, 2);
  await sleep(20);
  assert.equal(commits.length, 0, 'not before the timeout');
  await sleep(60);
  assert.deepEqual(commits.map((c) => [c.unique, c.error]), [[7, -Errno.ETIMEDOUT], [8, -Errno.ETIMEDOUT]]);
  assert.equal(d.timeouts, 2);
  assert.equal(d.pending, 0);
  assert.equal(logs.filter((l) => /GETATTR handler did not settle within 40 ms: answered ETIMEDOUT/.test(l)).length, 1, logs.join('\n'));
  await sleep(60);
  assert.equal(commits.length, 2, 'answered exactly once');
  d.end();
});

for (const [kind, slot] of [['ring', ringSlot], ['/dev/fuse', devSlot]] as const) {
  test(`over a ${kind} slot, a late result is dropped and the late handler cannot touch the slot's next request`, async () => {
    let late!: { ctx: RequestContext; out: Buffer; resolve: (n: number) => void };
    let written = '';
    let writeUid = -1;
    const { d, commits } = harness({
      read: (ctx, _n, _fh, _off, _size, out) => new Promise<number>((resolve) => { late = { ctx, out, resolve }; }),
      // The next request's handler waits before it uses its data, as an async filesystem would.
      write: async (ctx, _n, _fh, _off, data) => { writeUid = ctx.uid; await sleep(30); written = data.toString(); return data.length; },
    });
    const r = slot();
    fillSlot(r, { opcode: Op.READ, unique: 11, uid: 1000, opIn: readIn(4096) });
    d.dispatch(r);
    await sleep(80);
    assert.deepEqual(commits.map((c) => [c.unique, c.error]), [[11, -Errno.ETIMEDOUT]]);
    // The kernel gives the slot the next request: a WRITE of 'BBBB' by uid 2000.
    fillSlot(r, { opcode: Op.WRITE, unique: 12, uid: 2000, opIn: writeIn(4), data: Buffer.from('BBBB') });
    d.dispatch(r);
    // Now the timed-out handler wakes up: it scribbles over what it was given and answers.
    late.out.fill(0x58);
    assert.equal(late.ctx.uid, 1000, 'its ctx is its own request, not the slot’s next one');
    late.resolve(4096);
    await sleep(60);
    assert.equal(written, 'BBBB', 'the WRITE saw its own data');
    assert.equal(writeUid, 2000);
    assert.deepEqual(commits.map((c) => [c.unique, c.error]), [[11, -Errno.ETIMEDOUT], [12, 0]], 'the late READ result was dropped');
    assert.equal(commits[1]!.body.readUInt32LE(0), 4, 'fuse_write_out.size');
    d.end();
  });
}

test('with a timeout set, replies carry the same bytes as without', () => {
  const fs: Filesystem = {
    lookup: (_c, _p, name) => ({ nodeid: 5, attr: { ino: 5, mode: 0o100644, size: name.length }, entryTimeout: 1.5 }),
    read: (_c, _n, _fh, off, size, out) => out.write('hello world'.slice(off, off + size), 0),
  };
  const plain = harness(fs, 0), timed = harness(fs, 1000);
  for (const h of [plain, timed]) {
    h.d.dispatch(fillSlot(ringSlot(), { opcode: Op.LOOKUP, unique: 1, data: Buffer.from('a.txt\0') }));
    h.d.dispatch(fillSlot(devSlot(), { opcode: Op.READ, unique: 2, opIn: readIn(100) }));
    h.d.end();
  }
  assert.equal(timed.commits.length, 2);
  assert.deepEqual(timed.commits, plain.commits);
  assert.equal(timed.commits[1]!.body.toString(), 'hello world');
});

test('the timeout fires ctx.signal, and INTERRUPT reaches a handler running on its copy', async () => {
  const signals: AbortSignal[] = [];
  const { d, commits } = harness({ getattr: (ctx) => { signals.push(ctx.signal); return new Promise(() => {}); } }, 200);
  d.dispatch(fillSlot(ringSlot(), { opcode: Op.GETATTR, unique: 21, opIn: Buffer.alloc(16) }));
  d.dispatch(fillSlot(ringSlot(), { opcode: Op.GETATTR, unique: 22, opIn: Buffer.alloc(16) }));
  d.interrupt(21);
  assert.equal(signals[0]!.aborted, true, 'INTERRUPT');
  assert.equal(signals[1]!.aborted, false);
  await sleep(320);
  assert.equal(signals[1]!.aborted, true, 'the timeout');
  assert.equal(commits.length, 2);
  d.end();
});

test('SETLKW (a blocking lock wait) has no deadline', async () => {
  let resolve!: () => void;
  const { d, commits } = harness({ setlk: () => new Promise<void>((ok) => { resolve = ok; }) }, 30);
  d.dispatch(fillSlot(ringSlot(), { opcode: Op.SETLKW, unique: 31, opIn: Buffer.alloc(48) }));
  await sleep(100);
  assert.equal(commits.length, 0, 'still waiting for the lock');
  resolve();
  await sleep(10);
  assert.deepEqual(commits.map((c) => [c.unique, c.error]), [[31, 0]]);
  d.end();
});

test('a handler that throws or answers garbage under a timeout still gets an errno, and the slot is reused', () => {
  const { d, commits } = harness({ lookup: (_c, _p, name) => { if (name === 'x') throw new Error('bug'); return 'garbage' as never; } }, 1000);
  const r = ringSlot();
  d.dispatch(fillSlot(r, { opcode: Op.LOOKUP, unique: 41, data: Buffer.from('x\0') }));
  d.dispatch(fillSlot(r, { opcode: Op.LOOKUP, unique: 42, data: Buffer.from('y\0') }));
  assert.deepEqual(commits.map((c) => [c.unique, c.error]), [[41, -Errno.EIO], [42, -Errno.EIO]]);
  d.end();
});
