// I/O opcodes on raw bytes, both layouts: FALLOCATE, LSEEK, COPY_FILE_RANGE, COPY_FILE_RANGE_64,
// BMAP, IOCTL, POLL.
import assert from 'node:assert/strict';
import { Op } from '../../src/abi/opcodes.js';
import { Errno } from '../../src/errors.js';
import type { Filesystem } from '../../src/filesystem.js';
import { both, checkCtx, run, s32, struct, u32, u64 } from './ops-harness.js';

const none = Buffer.alloc(0);
const EIO = -Errno.EIO;

both('FALLOCATE: fh, offset, length, mode; an empty reply', (L) => {
  let got: unknown[] = [];
  const fs: Filesystem = { fallocate: (ctx, n, fh, off, len, mode) => { checkCtx(ctx, Op.FALLOCATE, 4); got = [n, fh, off, len, mode]; } };
  const r = run(L, fs, Op.FALLOCATE, 4, struct(32).u64(0, 3).u64(8, 2 ** 33).u64(16, 4096).u32(24, 0x3).buf, none);
  assert.deepEqual(got, [4, 3, 2 ** 33, 4096, 3]);
  assert.equal(r.reply.error, 0);
  assert.equal(r.reply.len, 0);
});

both('LSEEK: fh, offset, whence; fuse_lseek_out (8)', (L) => {
  let got: unknown[] = [];
  const fs: Filesystem = { lseek: (_c, n, fh, off, whence) => { got = [n, fh, off, whence]; return 2 ** 40 + 5; } };
  const r = run(L, fs, Op.LSEEK, 4, struct(24).u64(0, 3).u64(8, 1000).u32(16, 3).buf, none);
  assert.deepEqual(got, [4, 3, 1000, 3]);
  assert.equal(r.reply.len, 8);
  assert.equal(u64(r.reply.body, 0), 2n ** 40n + 5n);
  for (const bad of [-1, 1.5, 'x', undefined]) {
    assert.equal(run(L, { lseek: () => bad as never }, Op.LSEEK, 4, struct(24).buf, none).reply.error, EIO);
  }
});

/** fuse_copy_file_range_in: fh_in, off_in, nodeid_out, fh_out, off_out, len, flags (u64 each). */
const copyIn = (len: number): Buffer => struct(56).u64(0, 1).u64(8, 2).u64(16, 30).u64(24, 4).u64(32, 5).u64(40, len).u64(48, 0).buf;

both('COPY_FILE_RANGE: every argument; fuse_write_out (u32 count)', (L) => {
  let got: unknown[] = [];
  let result = 100;
  const fs: Filesystem = { copyFileRange: (ctx, ni, fi, oi, no, fo, oo, len, flags) => { checkCtx(ctx, Op.COPY_FILE_RANGE, 10); got = [ni, fi, oi, no, fo, oo, len, flags]; return result; } };
  let r = run(L, fs, Op.COPY_FILE_RANGE, 10, copyIn(4096), none);
  assert.deepEqual(got, [10, 1, 2, 30, 4, 5, 4096, 0]);
  assert.equal(r.reply.len, 8);
  assert.equal(u32(r.reply.body, 0), 100);
  assert.equal(u32(r.reply.body, 4), 0);
  result = 0xffffffff;
  r = run(L, fs, Op.COPY_FILE_RANGE, 10, copyIn(2 ** 34), none);
  assert.equal(u32(r.reply.body, 0), 0xffffffff);
  result = 2 ** 32; // more than a u32 can tell
  assert.equal(run(L, fs, Op.COPY_FILE_RANGE, 10, copyIn(2 ** 34), none).reply.error, EIO);
  result = 4097; // more than asked
  assert.equal(run(L, fs, Op.COPY_FILE_RANGE, 10, copyIn(4096), none).reply.error, EIO);
});

both('COPY_FILE_RANGE_64: the same arguments; fuse_copy_file_range_out (u64 count)', (L) => {
  let got: unknown[] = [];
  let result = 2 ** 33 + 1;
  const fs: Filesystem = { copyFileRange: (_c, ni, fi, oi, no, fo, oo, len, flags) => { got = [ni, fi, oi, no, fo, oo, len, flags]; return result; } };
  const r = run(L, fs, Op.COPY_FILE_RANGE_64, 10, copyIn(2 ** 34), none);
  assert.deepEqual(got, [10, 1, 2, 30, 4, 5, 2 ** 34, 0]);
  assert.equal(r.reply.len, 8);
  assert.equal(u64(r.reply.body, 0), 2n ** 33n + 1n);
  result = 2 ** 34 + 1;
  assert.equal(run(L, fs, Op.COPY_FILE_RANGE_64, 10, copyIn(2 ** 34), none).reply.error, EIO);
});

both('BMAP: block and blocksize; fuse_bmap_out (8)', (L) => {
  let got: unknown[] = [];
  const fs: Filesystem = { bmap: (_c, n, bs, block) => { got = [n, bs, block]; return 2 ** 36; } };
  const r = run(L, fs, Op.BMAP, 4, struct(16).u64(0, 77).u32(8, 1024).buf, none);
  assert.deepEqual(got, [4, 1024, 77]);
  assert.equal(r.reply.len, 8);
  assert.equal(u64(r.reply.body, 0), 2n ** 36n);
  assert.equal(run(L, { bmap: () => -1 }, Op.BMAP, 4, struct(16).buf, none).reply.error, EIO);
});

