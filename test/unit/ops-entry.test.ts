// Namespace and link opcodes on raw bytes, both layouts: LOOKUP, MKDIR, UNLINK, RMDIR, RENAME,
// RENAME2, SYMLINK, MKNOD, LINK, READLINK.
import assert from 'node:assert/strict';
import { Op } from '../../src/abi/opcodes.js';
import { Errno, FuseError } from '../../src/errors.js';
import type { Entry, Filesystem, RequestContext } from '../../src/filesystem.js';
import { both, checkCtx, checkEntry, names, run, sampleEntry, struct } from './ops-harness.js';

const none = Buffer.alloc(0);
const EIO = -Errno.EIO;

both('LOOKUP decodes the name (non-UTF-8 bytes by the name rule) and encodes fuse_entry_out', (L) => {
  let got: unknown[] = [];
  const e = sampleEntry(5);
  const fs: Filesystem = { lookup: (ctx, p, n) => { checkCtx(ctx, Op.LOOKUP, 1); got = [p, n]; return e; } };
  const r = run(L, fs, Op.LOOKUP, 1, none, names(Buffer.from([0x61, 0xff, 0x62])));
  assert.deepEqual(got, [1, 'a\udcffb']);
  assert.equal(r.reply.error, 0);
  assert.equal(r.reply.len, 128);
  checkEntry(r.reply.body, 0, e);
});

both('LOOKUP: a name without NUL, or no name at all, is EIO and the method is not called', (L) => {
  let called = 0;
  const fs: Filesystem = { lookup: () => { called++; return sampleEntry(2); } };
  assert.equal(run(L, fs, Op.LOOKUP, 1, none, Buffer.from('abc')).reply.error, EIO);
  assert.equal(run(L, fs, Op.LOOKUP, 1, none, none).reply.error, EIO);
  assert.equal(called, 0);
});

both('MKDIR: mode, umask (also in ctx.umask) and name; fuse_entry_out', (L) => {
  let got: unknown[] = [];
  const e = sampleEntry(7);
  const fs: Filesystem = { mkdir: (ctx, p, n, mode, umask) => { got = [p, n, mode, umask, ctx.umask]; return e; } };
  const r = run(L, fs, Op.MKDIR, 3, struct(8).u32(0, 0o40755).u32(4, 0o022).buf, names('dir'));
  assert.deepEqual(got, [3, 'dir', 0o40755, 0o022, 0o022]);
  assert.equal(r.reply.len, 128);
  checkEntry(r.reply.body, 0, e);
});

both('UNLINK and RMDIR: the name; an empty reply', (L) => {
  for (const [op, m] of [[Op.UNLINK, 'unlink'], [Op.RMDIR, 'rmdir']] as const) {
    let got: unknown[] = [];
    const fs: Filesystem = { [m]: (_c: RequestContext, p: number, n: string) => { got = [p, n]; } };
    const r = run(L, fs, op, 4, none, names('gone'));
    assert.deepEqual(got, [4, 'gone']);
    assert.equal(r.reply.error, 0);
    assert.equal(r.reply.len, 0);
    assert.equal(run(L, fs, op, 4, none, Buffer.from('gone')).reply.error, EIO);
  }
});

both('RENAME: newdir and both names, flags 0; a second name without NUL is EIO', (L) => {
  let got: unknown[] = [];
  const fs: Filesystem = { rename: (_c, p, n, np, nn, f) => { got = [p, n, np, nn, f]; } };
  const r = run(L, fs, Op.RENAME, 2, struct(8).u64(0, 9).buf, names('old', 'new'));
  assert.deepEqual(got, [2, 'old', 9, 'new', 0]);
  assert.equal(r.reply.len, 0);
  got = [];
  assert.equal(run(L, fs, Op.RENAME, 2, struct(8).u64(0, 9).buf, Buffer.from('old\0new')).reply.error, EIO);
  assert.deepEqual(got, []);
});

both('RENAME2: newdir, flags, both names', (L) => {
  let got: unknown[] = [];
  const fs: Filesystem = { rename: (_c, p, n, np, nn, f) => { got = [p, n, np, nn, f]; } };
  const r = run(L, fs, Op.RENAME2, 3, struct(16).u64(0, 2 ** 40).u32(8, 2).buf, names('a', 'b'));
  assert.deepEqual(got, [3, 'a', 2 ** 40, 'b', 2]);
  assert.equal(r.reply.len, 0);
});

