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
import { InHeader, OutHeader, RingHeader } from '../src/abi/layout.js';
import { Errno } from '../src/errors.js';

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

/** Times `prepare`d requests; the last reply must carry `error` (negative errno or 0) and `len` bytes. */
function run(label: string, error: number, len: number, prepare: (i: number) => void): void {
  for (let i = 0; i < 20_000; i++) { prepare(i); req.begin(0); d.dispatch(req); } // warm up the JIT
  let ns = 0;
  for (let i = 0; i < n; i++) {
    prepare(i);
    const t = process.hrtime.bigint();
    req.begin(0);
    d.dispatch(req);
    ns += Number(process.hrtime.bigint() - t);
  }
  const got = [req.hv.getInt32(OutHeader.error, true), req.hv.getUint32(RingHeader.payload_sz, true)];
  if (got[0] !== error || got[1] !== len) throw new Error(`${label}: replied error ${got[0]}, ${got[1]} bytes; expected ${error}, ${len}`);
  console.log(`${label.padEnd(28)} ${(ns / n / 1000).toFixed(2)} µs per request`);
}

const names = Array.from({ length: 16_000 }, (_, i) => Buffer.from(`f0_${i}\0`));
const missing = Array.from({ length: 16_000 }, (_, i) => Buffer.from(`m0_${i}\0`));
// 16,000 files to look up (CREATE leaves each open).
for (let i = 0; i < 16_000; i++) {
  put(Op.CREATE, 1, names[i]!, (v, o) => { v.setUint32(o, 0o1101, true); v.setUint32(o + 4, 0o100644, true); });
  req.begin(0);
  d.dispatch(req);
}
const empty = Buffer.alloc(0);
// 4 KiB in the first file (nodeid 2, open as fh 1 since its CREATE) for the reads.
put(Op.WRITE, 2, Buffer.alloc(4096, 7), (v, o) => { v.setBigUint64(o, 1n, true); v.setBigUint64(o + 8, 0n, true); v.setUint32(o + 16, 4096, true); });
req.begin(0);
d.dispatch(req);
run('LOOKUP, missing name', -Errno.ENOENT, 0, (i) => put(Op.LOOKUP, 1, missing[i % 16_000]!));
run('LOOKUP, existing name', 0, 128, (i) => put(Op.LOOKUP, 1, names[i % 16_000]!));
run('GETATTR', 0, 104, () => put(Op.GETATTR, 1, empty, (v, o) => { v.setUint32(o, 0, true); }));
run('READ 4 KiB', 0, 4096, () => put(Op.READ, 2, empty, (v, o) => {
  v.setBigUint64(o, 1n, true); v.setBigUint64(o + 8, 0n, true); v.setUint32(o + 16, 4096, true);
}));
console.log(`(${commits} replies)`);
