// The path bridge called directly through its inode-level methods (no kernel): which methods
// exist, how SETATTR splits, how listings page out, what errors become, sync and async.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PathBridge, PathMemFs, FuseError, Errno, type PathFilesystem, type Stat } from '../../src/paths/index.js';
import type { CreateReply, Filesystem, MaybePromise, OpenReply, RequestContext } from '../../src/filesystem.js';
import { Dirents, DirentsPlus } from './dirents.js';

const ctx: RequestContext = { opcode: 0, unique: 0, nodeid: 0, uid: 0, gid: 0, pid: 1, umask: 0, signal: new AbortController().signal };
const ROOT = 1;
const O_RDWR = 2;
const FILE: Stat = { mode: 0o100644, size: 3, ino: 77, mtime: 1_700_000_000_123.5 };

/** fs.create(ctx, parent, name, mode, umask, flags) whatever further arguments the inode API grows. */
const create = (fs: Filesystem, ...a: [RequestContext, number, string, number, number, number]): MaybePromise<CreateReply> =>
  (fs.create as unknown as (...x: unknown[]) => MaybePromise<CreateReply>)(...a, 0);

/** fs.open(ctx, nodeid, flags), likewise. */
const open = (fs: Filesystem, ...a: [RequestContext, number, number]): MaybePromise<OpenReply> =>
  (fs.open as unknown as (...x: unknown[]) => MaybePromise<OpenReply>)(...a, 0);

async function errnoOf(f: () => unknown): Promise<number> {
  try {
    await f();
  } catch (e) {
    assert.ok(e instanceof FuseError, `expected a FuseError, got ${String(e)}`);
    return e.errno;
  }
  assert.fail('expected a failure');
}

test('only the methods the path filesystem has are there (ENOSYS for the rest)', () => {
  const fs = new PathBridge({ getattr: () => FILE }).filesystem;
  for (const m of ['lookup', 'forget', 'getattr', 'statfs']) assert.equal(typeof (fs as Record<string, unknown>)[m], 'function', m);
  for (const m of ['setattr', 'mkdir', 'open', 'read', 'flush', 'fsync', 'readdir', 'opendir', 'readdirplus', 'create', 'getxattr', 'access']) {
    assert.equal((fs as Record<string, unknown>)[m], undefined, `${m} must be missing`);
  }
  const rw = new PathBridge({ readdir: () => [], truncate: () => {} }, { readdirplus: false }).filesystem;
  assert.equal(typeof rw.setattr, 'function');
  assert.equal(typeof rw.opendir, 'function');
  assert.equal(rw.readdirplus, undefined, 'readdirplus: false');
});

test('lookup and getattr: paths, nodeids, st_ino from the Stat, times with fractions of a millisecond', () => {
  const seen: string[] = [];
  const b = new PathBridge({ getattr: (p) => { seen.push(p); if (p === '/') return { mode: 0o40755 }; if (p === '/d' || p === '/d/e') return { mode: 0o40755 }; return FILE; } });
  const fs = b.filesystem;
  const d = fs.lookup!(ctx, ROOT, 'd') as { nodeid: number };
  const e = fs.lookup!(ctx, d.nodeid, 'e') as { nodeid: number };
  const f = fs.lookup!(ctx, e.nodeid, 'f') as { nodeid: number; attr: { ino: number; mtime: number; mtimensec: number } };
  assert.deepEqual(seen, ['/d', '/d/e', '/d/e/f']);
  assert.equal(f.attr.ino, 77);
  assert.equal(f.attr.mtime, 1_700_000_000);
  assert.equal(f.attr.mtimensec, 123_500_000);
  assert.equal(b.pathOf(f.nodeid), '/d/e/f');
  const noIno = new PathBridge({ getattr: () => FILE }, { useIno: false }).filesystem;
  const g = noIno.lookup!(ctx, ROOT, 'g') as { nodeid: number; attr: { ino: number } };
  assert.equal(g.attr.ino, g.nodeid, 'useIno: false shows the nodeid');
});