both('SYMLINK: the new entry name first, then the target; fuse_entry_out', (L) => {
  let got: unknown[] = [];
  const e = sampleEntry(11);
  const fs: Filesystem = { symlink: (ctx, p, n, t) => { checkCtx(ctx, Op.SYMLINK, 6); got = [p, n, t]; return e; } };
  const r = run(L, fs, Op.SYMLINK, 6, none, names('link', Buffer.from([0x2f, 0x74, 0xfe])));
  assert.deepEqual(got, [6, 'link', '/t\udcfe']);
  assert.equal(r.reply.len, 128);
  checkEntry(r.reply.body, 0, e);
});

both('SYMLINK: a missing or unterminated target is EIO', (L) => {
  let called = 0;
  const fs: Filesystem = { symlink: () => { called++; return sampleEntry(1); } };
  assert.equal(run(L, fs, Op.SYMLINK, 1, none, names('link')).reply.error, EIO);
  assert.equal(run(L, fs, Op.SYMLINK, 1, none, Buffer.from('link\0/target')).reply.error, EIO);
  assert.equal(called, 0);
});

both('MKNOD: mode, rdev, umask (also ctx.umask) and name; fuse_entry_out', (L) => {
  let got: unknown[] = [];
  const e = sampleEntry(12);
  const fs: Filesystem = { mknod: (ctx, p, n, mode, rdev, umask) => { got = [p, n, mode, rdev, umask, ctx.umask]; return e; } };
  const r = run(L, fs, Op.MKNOD, 1, struct(16).u32(0, 0o20644).u32(4, 0x0103).u32(8, 0o027).buf, names('tty'));
  assert.deepEqual(got, [1, 'tty', 0o20644, 0x0103, 0o027, 0o027]);
  assert.equal(r.reply.len, 128);
  checkEntry(r.reply.body, 0, e);
});

both('LINK: oldnodeid is the existing inode, the request nodeid the new parent', (L) => {
  let got: unknown[] = [];
  const e = sampleEntry(13);
  const fs: Filesystem = { link: (_c, n, np, nn) => { got = [n, np, nn]; return e; } };
  const r = run(L, fs, Op.LINK, 8, struct(8).u64(0, 13).buf, names('again'));
  assert.deepEqual(got, [13, 8, 'again']);
  assert.equal(r.reply.len, 128);
  checkEntry(r.reply.body, 0, e);
});

both('READLINK: the target bytes, no NUL, by the name rule', (L) => {
  const fs: Filesystem = { readlink: (ctx, n) => { checkCtx(ctx, Op.READLINK, n); return 'dir/\udcffx'; } };
  const r = run(L, fs, Op.READLINK, 5, none, none);
  assert.equal(r.reply.error, 0);
  assert.deepEqual(r.reply.body, Buffer.from([0x64, 0x69, 0x72, 0x2f, 0xff, 0x78]));
});

both('READLINK: a target longer than the reply buffer (or than PATH_MAX - 1) is ENAMETOOLONG', (L) => {
  let target = 'x'.repeat(100);
  const fs: Filesystem = { readlink: () => target };
  assert.equal(run(L, fs, Op.READLINK, 5, none, none, { payloadSize: 99 }).reply.error, -Errno.ENAMETOOLONG);
  assert.equal(run(L, fs, Op.READLINK, 5, none, none, { payloadSize: 100 }).reply.len, 100);
  target = 'y'.repeat(4095);
  assert.equal(run(L, fs, Op.READLINK, 5, none, none).reply.len, 4095);
  target = 'y'.repeat(4096);
  assert.equal(run(L, fs, Op.READLINK, 5, none, none).reply.error, -Errno.ENAMETOOLONG);
});

both('READLINK: a result that is not a string, or holds a NUL, is EIO; FuseError passes', (L) => {
  for (const bad of [undefined, 5, Buffer.from('x'), 'a\0b']) {
    assert.equal(run(L, { readlink: () => bad as never }, Op.READLINK, 5, none, none).reply.error, EIO);
  }
  assert.equal(run(L, { readlink: () => { throw FuseError.EINVAL(); } }, Op.READLINK, 5, none, none).reply.error, -Errno.EINVAL);
});

both('entry replies of the wrong shape are EIO', (L) => {
  const bad = [undefined, null, {}, { nodeid: 'x', attr: { ino: 1, mode: 0 } }] as unknown as Entry[];
  for (const e of bad) {
    assert.equal(run(L, { mknod: () => e }, Op.MKNOD, 1, struct(16).buf, names('n')).reply.error, EIO);
    assert.equal(run(L, { link: () => e }, Op.LINK, 1, struct(8).u64(0, 2).buf, names('n')).reply.error, EIO);
    assert.equal(run(L, { symlink: () => e }, Op.SYMLINK, 1, none, names('n', 't')).reply.error, EIO);
  }
});
