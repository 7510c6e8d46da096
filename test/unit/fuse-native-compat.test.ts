// The fuse-native compatibility layer without a kernel: the CommonJS module and its constants,
// the callback conventions (errno signs, byte counts as the first argument, sync and async
// callbacks, the auto-timeout), fuse-native's argument orders, and the option mapping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { adaptOps, errnoOf, type FuseNativeOps } from '../../src/compat/fuse-native-ops.js';
import { mapOptions, timeoutFor } from '../../src/compat/fuse-native-options.js';
import { FuseError, Errno } from '../../src/errors.js';
import type { RequestContext } from '../../src/filesystem.js';

const require = createRequire(import.meta.url);
const ctx = {} as RequestContext;

async function failsWith(f: () => unknown, errno: number): Promise<void> {
  await assert.rejects(async () => f(), (e: unknown) => e instanceof FuseError && e.errno === errno);
}

test('require() gives the Fuse class with fuse-native\'s negative errno constants, without loading the core', () => {
  const Fuse = require('fuse-uring/compat/fuse-native');
  assert.equal(typeof Fuse, 'function');
  assert.equal(Fuse.EPERM, -1);
  assert.equal(Fuse.ENOENT, -2);
  assert.equal(Fuse.EIO, -5);
  assert.equal(Fuse.EACCES, -13);
  assert.equal(Fuse.ENOSYS, -38);
  assert.equal(Fuse.ENOTEMPTY, -39);
  assert.equal(Fuse.EWOULDBLOCK, Fuse.EAGAIN);
  assert.equal(Fuse.ENODATA, -61);
  assert.equal(Fuse.ENOTCONN, -107);
  assert.equal(Fuse.ETIMEDOUT, -110);
  assert.equal(Fuse.EMEDIUMTYPE, -124);
  const fuse = new Fuse('relative/mnt', {}, {});
  assert.equal(fuse.mnt, `${process.cwd()}/relative/mnt`);
  assert.equal(fuse.errno('enoent'), -2);
  assert.equal(fuse.errno('EBOGUS'), -1);
  for (const k of ['unmount', 'isConfigured', 'configure', 'unconfigure', 'beforeMount', 'beforeUnmount']) assert.equal(typeof Fuse[k], 'function', k);
  for (const k of ['mount', 'unmount', 'open', 'close', 'errno']) assert.equal(typeof fuse[k], 'function', k);
});

test('import gives the same class as the default export', async () => {
  const m = await import('fuse-uring/compat/fuse-native');
  assert.equal(m.default, require('fuse-uring/compat/fuse-native'));
});

test('isConfigured, configure and unconfigure answer on a later tick', async () => {
  const Fuse = require('fuse-uring/compat/fuse-native');
  let sync = true;
  const configured = await new Promise((ok) => { Fuse.isConfigured((e: unknown, v: boolean) => { assert.equal(e, null); assert.equal(sync, false); ok(v); }); sync = false; });
  assert.equal(configured, true, '/dev/fuse exists here');
  await new Promise<void>((ok, fail) => Fuse.configure((e: Error | null) => (e ? fail(e) : ok())));
  await new Promise<void>((ok, fail) => Fuse.unconfigure((e: Error | null) => (e ? fail(e) : ok())));
});

test('errno conventions: 0/null ok, negative or positive errno, Error objects with errno or code', () => {
  assert.equal(errnoOf(0), 0);
  assert.equal(errnoOf(null), 0);
  assert.equal(errnoOf(undefined), 0);
  assert.equal(errnoOf(-2), 2);
  assert.equal(errnoOf(2), 2);
  assert.equal(errnoOf(Object.assign(new Error('x'), { errno: -13, code: 'EACCES' })), 13);
  assert.equal(errnoOf(Object.assign(new Error('x'), { code: 'ENOTDIR' })), Errno.ENOTDIR);
  assert.equal(errnoOf(new Error('no errno')), Errno.EIO);
  assert.equal(errnoOf(1.5), Errno.EIO);
});

