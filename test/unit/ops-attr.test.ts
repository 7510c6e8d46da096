// Attribute opcodes on raw bytes, both layouts: GETATTR, SETATTR, STATFS, STATX, ACCESS, SYNCFS.
import assert from 'node:assert/strict';
import { Op } from '../../src/abi/opcodes.js';
import { Errno } from '../../src/errors.js';
import type { Filesystem, SetattrIn, StatxAttr } from '../../src/filesystem.js';
import { both, checkAttr, checkCtx, run, s64, sampleAttr, struct, u16, u32, u64 } from './ops-harness.js';

const none = Buffer.alloc(0);
const EIO = -Errno.EIO;

both('GETATTR: fh only with FUSE_GETATTR_FH; fuse_attr_out (104)', (L) => {
  let got: unknown[] = [];
  const a = sampleAttr(3);
  const fs: Filesystem = { getattr: (ctx, n, fh) => { checkCtx(ctx, Op.GETATTR, 3); got = [n, fh]; return { attr: a, timeout: 3.75 }; } };
  const r = run(L, fs, Op.GETATTR, 3, struct(16).u32(0, 1).u64(8, 77).buf, none);
  assert.deepEqual(got, [3, 77]);
  assert.equal(r.reply.len, 104);
  const b = r.reply.body;
  assert.equal(u64(b, 0), 3n);                 // attr_valid
  assert.equal(u32(b, 8), 750000000);          // attr_valid_nsec
  assert.equal(u32(b, 12), 0);                 // dummy
  checkAttr(b, 16, a);
  run(L, fs, Op.GETATTR, 3, struct(16).u32(0, 0).u64(8, 77).buf, none);
  assert.deepEqual(got, [3, undefined]);
});

both('SETATTR: every field that valid names, and only those', (L) => {
  let got: SetattrIn | undefined;
  const fs: Filesystem = { setattr: (_c, _n, s) => { got = s; return { attr: sampleAttr(4) }; } };
  const all = 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x20 | 0x40 | 0x200 | 0x400 | 0x800;
  const opIn = struct(88).u32(0, all).u64(8, 5).u64(16, 4096).u64(24, 0xabcdef).u64(32, -5n & 0xffffffffffffffffn)
    .u64(40, 1700000000).u64(48, 1700000001).u32(56, 1).u32(60, 2).u32(64, 3).u32(68, 0o644).u32(76, 501).u32(80, 502).buf;
  const r = run(L, fs, Op.SETATTR, 4, opIn, none);
  assert.deepEqual(got, {
    valid: all, fh: 5, mode: 0o644, uid: 501, gid: 502, size: 4096, atime: -5, atimensec: 1,
    mtime: 1700000000, mtimensec: 2, ctime: 1700000001, ctimensec: 3, lockOwner: 0xabcdef, killSuidgid: true,
  });
  assert.equal(r.reply.len, 104);
  checkAttr(r.reply.body, 16, sampleAttr(4));
  run(L, fs, Op.SETATTR, 4, struct(88).u32(0, 0x80 | 0x100 | 0x10 | 0x20).u32(68, 0o777).buf, none);
  assert.deepEqual(got, { valid: 0x80 | 0x100 | 0x10 | 0x20, atimeNow: true, mtimeNow: true });
});

both('STATFS: fuse_statfs_out (80), spares zero', (L) => {
  const st = { blocks: 2 ** 40, bfree: 2, bavail: 3, files: 4, ffree: 5, bsize: 4096, namelen: 255, frsize: 512 };
  let got = -1;
  const r = run(L, { statfs: (_c, n) => { got = n; return st; } }, Op.STATFS, 1, none, none);
  assert.equal(got, 1);
  assert.equal(r.reply.len, 80);
  const b = r.reply.body;
  assert.deepEqual([u64(b, 0), u64(b, 8), u64(b, 16), u64(b, 24), u64(b, 32)], [2n ** 40n, 2n, 3n, 4n, 5n]);
  assert.deepEqual([u32(b, 40), u32(b, 44), u32(b, 48)], [4096, 255, 512]);
  assert.ok(b.subarray(52, 80).every((x) => x === 0));
});

const sx: StatxAttr = {
  mask: 0xfff, ino: 2 ** 33 + 1, mode: 0o100600, nlink: 2, uid: 10, gid: 20, size: 5000, blocks: 16, blksize: 512,
  attributes: 0x20, attributesMask: 0x30, atime: -1, atimensec: 999999999, btime: 1600000000, btimensec: 1,
  ctime: 1600000002, ctimensec: 2, mtime: 1600000003, mtimensec: 3, rdevMajor: 8, rdevMinor: 1, devMajor: 0, devMinor: 42,
};