test('SETATTR becomes chmod, chown, truncate, utimens (UTIME_NOW resolved, UTIME_OMIT undefined), then getattr', async () => {
  const calls: unknown[][] = [];
  const fs = new PathBridge({
    getattr: () => FILE,
    chmod: (...a) => { calls.push(['chmod', ...a.slice(0, 3)]); },
    chown: (...a) => { calls.push(['chown', ...a.slice(0, 4)]); },
    truncate: (...a) => { calls.push(['truncate', ...a.slice(0, 3)]); },
    utimens: (...a) => { calls.push(['utimens', ...a.slice(0, 4)]); },
  }).filesystem;
  const f = fs.lookup!(ctx, ROOT, 'f') as { nodeid: number };
  const before = Math.floor(Date.now() / 1000);
  const r = await fs.setattr!(ctx, f.nodeid, { valid: 0, mode: 0o100600, uid: 5, size: 9, fh: 3, mtime: 12, mtimensec: 34, atimeNow: true });
  assert.equal(r.attr.ino, 77);
  assert.deepEqual(calls.slice(0, 3), [['chmod', '/f', 0o100600, 3], ['chown', '/f', 5, -1, 3], ['truncate', '/f', 9, 3]]);
  const [, path, atime, mtime, fh] = calls[3] as [string, string, { sec: number }, { sec: number; nsec: number }, number];
  assert.equal(path, '/f');
  assert.ok(atime.sec >= before, 'UTIME_NOW is the current time');
  assert.deepEqual(mtime, { sec: 12, nsec: 34 });
  assert.equal(fh, 3);
  calls.length = 0;
  await fs.setattr!(ctx, f.nodeid, { valid: 0, mtime: 1, mtimensec: 2 });
  assert.deepEqual(calls, [['utimens', '/f', undefined, { sec: 1, nsec: 2 }, undefined]]);
  const noChown = new PathBridge({ getattr: () => FILE, chmod: () => {} }).filesystem;
  assert.equal(await errnoOf(() => noChown.setattr!(ctx, ROOT, { valid: 0, uid: 1 })), Errno.ENOSYS);
});

test('a listing pages out by index, "." and ".." first; rewinding fetches it again', () => {
  let fetched = 0;
  const fs = new PathBridge({ getattr: () => ({ mode: 0o40755 }), readdir: () => { fetched++; return ['a', 'b', { name: 'c', type: 0o040000 }, 'bad/name', '']; } }, { readdirplus: false }).filesystem;
  const { fh } = fs.opendir!(ctx, ROOT, 0) as { fh: number };
  const page1 = new Dirents(3);
  fs.readdir!(ctx, ROOT, fh, 0, page1);
  assert.deepEqual(page1.list.map((e) => [e.name, e.off]), [['.', 1], ['..', 2], ['a', 3]]);
  const page2 = new Dirents();
  fs.readdir!(ctx, ROOT, fh, 3, page2);
  assert.deepEqual(page2.list.map((e) => [e.name, e.off, e.type]), [['b', 4, 0], ['c', 5, 4]]);
  assert.equal(fetched, 1);
  fs.readdir!(ctx, ROOT, fh, 0, new Dirents());
  assert.equal(fetched, 2, 'offset 0 is a rewind');
  fs.releasedir!(ctx, ROOT, fh, 0);
});

test('READDIRPLUS: entries with a stat are lookups the kernel will forget; one that did not fit is not', () => {
  const b = new PathBridge({
    getattr: () => ({ mode: 0o40755 }),
    readdir: () => [{ name: 'x', stat: FILE }, { name: 'y', stat: FILE }, 'z'],
  });
  const fs = b.filesystem;
  const { fh } = fs.opendir!(ctx, ROOT, 0) as { fh: number };
  const out = new DirentsPlus(3);
  fs.readdirplus!(ctx, ROOT, fh, 0, out);
  assert.deepEqual(out.list.map((e) => e.name), ['.', '..', 'x']);
  assert.equal(out.list[0]!.entry.nodeid, 0);
  const x = out.list[2]!.entry.nodeid;
  assert.ok(x > 1);
  assert.equal(b.nodeCount(), 2, 'y was refused by the full buffer: no node kept for it');
  const rest = new DirentsPlus();
  fs.readdirplus!(ctx, ROOT, fh, 3, rest);
  assert.deepEqual(rest.list.map((e) => [e.name, e.entry.nodeid === 0]), [['y', false], ['z', true]]);
  fs.forget!(x, 1);
  fs.forget!(rest.list[0]!.entry.nodeid, 1);
  assert.equal(b.nodeCount(), 1);
});