test('callbacks made at once are answered without a Promise; later ones with one', async () => {
  const st = { mode: 0o100644, size: 1, mtime: new Date(5000), atime: 6000, ctime: new Date(7000) };
  const fs = adaptOps({
    getattr: (path, cb) => (path === '/sync' ? (cb as Function)(0, st) : process.nextTick(cb as Function, null, st)),
  } as FuseNativeOps, {});
  const now = fs.getattr!('/sync', undefined, ctx);
  assert.ok(!(now instanceof Promise));
  assert.equal((now as { size: number }).size, 1);
  const later = fs.getattr!('/async', undefined, ctx);
  assert.ok(later instanceof Promise);
  assert.equal(((await later) as { atime: number }).atime, 6000);
});

test('getattr: missing times are now, a missing getattr shows "/" and refuses the rest with EPERM', async () => {
  const fs = adaptOps({ getattr: (_p: string, cb: Function) => cb(0, { mode: 0o100644 }) } as unknown as FuseNativeOps, {});
  const st = fs.getattr!('/x', undefined, ctx) as { mtime: number };
  assert.ok(Math.abs(st.mtime - Date.now()) < 5000);
  const none = adaptOps({}, {});
  assert.equal((none.getattr!('/', undefined, ctx) as { mode: number }).mode, 0o40755);
  await failsWith(() => none.getattr!('/x', undefined, ctx), Errno.EPERM);
});

test('read and write report their byte count as the first callback argument', async () => {
  const fs = adaptOps({
    read: (_p: string, _fd: number, buf: Buffer, len: number, pos: number, cb: Function) => {
      if (pos === 99) return cb(-Errno.EIO);
      if (pos === 98) return cb(0, 3); // leniency: cb(0, n) is n too
      buf.write('hello'.slice(0, len));
      cb(Math.min(5, len));
    },
    write: (_p: string, _fd: number, _buf: Buffer, len: number, _pos: number, cb: Function) => process.nextTick(cb, len),
  } as unknown as FuseNativeOps, {});
  const out = Buffer.alloc(10);
  assert.equal(fs.read!('/f', 7, out, 0, ctx), 5);
  assert.equal(out.subarray(0, 5).toString(), 'hello');
  assert.equal(fs.read!('/f', 7, out, 98, ctx), 3);
  await failsWith(() => fs.read!('/f', 7, out, 99, ctx), Errno.EIO);
  assert.equal(await fs.write!('/f', 7, Buffer.alloc(4), 0, ctx), 4);
});

test('fuse-native\'s argument orders: fsync(path, datasync, fd), setxattr(…, position 0, flags), utimens in ms, create(path, mode)', async () => {
  const calls: unknown[][] = [];
  const rec = (name: string) => (...a: unknown[]) => { calls.push([name, ...a.slice(0, -1)]); (a[a.length - 1] as Function)(0, name === 'create' ? 9 : undefined); };
  const fs = adaptOps({
    getattr: (_p: string, cb: Function) => cb(0, { mode: 0o100644, atime: 1111, mtime: new Date(2222) }),
    fsync: rec('fsync'), setxattr: rec('setxattr'), utimens: rec('utimens'), create: rec('create'), chown: rec('chown'),
    ftruncate: rec('ftruncate'), truncate: rec('truncate'), rename: rec('rename'), symlink: rec('symlink'),
  } as unknown as FuseNativeOps, {});
  fs.fsync!('/f', 4, true, ctx);
  fs.setxattr!('/f', 'user.a', Buffer.from('v'), 1, ctx);
  fs.utimens!('/f', { sec: 3, nsec: 500_000_000 }, { sec: 4, nsec: 0 }, undefined, ctx);
  fs.utimens!('/f', undefined, { sec: 5, nsec: 0 }, undefined, ctx);
  assert.equal(fs.create!('/f', 0o100644, 0o101, ctx), 9);
  fs.chown!('/f', 7, -1, undefined, ctx);
  fs.truncate!('/f', 10, 4, ctx);
  fs.truncate!('/f', 11, undefined, ctx);
  fs.symlink!('target', '/link', ctx);
  assert.deepEqual(calls, [
    ['fsync', '/f', 1, 4],
    ['setxattr', '/f', 'user.a', Buffer.from('v'), 0, 1],
    ['utimens', '/f', 3500, 4000],
    ['utimens', '/f', 1111, 5000],
    ['create', '/f', 0o100644],
    ['chown', '/f', 7, 0xffffffff],
    ['ftruncate', '/f', 4, 10],
    ['truncate', '/f', 11],
    ['symlink', 'target', '/link'],
  ]);
  await failsWith(() => fs.rename!('/a', '/b', 1, ctx), Errno.EINVAL);
});

