// The dispatcher on raw ring-layout bytes, without a kernel: decoding, reply encoding, errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Request } from '../../src/abi/request.js';
import { Dispatcher, type ReplySink } from '../../src/dispatch.js';
import { Op } from '../../src/abi/opcodes.js';
import { FuseError, Errno } from '../../src/errors.js';
import type { Filesystem } from '../../src/filesystem.js';

function ringRequest(opcode: number, nodeid: number, opIn: Buffer, data: Buffer, payloadSize = 4096): Request {
  const header = Buffer.alloc(512);
  header.writeUInt32LE(40 + opIn.length + data.length, 0);
  header.writeUInt32LE(opcode, 4);
  header.writeUInt32LE(42, 8);
  header.writeUInt32LE(nodeid, 16);
  header.writeUInt32LE(1000, 24); header.writeUInt32LE(1000, 28); header.writeUInt32LE(777, 32);
  opIn.copy(header, 128);
  header.writeUInt32LE(42, 264);
  header.writeUInt32LE(data.length, 272);
  const payload = Buffer.alloc(payloadSize);
  data.copy(payload, 0);
  const r = new Request(0, true, header, payload);
  r.begin(0);
  return r;
}

function harness(fs: Filesystem) {
  const commits: Request[] = [];
  const logs: string[] = [];
  const sink: ReplySink = { commit: (r) => commits.push(r), release: () => assert.fail('release on a ring slot') };
  const d = new Dispatcher(fs, sink, { log: (l) => logs.push(l), destroy: () => {} });
  return { d, commits, logs };
}
const err = (r: Request): number => r.header.readInt32LE(4);
const psz = (r: Request): number => r.header.readUInt32LE(272);
const readIn = (size: number): Buffer => { const b = Buffer.alloc(40); b.writeUInt32LE(size, 16); return b; };

test('LOOKUP decodes the name and encodes fuse_entry_out (128 bytes)', () => {
  let got = '';
  const { d, commits } = harness({ lookup: (ctx, parent, name) => { got = `${ctx.uid}:${ctx.pid}:${parent}:${name}`; return { nodeid: 5, attr: { ino: 5, mode: 0o100644, size: 3 }, entryTimeout: 1.5 }; } });
  const r = ringRequest(Op.LOOKUP, 1, Buffer.alloc(0), Buffer.from('a.txt\0'));
  d.dispatch(r);
  assert.equal(got, '1000:777:1:a.txt');
  assert.equal(commits.length, 1);
  assert.equal(err(r), 0); assert.equal(psz(r), 128);
  assert.equal(r.payload.readUInt32LE(0), 5);            // nodeid
  assert.equal(r.payload.readUInt32LE(16), 1);           // entry_valid
  assert.equal(r.payload.readUInt32LE(32), 500000000);   // entry_valid_nsec
  assert.equal(r.payload.readUInt32LE(40 + 60), 0o100644); // attr.mode
});

test('a missing method answers ENOSYS; an unknown opcode too', () => {
  const { d } = harness({});
  const r = ringRequest(Op.MKDIR, 1, Buffer.alloc(8), Buffer.from('d\0'));
  d.dispatch(r);
  assert.equal(err(r), -Errno.ENOSYS);
  const u = ringRequest(4000, 1, Buffer.alloc(0), Buffer.alloc(0));
  d.dispatch(u);
  assert.equal(err(u), -Errno.ENOSYS);
});

test('a throwing handler answers EIO and is logged once; FuseError answers its errno', () => {
  const { d, logs } = harness({
    lookup: (_c, _p, name) => { if (name === 'x') throw new Error('boom'); throw new FuseError(Errno.EACCES); },
  });
  for (let i = 0; i < 3; i++) {
    const r = ringRequest(Op.LOOKUP, 1, Buffer.alloc(0), Buffer.from('x\0'));
    d.dispatch(r);
    assert.equal(err(r), -Errno.EIO);
  }
  assert.equal(logs.length, 1);
  assert.match(logs[0]!, /LOOKUP handler failed, answering EIO: Error: boom/);
  const r = ringRequest(Op.LOOKUP, 1, Buffer.alloc(0), Buffer.from('y\0'));
  d.dispatch(r);
  assert.equal(err(r), -Errno.EACCES);
});