test('what a path operation throws becomes an errno: FuseError, Node system errors, bare numbers; other errors pass to the dispatcher', async () => {
  const make = (e: unknown) => new PathBridge({ getattr: () => { throw e; } }).filesystem;
  assert.equal(await errnoOf(() => make(new FuseError(Errno.EACCES)).lookup!(ctx, ROOT, 'x')), Errno.EACCES);
  assert.equal(await errnoOf(() => make(Object.assign(new Error('x'), { code: 'ENOTDIR', errno: -20 })).lookup!(ctx, ROOT, 'x')), Errno.ENOTDIR);
  assert.equal(await errnoOf(() => make(-Errno.ELOOP).lookup!(ctx, ROOT, 'x')), Errno.ELOOP);
  assert.equal(await errnoOf(() => make(Errno.EROFS).lookup!(ctx, ROOT, 'x')), Errno.EROFS);
  const plain = new Error('bug');
  assert.throws(() => make(plain).lookup!(ctx, ROOT, 'x'), (e) => e === plain);
  const rejecting = new PathBridge({ getattr: () => Promise.reject(Object.assign(new Error('gone'), { code: 'ENOENT' })) }).filesystem;
  assert.equal(await errnoOf(() => rejecting.lookup!(ctx, ROOT, 'x')), Errno.ENOENT);
  const bad = new PathBridge({ getattr: () => null as unknown as Stat }).filesystem;
  assert.equal(await errnoOf(() => bad.lookup!(ctx, ROOT, 'x')), Errno.EIO);
});

test('negativeTimeout caches ENOENT as a nodeid-0 entry', async () => {
  const fs = new PathBridge({ getattr: () => { throw new FuseError(Errno.ENOENT); } }, { negativeTimeout: 5 }).filesystem;
  assert.deepEqual(await fs.lookup!(ctx, ROOT, 'missing'), { nodeid: 0, attr: { ino: 0, mode: 0 }, entryTimeout: 5 });
});

test('read, write and create through PathMemFs, synchronously and with Promises', async () => {
  for (const wrap of [(x: unknown) => x, (x: unknown) => Promise.resolve(x)]) {
    const mem = new PathMemFs({ uid: 0, gid: 0 });
    const fs: Filesystem = new PathBridge(new Proxy(mem, {
      get: (t, k) => {
        const v = Reflect.get(t, k, t) as unknown;
        return typeof v === 'function' ? (...a: unknown[]) => wrap((v as (...x: unknown[]) => unknown).apply(t, a)) : v;
      },
    }) as PathFilesystem).filesystem;
    const c = await create(fs, ctx, ROOT, 'f', 0o100644, 0o022, O_RDWR);
    assert.equal(c.attr.mode, 0o100644);
    assert.equal(await fs.write!(ctx, c.nodeid, c.fh!, 0, Buffer.from('hello'), 0, 0), 5);
    const out = Buffer.alloc(100);
    assert.equal(await fs.read!(ctx, c.nodeid, c.fh!, 1, 100, out), 4);
    assert.equal(out.subarray(0, 4).toString(), 'ello');
    assert.equal(await fs.read!(ctx, c.nodeid, c.fh!, 2, 2, Buffer.alloc(2)), 2, 'at most the size asked for');
    await fs.release!(ctx, c.nodeid, c.fh!, 0, 0, 0);
    assert.equal(mem.handleCount(), 0);
  }
});