test('readdir zips names with stats only when both have the same length', () => {
  const st = { mode: 0o40755 };
  const a = adaptOps({ readdir: (_p: string, cb: Function) => cb(0, ['x', 'y'], [st, st]) } as unknown as FuseNativeOps, {});
  assert.deepEqual((a.readdir!('/', 0, ctx) as { name: string }[]).map((e) => typeof e === 'string' ? e : e.name), ['x', 'y']);
  assert.equal(typeof (a.readdir!('/', 0, ctx) as unknown[])[0], 'object');
  const b = adaptOps({ readdir: (_p: string, cb: Function) => cb(0, ['x', 'y'], [st]) } as unknown as FuseNativeOps, {});
  assert.deepEqual(b.readdir!('/', 0, ctx), ['x', 'y']);
  const c = adaptOps({ readdir: (_p: string, cb: Function) => cb(0) } as unknown as FuseNativeOps, {});
  assert.deepEqual(c.readdir!('/', 0, ctx), []);
});

test('an operation that never calls back is answered ETIMEDOUT after its timeout', async () => {
  const fs = adaptOps({ getattr: () => {}, unlink: () => {} } as unknown as FuseNativeOps, { timeout: { default: 30, unlink: false } });
  const t0 = Date.now();
  await failsWith(() => fs.getattr!('/x', undefined, ctx), Errno.ETIMEDOUT);
  assert.ok(Date.now() - t0 >= 25);
  assert.equal(timeoutFor(undefined, 'read'), 15_000);
  assert.equal(timeoutFor(false, 'read'), 0);
  assert.equal(timeoutFor(0, 'read'), 15_000);
  assert.equal(timeoutFor({ read: 50 }, 'read'), 50);
  assert.equal(timeoutFor({ default: 70, read: false }, 'read'), 0);
  assert.equal(timeoutFor({ default: 70 }, 'write'), 70);
});

test('options: fuse-native names onto mount and path options; the rest noted, never refused', () => {
  const o = mapOptions({
    force: true, mkdir: true, debug: true, displayFolder: 'X', allowOther: true, defaultPermissions: true, autoUnmount: true,
    fsname: 'myfs', subtype: 'mine', kernelCache: true, uid: 5, gid: 6, umask: 0o22, entryTimeout: 2, attrTimeout: 3,
    maxRead: 4096, blkdev: true, bogus: 1, transport: 'dev',
  }, 'uring');
  assert.deepEqual(o.mount, { debug: true, allowOther: true, defaultPermissions: true, autoUnmount: true, fsName: 'myfs', subtype: 'mine', transport: 'dev' });
  assert.deepEqual(o.path, { useIno: false, readdirplus: false, keepCache: true, uid: 5, gid: 6, umask: 0o22, entryTimeout: 2, attrTimeout: 3 });
  assert.equal(o.force && o.mkdir && o.debug, true);
  for (const k of ['displayFolder', 'maxRead', 'blkdev', 'bogus']) assert.ok(o.notes.some((n) => n.startsWith(`${k}:`)), k);
  assert.equal(mapOptions({}, 'uring').mount.transport, 'uring', 'FUSE_URING_TRANSPORT when the program says nothing');
});
