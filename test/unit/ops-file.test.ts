// File and directory handle opcodes on raw bytes, both layouts: OPEN, CREATE, TMPFILE, READ,
// WRITE, FLUSH, RELEASE, FSYNC, FSYNCDIR, OPENDIR, READDIR, READDIRPLUS, RELEASEDIR.
import assert from 'node:assert/strict';
import { Op } from '../../src/abi/opcodes.js';
import { DT, Init } from '../../src/abi/flags.js';
import { Errno } from '../../src/errors.js';
import type { Filesystem } from '../../src/filesystem.js';
import { both, checkCtx, checkEntry, names, run, s32, sampleEntry, struct, u32, u64 } from './ops-harness.js';

const none = Buffer.alloc(0);
const EIO = -Errno.EIO;
const readIn = (fh: number, off: number, size: number, flags = 0): Buffer =>
  struct(40).u64(0, fh).u64(8, off).u32(16, size).u32(20, 2).u64(24, 99).u32(32, flags).buf;

both('OPEN: the flags; fuse_open_out (16)', (L) => {
  let got: unknown[] = [];
  const fs: Filesystem = { open: (ctx, n, f) => { checkCtx(ctx, Op.OPEN, 5); got = [n, f]; return { fh: 2 ** 40 + 3, openFlags: 0x22, backingId: -7 }; } };
  const r = run(L, fs, Op.OPEN, 5, struct(8).u32(0, 0o100002).u32(4, 1).buf, none);
  assert.deepEqual(got, [5, 0o100002]);
  assert.equal(r.reply.len, 16);
  assert.equal(u64(r.reply.body, 0), 2n ** 40n + 3n);
  assert.equal(u32(r.reply.body, 8), 0x22);
  assert.equal(s32(r.reply.body, 12), -7);
});

both('OPEN and OPENDIR without a method: handle 0, unless NO_OPEN(DIR)_SUPPORT makes it ENOSYS', (L) => {
  for (const [op, flag] of [[Op.OPEN, Init.NO_OPEN_SUPPORT], [Op.OPENDIR, Init.NO_OPENDIR_SUPPORT]] as const) {
    const r = run(L, {}, op, 5, struct(8).buf, none);
    assert.equal(r.reply.error, 0);
    assert.equal(r.reply.len, 16);
    assert.ok(r.reply.body.every((x) => x === 0));
    assert.equal(run(L, {}, op, 5, struct(8).buf, none, { flags: flag }).reply.error, -Errno.ENOSYS);
  }
});

both('CREATE: flags, mode, umask, name; fuse_entry_out + fuse_open_out (144)', (L) => {
  let got: unknown[] = [];
  const e = sampleEntry(20);
  const fs: Filesystem = { create: (ctx, p, n, mode, umask, flags) => { got = [p, n, mode, umask, flags, ctx.umask]; return { ...e, fh: 8, openFlags: 1 }; } };
  const r = run(L, fs, Op.CREATE, 1, struct(16).u32(0, 0o101).u32(4, 0o100644).u32(8, 0o022).u32(12, 1).buf, names('new'));
  assert.deepEqual(got, [1, 'new', 0o100644, 0o022, 0o101, 0o022]);
  assert.equal(r.reply.len, 144);
  checkEntry(r.reply.body, 0, e);
  assert.equal(u64(r.reply.body, 128), 8n);
  assert.equal(u32(r.reply.body, 136), 1);
  assert.equal(s32(r.reply.body, 140), 0);
});

both('TMPFILE: fuse_create_in like CREATE, any name ignored; 144 bytes like CREATE', (L) => {
  let got: unknown[] = [];
  const e = sampleEntry(21);
  const fs: Filesystem = { tmpfile: (ctx, p, mode, umask, flags) => { checkCtx(ctx, Op.TMPFILE, 2); got = [p, mode, umask, flags, ctx.umask]; return { ...e, fh: 9 }; } };
  const opIn = struct(16).u32(0, 0o20000002).u32(4, 0o100600).u32(8, 0o077).buf;
  for (const data of [names('#1234'), none, Buffer.from('unterminated')]) {
    got = [];
    const r = run(L, fs, Op.TMPFILE, 2, opIn, data);
    assert.deepEqual(got, [2, 0o100600, 0o077, 0o20000002, 0o077]);
    assert.equal(r.reply.len, 144);
    checkEntry(r.reply.body, 0, e);
    assert.equal(u64(r.reply.body, 128), 9n);
  }
  assert.equal(run(L, { tmpfile: () => undefined as never }, Op.TMPFILE, 2, opIn, none).reply.error, EIO);
});

