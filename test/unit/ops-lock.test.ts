// Lock opcodes on raw bytes, both layouts: GETLK, SETLK, SETLKW, and BSD flock (FUSE_LK_FLOCK).
import assert from 'node:assert/strict';
import { Op } from '../../src/abi/opcodes.js';
import { Errno } from '../../src/errors.js';
import type { FileLock, Filesystem } from '../../src/filesystem.js';
import { both, build, checkCtx, harness, run, struct, u32, u64 } from './ops-harness.js';

const none = Buffer.alloc(0);
const EIO = -Errno.EIO;
const OFFSET_MAX = 0x7fffffffffffffffn;

/** fuse_lk_in: fh @0, owner @8, lk {start @16, end @24, type @32, pid @36}, lk_flags @40. */
const lkIn = (type: number, o: { start?: bigint; end?: bigint; flock?: boolean } = {}): Buffer =>
  struct(48).u64(0, 17).u64(8, 0xdeadbeef).u64(16, o.start ?? 100n).u64(24, o.end ?? 199n).u32(32, type).u32(36, 4321)
    .u32(40, o.flock ? 1 : 0).buf;

both('GETLK: fh, owner and the lock; fuse_lk_out with the lock getlk returns', (L) => {
  let got: unknown[] = [];
  const fs: Filesystem = {
    getlk: (ctx, n, fh, owner, lock) => { checkCtx(ctx, Op.GETLK, 2); got = [n, fh, owner, lock]; return { start: 50, end: 149, type: 1, pid: 99 }; },
  };
  const r = run(L, fs, Op.GETLK, 2, lkIn(0), none);
  assert.deepEqual(got, [2, 17, 0xdeadbeef, { start: 100, end: 199, type: 0, pid: 4321 }]);
  assert.equal(r.reply.len, 24);
  const b = r.reply.body;
  assert.deepEqual([u64(b, 0), u64(b, 8), u32(b, 16), u32(b, 20)], [50n, 149n, 1, 99]);
});

both('GETLK: a lock to the end of the file (OFFSET_MAX) round-trips as OFFSET_MAX', (L) => {
  let seen: FileLock | undefined;
  const fs: Filesystem = { getlk: (_c, _n, _fh, _o, lock) => { seen = lock; return { ...lock, type: 2 }; } };
  let r = run(L, fs, Op.GETLK, 2, lkIn(1, { start: 0n, end: OFFSET_MAX }), none);
  assert.equal(seen!.end, 2 ** 63);
  assert.equal(u64(r.reply.body, 8), OFFSET_MAX);
  assert.equal(u32(r.reply.body, 16), 2);
  r = run(L, { getlk: () => ({ start: 0, end: Infinity, type: 0, pid: 1 }) }, Op.GETLK, 2, lkIn(1), none);
  assert.equal(u64(r.reply.body, 8), OFFSET_MAX);
});

both('GETLK: a lock of the wrong shape is EIO', (L) => {
  const bad: unknown[] = [undefined, {}, { start: 0, end: 1, type: 3, pid: 0 }, { start: -1, end: 1, type: 0, pid: 0 },
    { start: 0, end: 'x', type: 0, pid: 0 }, { start: 0, end: 1, type: 0, pid: 2 ** 32 }];
  for (const l of bad) assert.equal(run(L, { getlk: () => l as never }, Op.GETLK, 2, lkIn(0), none).reply.error, EIO, JSON.stringify(l));
});

both('SETLK and SETLKW: a POSIX lock goes to setlk with sleep = SETLKW', (L) => {
  let got: unknown[] = [];
  const fs: Filesystem = { setlk: (ctx, n, fh, owner, lock, sleep) => { checkCtx(ctx, ctx.opcode, 2); got = [n, fh, owner, lock, sleep]; } };
  let r = run(L, fs, Op.SETLK, 2, lkIn(1), none);
  assert.deepEqual(got, [2, 17, 0xdeadbeef, { start: 100, end: 199, type: 1, pid: 4321 }, false]);
  assert.equal(r.reply.error, 0);
  assert.equal(r.reply.len, 0);
  r = run(L, fs, Op.SETLKW, 2, lkIn(2), none);
  assert.deepEqual(got, [2, 17, 0xdeadbeef, { start: 100, end: 199, type: 2, pid: 4321 }, true]);
});

both('SETLK/SETLKW with FUSE_LK_FLOCK call flock: F_RDLCK→LOCK_SH, F_WRLCK→LOCK_EX, F_UNLCK→LOCK_UN, | LOCK_NB for SETLK', (L) => {
  const ops: number[] = [];
  let posix = 0;
  const fs: Filesystem = {
    flock: (ctx, n, fh, owner, op) => { checkCtx(ctx, ctx.opcode, 2); assert.deepEqual([n, fh, owner], [2, 17, 0xdeadbeef]); ops.push(op); },
    setlk: () => { posix++; },
  };
  for (const op of [Op.SETLK, Op.SETLKW]) {
    for (const type of [0, 1, 2]) assert.equal(run(L, fs, op, 2, lkIn(type, { flock: true }), none).reply.error, 0);
  }
  assert.deepEqual(ops, [1 | 4, 2 | 4, 8 | 4, 1, 2, 8]);
  assert.equal(posix, 0);
  assert.equal(run(L, fs, Op.SETLK, 2, lkIn(3, { flock: true }), none).reply.error, -Errno.EINVAL);
});

both('SETLK/SETLKW: ENOSYS when the method the lock needs is missing', (L) => {
  let called = 0;
  const onlyFlock: Filesystem = { flock: () => { called++; } };
  const onlySetlk: Filesystem = { setlk: () => { called++; } };
  for (const op of [Op.SETLK, Op.SETLKW]) {
    assert.equal(run(L, onlyFlock, op, 2, lkIn(1), none).reply.error, -Errno.ENOSYS);
    assert.equal(run(L, onlySetlk, op, 2, lkIn(1, { flock: true }), none).reply.error, -Errno.ENOSYS);
    assert.equal(run(L, {}, op, 2, lkIn(1), none).reply.error, -Errno.ENOSYS);
    assert.equal(run(L, {}, op, 2, lkIn(1, { flock: true }), none).reply.error, -Errno.ENOSYS);
  }
  assert.equal(called, 0);
  assert.equal(run(L, {}, Op.GETLK, 2, lkIn(1), none).reply.error, -Errno.ENOSYS);
});

both('SETLKW: a blocked lock settles later; its signal fires on INTERRUPT', async (L) => {
  let signal!: AbortSignal;
  let release!: () => void;
  const h = harness({ setlk: (ctx) => { signal = ctx.signal; return new Promise<void>((ok) => { release = ok; }); } });
  const req = build(L, Op.SETLKW, 2, lkIn(1), none, { unique: 100 });
  h.d.dispatch(req);
  assert.equal(h.commits.length, 0);
  h.d.interrupt(100);
  assert.equal(signal.aborted, true);
  release();
  await new Promise((ok) => setImmediate(ok));
  assert.equal(h.commits.length, 1);
  assert.equal(req.header.readInt32LE(4), 0);
});