both('STATX: fh only with GETATTR_FH, sx_flags and sx_mask; fuse_statx_out (288) field by field', (L) => {
  let got: unknown[] = [];
  const fs: Filesystem = { statx: (ctx, n, fh, flags, mask) => { checkCtx(ctx, Op.STATX, 9); got = [n, fh, flags, mask]; return { attr: sx, timeout: 1.5 }; } };
  const r = run(L, fs, Op.STATX, 9, struct(24).u32(0, 1).u64(8, 31).u32(16, 0x800).u32(20, 0x7ff).buf, none);
  assert.deepEqual(got, [9, 31, 0x800, 0x7ff]);
  assert.equal(r.reply.len, 288);
  const b = r.reply.body;
  assert.equal(u64(b, 0), 1n);                  // attr_valid
  assert.equal(u32(b, 8), 500000000);           // attr_valid_nsec
  assert.equal(u32(b, 12), 0);                  // flags
  assert.ok(b.subarray(16, 32).every((x) => x === 0), 'spare');
  const s = 32;
  assert.equal(u32(b, s + 0), 0xfff);           // mask
  assert.equal(u32(b, s + 4), 512);             // blksize
  assert.equal(u64(b, s + 8), 0x20n);           // attributes
  assert.equal(u32(b, s + 16), 2);              // nlink
  assert.equal(u32(b, s + 20), 10);             // uid
  assert.equal(u32(b, s + 24), 20);             // gid
  assert.equal(u16(b, s + 28), 0o100600);       // mode (u16)
  assert.equal(u16(b, s + 30), 0);              // __spare0
  assert.equal(u64(b, s + 32), 2n ** 33n + 1n); // ino
  assert.equal(u64(b, s + 40), 5000n);          // size
  assert.equal(u64(b, s + 48), 16n);            // blocks
  assert.equal(u64(b, s + 56), 0x30n);          // attributes_mask
  const times: [number, bigint, number][] = [[64, -1n, 999999999], [80, 1600000000n, 1], [96, 1600000002n, 2], [112, 1600000003n, 3]];
  for (const [off, sec, nsec] of times) {
    assert.equal(s64(b, s + off), sec, `sx_time @${off}`);
    assert.equal(u32(b, s + off + 8), nsec);
    assert.equal(u32(b, s + off + 12), 0, '__reserved');
  }
  assert.deepEqual([u32(b, s + 128), u32(b, s + 132), u32(b, s + 136), u32(b, s + 140)], [8, 1, 0, 42]);
  assert.ok(b.subarray(s + 144, s + 256).every((x) => x === 0), '__spare2');
  run(L, fs, Op.STATX, 9, struct(24).u32(0, 0).u64(8, 31).buf, none);
  assert.deepEqual(got, [9, undefined, 0, 0]);
});

both('STATX: results of the wrong shape are EIO', (L) => {
  const bad: unknown[] = [undefined, {}, { attr: null }, { attr: { ...sx, mode: 0x10000 } }, { attr: { ...sx, ino: undefined } },
    { attr: { ...sx, mask: -1 } }, { attr: { ...sx, atimensec: 1e9 } }, { attr: { ...sx, size: 1.5 } }, { attr: { ...sx, uid: '0' } }];
  for (const res of bad) {
    const r = run(L, { statx: () => res as never }, Op.STATX, 9, struct(24).buf, none);
    assert.equal(r.reply.error, EIO, JSON.stringify(res));
  }
});

both('ACCESS: the mask; an empty reply', (L) => {
  let got: unknown[] = [];
  const r = run(L, { access: (ctx, n, mask) => { checkCtx(ctx, Op.ACCESS, 6); got = [n, mask]; } }, Op.ACCESS, 6, struct(8).u32(0, 6).buf, none);
  assert.deepEqual(got, [6, 6]);
  assert.equal(r.reply.error, 0);
  assert.equal(r.reply.len, 0);
});

both('SYNCFS: the nodeid; an empty reply', (L) => {
  let got = 0;
  const r = run(L, { syncfs: (ctx, n) => { checkCtx(ctx, Op.SYNCFS, 1); got = n; } }, Op.SYNCFS, 1, struct(8).buf, none);
  assert.equal(got, 1);
  assert.equal(r.reply.error, 0);
  assert.equal(r.reply.len, 0);
});