both('READ: fh, offset, size and a view of the reply buffer; the bytes come back', (L) => {
  let got: unknown[] = [];
  const fs: Filesystem = { read: (_c, n, fh, off, size, out) => { got = [n, fh, off, size, out.length]; return out.write('hello'); } };
  const r = run(L, fs, Op.READ, 3, readIn(7, 2 ** 35, 100), none);
  assert.deepEqual(got, [3, 7, 2 ** 35, 100, 100]);
  assert.equal(r.reply.len, 5);
  assert.equal(r.reply.body.toString(), 'hello');
});

both('READ: size capped by the buffer; a longer result is EIO', (L) => {
  let size = 0;
  const r = run(L, { read: (_c, _n, _fh, _o, s) => { size = s; return Buffer.alloc(s); } }, Op.READ, 3, readIn(1, 0, 100000), none, { payloadSize: 4096 });
  assert.equal(size, 4096);
  assert.equal(r.reply.len, 4096);
  assert.equal(run(L, { read: () => Buffer.alloc(11) }, Op.READ, 3, readIn(1, 0, 10), none).reply.error, EIO);
});

both('WRITE: fh, offset, the data, write_flags, flags; fuse_write_out (8)', (L) => {
  let got: unknown[] = [];
  const fs: Filesystem = { write: (_c, n, fh, off, data, wf, f) => { got = [n, fh, off, data.toString(), wf, f]; return data.length; } };
  const r = run(L, fs, Op.WRITE, 4, struct(40).u64(0, 6).u64(8, 10).u32(16, 5).u32(20, 1).u32(32, 0o2).buf, Buffer.from('12345'));
  assert.deepEqual(got, [4, 6, 10, '12345', 1, 0o2]);
  assert.equal(r.reply.len, 8);
  assert.equal(u32(r.reply.body, 0), 5);
  assert.equal(u32(r.reply.body, 4), 0);
  assert.equal(run(L, { write: () => 6 }, Op.WRITE, 4, struct(40).u32(16, 5).buf, Buffer.from('12345')).reply.error, EIO);
});

both('WRITE: a size beyond the data present is EIO, the method not called', (L) => {
  let called = 0;
  const fs: Filesystem = { write: () => { called++; return 0; } };
  assert.equal(run(L, fs, Op.WRITE, 4, struct(40).u32(16, 6).buf, Buffer.from('12345')).reply.error, EIO);
  assert.equal(run(L, fs, Op.WRITE, 4, struct(40).u32(16, 0xffffffff).buf, none).reply.error, EIO);
  assert.equal(called, 0);
});

both('FLUSH: fh and lock_owner', (L) => {
  let got: unknown[] = [];
  const r = run(L, { flush: (_c, n, fh, lo) => { got = [n, fh, lo]; } }, Op.FLUSH, 4, struct(24).u64(0, 3).u32(8, 0xff).u64(16, 0x1234567890).buf, none);
  assert.deepEqual(got, [4, 3, 0x1234567890]);
  assert.equal(r.reply.len, 0);
});

both('RELEASE: fh, flags, release_flags, lock_owner; without a method it succeeds', (L) => {
  let got: unknown[] = [];
  const opIn = struct(24).u64(0, 3).u32(8, 0o2).u32(12, 2).u64(16, 77).buf;
  const r = run(L, { release: (ctx, n, fh, f, rf, lo) => { checkCtx(ctx, Op.RELEASE, 4); got = [n, fh, f, rf, lo]; } }, Op.RELEASE, 4, opIn, none);
  assert.deepEqual(got, [4, 3, 0o2, 2, 77]);
  assert.equal(r.reply.len, 0);
  assert.equal(run(L, {}, Op.RELEASE, 4, opIn, none).reply.error, 0);
});