test('a result of the wrong shape is an error reply, never a corrupt one', () => {
  const { d } = harness({ lookup: () => undefined as never, read: () => 5000 });
  const r = ringRequest(Op.LOOKUP, 1, Buffer.alloc(0), Buffer.from('a\0'));
  d.dispatch(r);
  assert.equal(err(r), -Errno.EIO); assert.equal(psz(r), 0);
  const rd = ringRequest(Op.READ, 2, readIn(4096), Buffer.alloc(0));
  d.dispatch(rd);
  assert.equal(err(rd), -Errno.EIO);
});

test('READ fills the reply buffer in place or copies a returned buffer; too large is refused', () => {
  const { d } = harness({
    read: (_c, n, _fh, off, size, out) => n === 2 ? out.write('hello'.slice(off), 0) : n === 3 ? Buffer.from('abc') : Buffer.alloc(size + 1),
  });
  const a = ringRequest(Op.READ, 2, readIn(100), Buffer.alloc(0));
  d.dispatch(a);
  assert.equal(psz(a), 5); assert.equal(a.payload.toString('latin1', 0, 5), 'hello');
  const b = ringRequest(Op.READ, 3, readIn(100), Buffer.alloc(0));
  d.dispatch(b);
  assert.equal(psz(b), 3); assert.equal(b.payload.toString('latin1', 0, 3), 'abc');
  const c = ringRequest(Op.READ, 4, readIn(100), Buffer.alloc(0));
  d.dispatch(c);
  assert.equal(err(c), -Errno.EIO);
});

test('an async handler is replied to exactly once, and not at all after the connection ended', async () => {
  let resolve!: (v: any) => void;
  const { d, commits } = harness({ getattr: () => new Promise((ok) => { resolve = ok; }) });
  const r = ringRequest(Op.GETATTR, 1, Buffer.alloc(16), Buffer.alloc(0));
  d.dispatch(r);
  assert.equal(commits.length, 0);
  assert.equal(d.pending, 1);
  resolve({ attr: { ino: 1, mode: 0o40755 } });
  resolve({ attr: { ino: 1, mode: 0o40755 } });
  await new Promise((ok) => setImmediate(ok));
  assert.equal(commits.length, 1);
  assert.equal(psz(r), 104);
  const r2 = ringRequest(Op.GETATTR, 1, Buffer.alloc(16), Buffer.alloc(0));
  d.dispatch(r2);
  d.end();
  resolve({ attr: { ino: 1, mode: 0o40755 } });
  await new Promise((ok) => setImmediate(ok));
  assert.equal(commits.length, 1);
});

test('INTERRUPT aborts the signal of the request it names', async () => {
  let signal!: AbortSignal;
  const { d } = harness({ getattr: (ctx) => { signal = ctx.signal; return new Promise(() => {}); } });
  const r = ringRequest(Op.GETATTR, 1, Buffer.alloc(16), Buffer.alloc(0));
  d.dispatch(r);
  assert.equal(signal.aborted, false);
  d.interrupt(42);
  assert.equal(signal.aborted, true);
});

test('RENAME2 passes both names, the new parent and the flags', () => {
  let got: unknown[] = [];
  const { d } = harness({ rename: (_c, p, n, np, nn, f) => { got = [p, n, np, nn, f]; } });
  const opIn = Buffer.alloc(16); opIn.writeUInt32LE(9, 0); opIn.writeUInt32LE(1, 8);
  const r = ringRequest(Op.RENAME2, 3, opIn, Buffer.from('old\0new\0'));
  d.dispatch(r);
  assert.deepEqual(got, [3, 'old', 9, 'new', 1]);
  assert.equal(err(r), 0); assert.equal(psz(r), 0);
});