test('results are checked: a read past its size is clamped, a negative count is an errno, no xattr is ENODATA', async () => {
  const fs = new PathBridge({
    getattr: () => FILE,
    read: (_p, _fh, buf) => (buf.length === 1 ? -Errno.EAGAIN : 1000),
    write: () => 'x' as unknown as number,
    getxattr: () => null,
  }).filesystem;
  assert.equal(await fs.read!(ctx, ROOT, 0, 0, 10, Buffer.alloc(10)), 10);
  assert.equal(await errnoOf(() => fs.read!(ctx, ROOT, 0, 0, 1, Buffer.alloc(1))), Errno.EAGAIN);
  assert.equal(await errnoOf(() => fs.write!(ctx, ROOT, 0, 0, Buffer.alloc(1), 0, 0)), Errno.EIO);
  assert.equal(await errnoOf(() => fs.getxattr!(ctx, ROOT, 'user.x', 0)), Errno.ENODATA);
});

test('create whose file then cannot be stat-ed releases the handle it opened', async () => {
  const released: number[] = [];
  const fs = new PathBridge({
    getattr: (p) => { if (p === '/') return { mode: 0o40755 }; throw new FuseError(Errno.EIO); },
    create: () => 42,
    release: (_p, fh) => { released.push(fh); },
  }).filesystem;
  assert.equal(await errnoOf(() => create(fs, ctx, ROOT, 'f', 0o100644, 0, O_RDWR)), Errno.EIO);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(released, [42]);
});

test('statfs without a statfs method: libfuse\'s defaults', () => {
  const fs = new PathBridge({}).filesystem;
  assert.deepEqual(fs.statfs!(ctx, ROOT), { bsize: 512, frsize: 512, blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0, namelen: 255 });
  assert.equal((fs.getattr!(ctx, ROOT, undefined) as { attr: { mode: number } }).attr.mode, 0o40755, 'and "/" is a directory without getattr');
});

test('a hard link made through the bridge answers with the linked file\'s nodeid', async () => {
  const mem = new PathMemFs({ uid: 0, gid: 0 });
  const b = new PathBridge(mem);
  const fs = b.filesystem;
  const c = await create(fs, ctx, ROOT, 'f', 0o100644, 0, O_RDWR);
  const d = await fs.mkdir!(ctx, ROOT, 'd', 0o755, 0);
  const l = await fs.link!(ctx, c.nodeid, d.nodeid, 'g');
  assert.equal(l.nodeid, c.nodeid);
  assert.equal(l.attr.nlink, 2);
  await fs.unlink!(ctx, ROOT, 'f');
  assert.equal(b.pathOf(c.nodeid), '/d/g');
  await fs.rename!(ctx, ROOT, 'd', ROOT, 'e', 0);
  assert.equal(b.pathOf(c.nodeid), '/e/g');
  assert.equal(((await fs.getattr!(ctx, c.nodeid, undefined)) as { attr: { nlink: number } }).attr.nlink, 1);
});

test('keepCache keeps the page cache on every open; autoCache only while size and mtime stay', async () => {
  const KEEP = 2;
  let st: Stat = { mode: 0o100644, size: 1, mtime: 1000 };
  const keep = new PathBridge({ getattr: () => st, open: () => 5 }, { keepCache: true }).filesystem;
  assert.deepEqual(await open(keep, ctx, ROOT, 0), { fh: 5, openFlags: KEEP });
  const b = new PathBridge({ getattr: () => st, open: () => ({ fh: 6, directIo: true }) }, { autoCache: true });
  const fs = b.filesystem;
  const f = fs.lookup!(ctx, ROOT, 'f') as { nodeid: number };
  const DIRECT = 1;
  assert.deepEqual(await open(fs, ctx, f.nodeid, 0), { fh: 6, openFlags: DIRECT }, 'the first open drops the cache');
  assert.deepEqual(await open(fs, ctx, f.nodeid, 0), { fh: 6, openFlags: DIRECT | KEEP }, 'nothing changed: keep it');
  st = { ...st, mtime: 2000 };
  assert.deepEqual(await open(fs, ctx, f.nodeid, 0), { fh: 6, openFlags: DIRECT }, 'mtime changed: drop it');
});