both('FSYNC and FSYNCDIR: fh and datasync from fsync_flags bit 0', (L) => {
  for (const [op, m] of [[Op.FSYNC, 'fsync'], [Op.FSYNCDIR, 'fsyncdir']] as const) {
    let got: unknown[] = [];
    const fs: Filesystem = { [m]: (_c: unknown, n: number, fh: number, ds: boolean) => { got = [n, fh, ds]; } };
    const r = run(L, fs, op, 4, struct(16).u64(0, 12).u32(8, 1).buf, none);
    assert.deepEqual(got, [4, 12, true]);
    assert.equal(r.reply.len, 0);
    run(L, fs, op, 4, struct(16).u64(0, 12).u32(8, 0).buf, none);
    assert.deepEqual(got, [4, 12, false]);
  }
});

both('OPENDIR: the flags; fuse_open_out', (L) => {
  let got: unknown[] = [];
  const r = run(L, { opendir: (_c, n, f) => { got = [n, f]; return { fh: 4, openFlags: 8 }; } }, Op.OPENDIR, 1, struct(8).u32(0, 0o200000).buf, none);
  assert.deepEqual(got, [1, 0o200000]);
  assert.equal(r.reply.len, 16);
  assert.equal(u64(r.reply.body, 0), 4n);
  assert.equal(u32(r.reply.body, 8), 8);
});

both('READDIR: fuse_dirent records padded to 8 with zeros, stopping when full', (L) => {
  let got: unknown[] = [];
  const fs: Filesystem = {
    readdir: (_c, n, fh, off, out) => {
      got = [n, fh, off];
      for (const [i, name] of ['a', 'bb', 'ccc'].entries()) if (!out.add(name, 10 + i, DT.REG, i + 1)) break;
    },
  };
  const r = run(L, fs, Op.READDIR, 1, readIn(5, 0, 64), none);
  assert.deepEqual(got, [1, 5, 0]);
  assert.equal(r.reply.len, 64);
  const b = r.reply.body;
  assert.deepEqual([u64(b, 0), u64(b, 8), u32(b, 16), u32(b, 20)], [10n, 1n, 1, DT.REG]);
  assert.equal(b.toString('latin1', 24, 25), 'a');
  assert.ok(b.subarray(25, 32).every((x) => x === 0));
  assert.deepEqual([u64(b, 32), u64(b, 40), u32(b, 48), u32(b, 52)], [11n, 2n, 2, DT.REG]);
  assert.equal(b.toString('latin1', 56, 58), 'bb');
  assert.ok(b.subarray(58, 64).every((x) => x === 0));
});

both('READDIRPLUS: fuse_direntplus records (entry_out then dirent), "." with a zero entry', (L) => {
  const e = sampleEntry(30);
  const fs: Filesystem = {
    readdirplus: (_c, _n, _fh, _off, out) => {
      out.add('.', { nodeid: 0, attr: { ino: 1, mode: 0o40755 } }, 1);
      out.add('file', e, 2);
    },
  };
  const r = run(L, fs, Op.READDIRPLUS, 1, readIn(5, 0, 4096), none);
  assert.equal(r.reply.len, 160 + 160);
  const b = r.reply.body;
  assert.ok(b.subarray(0, 128).every((x) => x === 0));
  assert.deepEqual([u64(b, 128), u64(b, 136), u32(b, 144), u32(b, 148)], [1n, 1n, 1, DT.DIR]);
  assert.equal(b.toString('latin1', 152, 153), '.');
  checkEntry(b, 160, e);
  assert.deepEqual([u64(b, 288), u64(b, 296), u32(b, 304), u32(b, 308)], [BigInt(e.attr.ino), 2n, 4, DT.REG]);
  assert.equal(b.toString('latin1', 312, 316), 'file');
  assert.ok(b.subarray(316, 320).every((x) => x === 0));
});

both('RELEASEDIR: fh and flags; without a method it succeeds', (L) => {
  let got: unknown[] = [];
  const opIn = struct(24).u64(0, 5).u32(8, 0o200000).buf;
  const r = run(L, { releasedir: (_c, n, fh, f) => { got = [n, fh, f]; } }, Op.RELEASEDIR, 1, opIn, none);
  assert.deepEqual(got, [1, 5, 0o200000]);
  assert.equal(r.reply.len, 0);
  assert.equal(run(L, {}, Op.RELEASEDIR, 1, opIn, none).reply.error, 0);
});