/** fuse_ioctl_in: fh @0, flags @8, cmd @12, arg @16, in_size @24, out_size @28. */
const ioctlIn = (flags: number, inSize: number, outSize: number): Buffer =>
  struct(32).u64(0, 6).u32(8, flags).u32(12, 0xc0105401).u64(16, 0x7ffd1234).u32(24, inSize).u32(28, outSize).buf;

both('IOCTL: fh, cmd, arg, in data, out_size, flags; fuse_ioctl_out then the out data', (L) => {
  let got: unknown[] = [];
  const fs: Filesystem = {
    ioctl: (ctx, n, fh, cmd, arg, input, outSize, flags) => {
      checkCtx(ctx, Op.IOCTL, 4);
      got = [n, fh, cmd, arg, input.toString(), outSize, flags];
      return { result: -3, data: Buffer.from('out!') };
    },
  };
  const r = run(L, fs, Op.IOCTL, 4, ioctlIn(0x10, 5, 16), Buffer.from('input'));
  assert.deepEqual(got, [4, 6, 0xc0105401, 0x7ffd1234, 'input', 16, 0x10]);
  assert.equal(r.reply.len, 20);
  const b = r.reply.body;
  assert.deepEqual([s32(b, 0), u32(b, 4), u32(b, 8), u32(b, 12)], [-3, 0, 0, 0]);
  assert.equal(b.toString('latin1', 16, 20), 'out!');
});

both('IOCTL: returning the input view itself is copied correctly; no data is a bare fuse_ioctl_out', (L) => {
  const echo: Filesystem = { ioctl: (_c, _n, _f, _cmd, _a, input) => ({ result: 0, data: input }) };
  const data = Buffer.from('0123456789abcdefXYZ');
  let r = run(L, echo, Op.IOCTL, 4, ioctlIn(0, data.length, 64), data);
  assert.equal(r.reply.len, 16 + data.length);
  assert.equal(r.reply.body.toString('latin1', 16), data.toString('latin1'));
  r = run(L, { ioctl: () => ({ result: 7 }) }, Op.IOCTL, 4, ioctlIn(0, 0, 0), none);
  assert.equal(r.reply.len, 16);
  assert.equal(s32(r.reply.body, 0), 7);
});

both('IOCTL: UNRESTRICTED answers ENOTTY without calling the filesystem', (L) => {
  let called = 0;
  const r = run(L, { ioctl: () => { called++; return { result: 0 }; } }, Op.IOCTL, 4, ioctlIn(0x2, 0, 0), none);
  assert.equal(r.reply.error, -Errno.ENOTTY);
  assert.equal(called, 0);
});

both('IOCTL: in_size beyond the data present is EIO; out data beyond out_size is EIO', (L) => {
  let called = 0;
  const fs: Filesystem = { ioctl: () => { called++; return { result: 0 }; } };
  assert.equal(run(L, fs, Op.IOCTL, 4, ioctlIn(0, 6, 0), Buffer.from('input')).reply.error, EIO);
  assert.equal(run(L, fs, Op.IOCTL, 4, ioctlIn(0, 0xffffffff, 0), none).reply.error, EIO);
  assert.equal(called, 0);
  assert.equal(run(L, { ioctl: () => ({ result: 0, data: Buffer.alloc(5) }) }, Op.IOCTL, 4, ioctlIn(0, 0, 4), none).reply.error, EIO);
  for (const bad of [undefined, {}, { result: 2 ** 31 }, { result: 0, data: 'str' }, { result: 1.5 }]) {
    assert.equal(run(L, { ioctl: () => bad as never }, Op.IOCTL, 4, ioctlIn(0, 0, 4), none).reply.error, EIO, JSON.stringify(bad));
  }
});

both('POLL: fh, events, kh only with POLL_SCHEDULE_NOTIFY; fuse_poll_out', (L) => {
  let got: unknown[] = [];
  const fs: Filesystem = { poll: (ctx, n, fh, kh, events) => { checkCtx(ctx, Op.POLL, 4); got = [n, fh, kh, events]; return 0x5; } };
  let r = run(L, fs, Op.POLL, 4, struct(24).u64(0, 6).u64(8, 99).u32(16, 1).u32(20, 0x41).buf, none);
  assert.deepEqual(got, [4, 6, 99, 0x41]);
  assert.equal(r.reply.len, 8);
  assert.equal(u32(r.reply.body, 0), 5);
  assert.equal(u32(r.reply.body, 4), 0);
  r = run(L, fs, Op.POLL, 4, struct(24).u64(0, 6).u64(8, 99).u32(16, 0).u32(20, 0x1).buf, none);
  assert.deepEqual(got, [4, 6, undefined, 0x1]);
  assert.equal(run(L, { poll: () => -1 }, Op.POLL, 4, struct(24).buf, none).reply.error, EIO);
});
