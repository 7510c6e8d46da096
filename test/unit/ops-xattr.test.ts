// Extended attribute opcodes on raw bytes, both layouts: SETXATTR (both struct forms), GETXATTR
// and LISTXATTR (size probe, ERANGE), REMOVEXATTR.
import assert from 'node:assert/strict';
import { Op } from '../../src/abi/opcodes.js';
import { Init } from '../../src/abi/flags.js';
import { Errno, FuseError } from '../../src/errors.js';
import type { Filesystem } from '../../src/filesystem.js';
import { both, checkCtx, names, run, struct, u32 } from './ops-harness.js';

const none = Buffer.alloc(0);
const EIO = -Errno.EIO;
const EXT = Init.SETXATTR_EXT;

function setxattrFs(): { fs: Filesystem; got: unknown[] } {
  const o = { got: [] as unknown[], fs: {} as Filesystem };
  o.fs.setxattr = (ctx, n, name, value, flags, sxf) => { checkCtx(ctx, Op.SETXATTR, 7); o.got = [n, name, value.toString('latin1'), flags, sxf]; };
  return o;
}

both('SETXATTR with SETXATTR_EXT: the 16-byte fuse_setxattr_in, then name\\0value', (L) => {
  const t = setxattrFs();
  const data = Buffer.concat([names('user.k'), Buffer.from('v\0lue')]);
  const r = run(L, t.fs, Op.SETXATTR, 7, struct(16).u32(0, 5).u32(4, 2).u32(8, 1).buf, data, { flags: EXT });
  assert.equal(r.reply.error, 0);
  assert.equal(r.reply.len, 0);
  assert.deepEqual(t.got, [7, 'user.k', 'v\0lue', 2, 1]);
});

both('SETXATTR without SETXATTR_EXT: the 8-byte compat form, setxattr_flags 0', (L) => {
  const t = setxattrFs();
  // Over the ring the 8 bytes after the compat struct in op_in are stale (0x5a): never read.
  const r = run(L, t.fs, Op.SETXATTR, 7, struct(8).u32(0, 3).u32(4, 1).buf, Buffer.concat([names('user.k'), Buffer.from('abc')]));
  assert.equal(r.reply.error, 0);
  assert.deepEqual(t.got, [7, 'user.k', 'abc', 1, 0]);
});

both('SETXATTR compat: the shortest request (an empty value, 15 bytes of arguments) is served', (L) => {
  const t = setxattrFs();
  const r = run(L, t.fs, Op.SETXATTR, 7, struct(8).u32(0, 0).buf, names('user.a'));
  assert.equal(r.reply.error, 0);
  assert.deepEqual(t.got, [7, 'user.a', '', 0, 0]);
});

both('SETXATTR: a value size beyond the data present, or a name without NUL, is EIO', (L) => {
  for (const flags of [0n, EXT]) {
    const t = setxattrFs();
    const opIn = struct(flags ? 16 : 8).u32(0, 4).buf;
    assert.equal(run(L, t.fs, Op.SETXATTR, 7, opIn, Buffer.concat([names('user.k'), Buffer.from('abc')]), { flags }).reply.error, EIO);
    assert.equal(run(L, t.fs, Op.SETXATTR, 7, struct(flags ? 16 : 8).u32(0, 0xffffffff).buf, names('user.k'), { flags }).reply.error, EIO);
    assert.equal(run(L, t.fs, Op.SETXATTR, 7, struct(flags ? 16 : 8).buf, Buffer.from('user.k'), { flags }).reply.error, EIO);
    assert.deepEqual(t.got, []);
  }
});

both('SETXATTR with SETXATTR_EXT: a /dev/fuse request shorter than 16 bytes is EIO', (L) => {
  if (L === 'ring') return; // op_in is a fixed 128-byte area over the ring
  const t = setxattrFs();
  const r = run(L, t.fs, Op.SETXATTR, 7, struct(8).buf, Buffer.from('user\0'), { flags: EXT });
  assert.equal(r.reply.error, EIO);
  assert.deepEqual(t.got, []);
});

const getIn = (size: number): Buffer => struct(8).u32(0, size).buf;

both('GETXATTR: size 0 probes: fuse_getxattr_out with the length', (L) => {
  let got: unknown[] = [];
  const fs: Filesystem = { getxattr: (ctx, n, name, size) => { checkCtx(ctx, Op.GETXATTR, 3); got = [n, name, size]; return Buffer.from('hello'); } };
  const r = run(L, fs, Op.GETXATTR, 3, getIn(0), names('user.x'));
  assert.deepEqual(got, [3, 'user.x', 0]);
  assert.equal(r.reply.len, 8);
  assert.equal(u32(r.reply.body, 0), 5);
  assert.equal(u32(r.reply.body, 4), 0);
});

