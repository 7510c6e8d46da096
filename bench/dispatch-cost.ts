// What JavaScript spends per request, without the kernel: requests written into a Request's header
// and payload as a ring entry would hold them, dispatched to memfs, replies "committed" to a sink
// that only counts. Every µs here is on the critical path of a synchronous caller's round trip
// (bench/queue-threads.c measures how much: docs/performance.md).
//
//   node dist/bench/dispatch-cost.js [requests per op, default 200000]
import { Request } from '../src/abi/request.js';
import { Dispatcher, type ReplySink } from '../src/dispatch.js';
import { MemFs } from '../src/fs/memfs/index.js';
import { Op } from '../src/abi/opcodes.js';
import { EntryOut, ForgetIn, InHeader, OpenOut, OutHeader, ReleaseIn, RingHeader } from '../src/abi/layout.js';

const n = Number(process.argv[2] ?? 200_000);
const header = Buffer.alloc(512);
const payload = Buffer.alloc(1 << 20);
const req = new Request(0, true, header, payload);
let commits = 0;
const sink: ReplySink = { commit: () => { commits++; }, release: () => {} };
const fs = new MemFs();
const d = new Dispatcher(fs, sink, { log: (l) => process.stderr.write(`${l}\n`), destroy: () => {} });

let unique = 2;
function put(opcode: number, nodeid: number, body: Buffer, opIn?: (v: DataView, off: number) => void): void {
  const v = req.hv;
  v.setUint32(InHeader.opcode, opcode, true);
  v.setBigUint64(InHeader.unique, BigInt(unique += 2), true);
  v.setBigUint64(InHeader.nodeid, BigInt(nodeid), true);
  v.setUint32(InHeader.uid, 0, true);
  v.setUint32(InHeader.gid, 0, true);
  v.setUint32(InHeader.pid, 1, true);
  if (opIn) opIn(v, RingHeader.op_in);
  body.copy(payload, 0);
  v.setUint32(RingHeader.payload_sz, body.length, true);
}

const WARMUP = 20_000;

/** Dispatches the request `put` wrote; returns the ns it took. */
function timed(): number {
  const t = process.hrtime.bigint();
  req.begin(0);
  d.dispatch(req);
  return Number(process.hrtime.bigint() - t);
}

/** Fails the run unless the last reply carried `error` (negative errno or 0) and `len` bytes. */
function expectReply(label: string, error: number, len: number): void {
  const got = [req.hv.getInt32(OutHeader.error, true), req.hv.getUint32(RingHeader.payload_sz, true)];
  if (got[0] !== error || got[1] !== len) throw new Error(`${label}: replied error ${got[0]}, ${got[1]} bytes; expected ${error}, ${len}`);
}

function report(label: string, ns: number, count: number): void {
  console.log(`${label.padEnd(34)} ${(ns / count / 1000).toFixed(2)} µs per request`);
}

/** Times n `prepare`d requests after a warm-up; the last reply must be `error` and `len` bytes. */
function run(label: string, error: number, len: number, prepare: (i: number) => void): void {
  for (let i = 0; i < WARMUP; i++) { prepare(i); timed(); } // warm up the JIT
  let ns = 0;
  for (let i = 0; i < n; i++) { prepare(i); ns += timed(); }
  expectReply(label, error, len);
  report(label, ns, n);
}

const names = Array.from({ length: 16_000 }, (_, i) => Buffer.from(`f0_${i}\0`));
const missing = Array.from({ length: 16_000 }, (_, i) => Buffer.from(`m0_${i}\0`));
/** fuse_create_in: O_CREAT|O_EXCL|O_WRONLY, a regular file 0644. */
const createIn = (v: DataView, o: number) => { v.setUint32(o, 0o1101, true); v.setUint32(o + 4, 0o100644, true); };
// 16,000 files to look up (CREATE leaves each open).
for (let i = 0; i < 16_000; i++) {
  put(Op.CREATE, 1, names[i]!, createIn);
  req.begin(0);
  d.dispatch(req);
}
const empty = Buffer.alloc(0);
// 4 KiB in the first file (nodeid 2, open as fh 1 since its CREATE) for the reads.
put(Op.WRITE, 2, Buffer.alloc(4096, 7), (v, o) => { v.setBigUint64(o, 1n, true); v.setBigUint64(o + 8, 0n, true); v.setUint32(o + 16, 4096, true); });
req.begin(0);
d.dispatch(req);
// memfs answers a miss with a negative entry (nodeid 0), not ENOENT.
run('LOOKUP, missing name', 0, 128, (i) => put(Op.LOOKUP, 1, missing[i % 16_000]!));
run('LOOKUP, existing name', 0, 128, (i) => put(Op.LOOKUP, 1, names[i % 16_000]!));
run('GETATTR', 0, 104, () => put(Op.GETATTR, 1, empty, (v, o) => { v.setUint32(o, 0, true); }));
// The requests of the metadata benchmark's create and unlink phases: CREATE, RELEASE, UNLINK and
// FORGET of 16,000 files in one directory, round after round (the first round warms up).
const churnNames = Array.from({ length: 16_000 }, (_, i) => Buffer.from(`c_${i}\0`));
const fhs: bigint[] = [];
const ids: number[] = [];
const churn = { CREATE: 0, RELEASE: 0, UNLINK: 0, FORGET: 0 };
const rounds = Math.max(2, Math.ceil(n / churnNames.length) + 1);
for (let r = 0; r < rounds; r++) {
  const t = { CREATE: 0, RELEASE: 0, UNLINK: 0, FORGET: 0 };
  churnNames.forEach((name, i) => {
    put(Op.CREATE, 1, name, createIn);
    t.CREATE += timed();
    expectReply('CREATE', 0, EntryOut.SIZE + OpenOut.SIZE);
    ids[i] = Number(payload.readBigUInt64LE(EntryOut.nodeid));
    fhs[i] = payload.readBigUInt64LE(EntryOut.SIZE + OpenOut.fh);
  });
  churnNames.forEach((_, i) => {
    put(Op.RELEASE, ids[i]!, empty, (v, o) => { v.setBigUint64(o + ReleaseIn.fh, fhs[i]!, true); v.setUint32(o + ReleaseIn.flags, 1, true); });
    t.RELEASE += timed();
    expectReply('RELEASE', 0, 0);
  });
  churnNames.forEach((name) => {
    put(Op.UNLINK, 1, name);
    t.UNLINK += timed();
    expectReply('UNLINK', 0, 0);
  });
  churnNames.forEach((_, i) => {
    put(Op.FORGET, ids[i]!, empty, (v, o) => { v.setBigUint64(o + ForgetIn.nlookup, 1n, true); });
    t.FORGET += timed();
  });
  if (r > 0) for (const k of Object.keys(t) as Array<keyof typeof t>) churn[k] += t[k];
}
if (fs.inodeCount() !== names.length + 1) throw new Error(`${fs.inodeCount()} inodes after the churn: a FORGET or RELEASE did not free`);
for (const [op, ns] of Object.entries(churn)) report(`${op} (16,000 in one directory)`, ns, (rounds - 1) * churnNames.length);
run('READ 4 KiB', 0, 4096, () => put(Op.READ, 2, empty, (v, o) => {
  v.setBigUint64(o, 1n, true); v.setBigUint64(o + 8, 0n, true); v.setUint32(o + 16, 4096, true);
}));
console.log(`(${commits} replies)`);