both('GETXATTR: a value that fits is the reply; longer than size is ERANGE', (L) => {
  const fs: Filesystem = { getxattr: () => new Uint8Array([1, 2, 3, 0, 5]) };
  let r = run(L, fs, Op.GETXATTR, 3, getIn(5), names('user.k'));
  assert.deepEqual([...r.reply.body], [1, 2, 3, 0, 5]);
  r = run(L, fs, Op.GETXATTR, 3, getIn(100), names('user.k'));
  assert.equal(r.reply.len, 5);
  assert.equal(run(L, fs, Op.GETXATTR, 3, getIn(4), names('user.k')).reply.error, -Errno.ERANGE);
  const empty = run(L, { getxattr: () => Buffer.alloc(0) }, Op.GETXATTR, 3, getIn(10), names('user.k'));
  assert.equal(empty.reply.error, 0);
  assert.equal(empty.reply.len, 0);
});

both('GETXATTR: the name by the name rule; a missing name, ENODATA, a non-buffer result', (L) => {
  let got = '';
  const fs: Filesystem = { getxattr: (_c, _n, name) => { got = name; return Buffer.alloc(1); } };
  run(L, fs, Op.GETXATTR, 3, getIn(10), names(Buffer.from([0x75, 0x2e, 0xc3, 0xa9, 0xff])));
  assert.equal(got, 'u.é\udcff');
  assert.equal(run(L, fs, Op.GETXATTR, 3, getIn(10), Buffer.from('user.k')).reply.error, EIO);
  assert.equal(run(L, { getxattr: () => { throw FuseError.ENODATA(); } }, Op.GETXATTR, 3, getIn(0), names('a')).reply.error, -Errno.ENODATA);
  for (const bad of [undefined, 'str', [1, 2], 7]) {
    assert.equal(run(L, { getxattr: () => bad as never }, Op.GETXATTR, 3, getIn(0), names('a')).reply.error, EIO);
  }
});

both('GETXATTR: a value larger than the reply buffer is EIO, never an overrun', (L) => {
  const r = run(L, { getxattr: () => Buffer.alloc(5000, 1) }, Op.GETXATTR, 3, getIn(65536), names('user.k'), { payloadSize: 4096 });
  assert.equal(r.reply.error, EIO);
});

both('LISTXATTR: size 0 probes the NUL-separated length; the list is name\\0name\\0', (L) => {
  let got: unknown[] = [];
  const list = ['user.a', 'trusted.\udcffb', 'security.é'];
  const bytes = Buffer.concat([Buffer.from('user.a\0'), Buffer.from([...Buffer.from('trusted.'), 0xff, 0x62, 0]), Buffer.from('security.é\0')]);
  const fs: Filesystem = { listxattr: (ctx, n, size) => { checkCtx(ctx, Op.LISTXATTR, 8); got = [n, size]; return list; } };
  let r = run(L, fs, Op.LISTXATTR, 8, getIn(0), none);
  assert.deepEqual(got, [8, 0]);
  assert.equal(r.reply.len, 8);
  assert.equal(u32(r.reply.body, 0), bytes.length);
  r = run(L, fs, Op.LISTXATTR, 8, getIn(bytes.length), none);
  assert.deepEqual(got, [8, bytes.length]);
  assert.deepEqual(r.reply.body, bytes);
  assert.equal(run(L, fs, Op.LISTXATTR, 8, getIn(bytes.length - 1), none).reply.error, -Errno.ERANGE);
  const empty = run(L, { listxattr: () => [] }, Op.LISTXATTR, 8, getIn(0), none);
  assert.equal(u32(empty.reply.body, 0), 0);
});

both('LISTXATTR: results that are not a list of names are EIO', (L) => {
  for (const bad of [undefined, 'user.a', [''], ['a\0b'], [5], new Set(['a'])]) {
    assert.equal(run(L, { listxattr: () => bad as never }, Op.LISTXATTR, 8, getIn(100), none).reply.error, EIO, String(bad));
  }
});

both('REMOVEXATTR: the name, no fixed struct; an empty reply', (L) => {
  let got: unknown[] = [];
  const fs: Filesystem = { removexattr: (_c, n, name) => { got = [n, name]; } };
  const r = run(L, fs, Op.REMOVEXATTR, 3, none, names('user.k'));
  assert.deepEqual(got, [3, 'user.k']);
  assert.equal(r.reply.len, 0);
  assert.equal(run(L, fs, Op.REMOVEXATTR, 3, none, Buffer.from('user.k')).reply.error, EIO);
});
