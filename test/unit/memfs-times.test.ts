// memfs timestamps, one POSIX rule at a time: which of atime, mtime and ctime each operation
// marks, on which inode, in nanoseconds. utimensat's UTIME_NOW arrives as atimeNow/mtimeNow,
// UTIME_OMIT as a field left out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemFs } from '../../src/fs/memfs/index.js';
import type { DirentWriter, RequestContext } from '../../src/filesystem.js';

const ROOT = 1;
const O_RDONLY = 0, O_RDWR = 2, O_TRUNC = 0o1000;
const FATTR_MODE = 1, FATTR_UID = 2, FATTR_GID = 4, FATTR_SIZE = 8, FATTR_ATIME = 0x10, FATTR_MTIME = 0x20;
const FATTR_ATIME_NOW = 0x80, FATTR_MTIME_NOW = 0x100;

const c: RequestContext = { opcode: 0, unique: 0, nodeid: 0, uid: 0, gid: 0, pid: 0, umask: 0, signal: new AbortController().signal };

interface Times { a: bigint; m: bigint; c: bigint }

function times(m: MemFs, ino: number): Times {
  const x = m.getattr(c, ino, undefined).attr;
  const ns = (s?: number, n?: number) => BigInt(s!) * 1_000_000_000n + BigInt(n!);
  return { a: ns(x.atime, x.atimensec), m: ns(x.mtime, x.mtimensec), c: ns(x.ctime, x.ctimensec) };
}

const tick = () => new Promise((r) => setTimeout(r, 2));

/**
 * Runs `op` after a tick and asserts which of each inode's times moved forward ('a', 'm', 'c')
 * and that the others stayed.
 */
async function marks(m: MemFs, what: string, expect: Record<number, string>, op: () => void): Promise<void> {
  const before = new Map(Object.keys(expect).map((k) => [Number(k), times(m, Number(k))]));
  await tick();
  op();
  for (const [ino, b] of before) {
    const a = times(m, ino);
    const moved = (['a', 'm', 'c'] as const).filter((k) => a[k] !== b[k]).join('');
    assert.equal(moved, expect[ino], `${what}: inode ${ino} changed "${moved}", expected "${expect[ino]}"`);
    for (const k of ['a', 'm', 'c'] as const) if (a[k] !== b[k]) assert.ok(a[k] > b[k], `${what}: ${k} went back`);
  }
}

function mkfile(m: MemFs, parent: number, name: string): number {
  const r = m.create(c, parent, name, 0o644, 0, O_RDWR);
  m.release(c, r.nodeid, r.fh!, O_RDWR, 0, 0);
  return r.nodeid;
}

test('reads mark atime: read, readdir, readlink; lookups and getattr mark nothing', async () => {
  const m = new MemFs({ uid: 0, gid: 0 });
  const d = m.mkdir(c, ROOT, 'd', 0o755, 0).nodeid;
  const f = mkfile(m, d, 'f');
  const l = m.symlink(c, d, 'l', 'f').nodeid;
  const fh = m.open(c, f, O_RDWR).fh!;
  m.write(c, f, fh, 0, Buffer.from('data'), 0, O_RDWR);
  await marks(m, 'read', { [f]: 'a', [d]: '' }, () => { m.read(c, f, fh, 0, 10, Buffer.alloc(10)); });
  const w: DirentWriter = { add: () => true };
  const dfh = m.opendir(c, d, 0).fh!;
  await marks(m, 'opendir', { [d]: '' }, () => { m.releasedir(c, d, m.opendir(c, d, 0).fh!, 0); });
  await marks(m, 'readdir', { [d]: 'a', [f]: '' }, () => { m.readdir(c, d, dfh, 0, w); });
  await marks(m, 'readdirplus', { [d]: 'a' }, () => { m.readdirplus(c, d, dfh, 0, { add: () => true }); });
  m.releasedir(c, d, dfh, 0);
  await marks(m, 'readlink', { [l]: 'a', [f]: '' }, () => { m.readlink(c, l); });
  await marks(m, 'lookup, getattr, statx, open', { [f]: '', [d]: '' }, () => {
    m.lookup(c, d, 'f');
    m.getattr(c, f, undefined);
    m.statx(c, f, undefined, 0, 0);
    m.release(c, f, m.open(c, f, O_RDONLY).fh!, O_RDONLY, 0, 0);
  });
  await marks(m, 'a write of 0 bytes', { [f]: '' }, () => { m.write(c, f, fh, 0, Buffer.alloc(0), 0, O_RDWR); });
  await marks(m, 'write', { [f]: 'mc' }, () => { m.write(c, f, fh, 0, Buffer.from('x'), 0, O_RDWR); });
  m.release(c, f, fh, O_RDWR, 0, 0);
});

test('utimensat: UTIME_NOW, UTIME_OMIT and explicit times; ctime always', async () => {
  const m = new MemFs({ uid: 0, gid: 0 });
  const f = mkfile(m, ROOT, 'f');
  await marks(m, 'NOW, NOW', { [f]: 'amc' }, () => {
    m.setattr(c, f, { valid: FATTR_ATIME | FATTR_MTIME | FATTR_ATIME_NOW | FATTR_MTIME_NOW, atimeNow: true, mtimeNow: true });
  });
  const t = times(m, f);
  assert.equal(t.a, t.m, 'one clock reading for both');
  assert.equal(t.m, t.c, 'and for ctime');
  await marks(m, 'NOW, OMIT', { [f]: 'ac' }, () => { m.setattr(c, f, { valid: FATTR_ATIME | FATTR_ATIME_NOW, atimeNow: true }); });
  await marks(m, 'OMIT, NOW', { [f]: 'mc' }, () => { m.setattr(c, f, { valid: FATTR_MTIME | FATTR_MTIME_NOW, mtimeNow: true }); });
  m.setattr(c, f, { valid: FATTR_MTIME, mtime: 1_700_000_000, mtimensec: 123_456_789 });
  const x = m.getattr(c, f, undefined).attr;
  assert.deepEqual([x.mtime, x.mtimensec], [1_700_000_000, 123_456_789], 'explicit nanoseconds are kept exactly');
  m.setattr(c, f, { valid: FATTR_ATIME, atime: -1, atimensec: 999_999_999 });
  const y = m.getattr(c, f, undefined).attr;
  assert.deepEqual([y.atime, y.atimensec, y.mtime], [-1, 999_999_999, 1_700_000_000], 'before 1970, mtime omitted');
});

test('chmod and chown mark ctime; chown(-1, -1) marks nothing', async () => {
  const m = new MemFs({ uid: 0, gid: 0 });
  const f = mkfile(m, ROOT, 'f');
  await marks(m, 'chmod', { [f]: 'c', [ROOT]: '' }, () => { m.setattr(c, f, { valid: FATTR_MODE, mode: 0o600 }); });
  await marks(m, 'chmod to the same mode', { [f]: 'c' }, () => { m.setattr(c, f, { valid: FATTR_MODE, mode: 0o600 }); });
  await marks(m, 'chown', { [f]: 'c' }, () => { m.setattr(c, f, { valid: FATTR_UID | FATTR_GID, uid: 5, gid: 6 }); });
  await marks(m, 'chown(-1, -1)', { [f]: '' }, () => { m.setattr(c, f, { valid: 0 }); });
});

test('truncate marks mtime and ctime when the size changes; O_TRUNC always', async () => {
  const m = new MemFs({ uid: 0, gid: 0 });
  const f = mkfile(m, ROOT, 'f');
  await marks(m, 'truncate to 10', { [f]: 'mc' }, () => { m.setattr(c, f, { valid: FATTR_SIZE, size: 10 }); });
  await marks(m, 'open O_TRUNC', { [f]: 'mc', [ROOT]: '' }, () => {
    m.release(c, f, m.open(c, f, O_RDWR | O_TRUNC).fh!, O_RDWR, 0, 0);
  });
  await marks(m, 'open O_TRUNC of an empty file', { [f]: 'mc' }, () => {
    m.release(c, f, m.open(c, f, O_RDWR | O_TRUNC).fh!, O_RDWR, 0, 0);
  });
});

test('names: the directory marks mtime and ctime, the inode ctime when its link count changes', async () => {
  const m = new MemFs({ uid: 0, gid: 0 });
  const a = m.mkdir(c, ROOT, 'a', 0o755, 0).nodeid;
  const b = m.mkdir(c, ROOT, 'b', 0o755, 0).nodeid;
  let f = 0;
  await marks(m, 'create', { [a]: 'mc', [ROOT]: '' }, () => { f = mkfile(m, a, 'f'); });
  await marks(m, 'link', { [f]: 'c', [a]: '', [b]: 'mc' }, () => { m.link(c, f, b, 'h'); });
  await marks(m, 'unlink of one name', { [f]: 'c', [a]: '', [b]: 'mc' }, () => { m.unlink(c, b, 'h'); });
  await marks(m, 'rename across directories', { [f]: 'c', [a]: 'mc', [b]: 'mc', [ROOT]: '' }, () => {
    m.rename(c, a, 'f', b, 'f', 0);
  });
  await marks(m, 'rename within a directory', { [f]: 'c', [a]: '', [b]: 'mc' }, () => { m.rename(c, b, 'f', b, 'g', 0); });
  const victim = mkfile(m, a, 'victim');
  m.lookup(c, a, 'victim'); // the kernel holds it: it outlives its name
  await marks(m, 'rename over a file', { [f]: 'c', [victim]: 'c', [a]: 'mc', [b]: 'mc' }, () => {
    m.rename(c, b, 'g', a, 'victim', 0);
  });
  assert.equal(m.getattr(c, victim, undefined).attr.nlink, 0);
  let sub = 0;
  await marks(m, 'mkdir', { [b]: 'mc' }, () => { sub = m.mkdir(c, b, 'sub', 0o755, 0).nodeid; });
  await marks(m, 'move a directory', { [sub]: 'c', [a]: 'mc', [b]: 'mc' }, () => { m.rename(c, b, 'sub', a, 'sub', 0); });
  await marks(m, 'rmdir', { [sub]: 'c', [a]: 'mc' }, () => { m.rmdir(c, a, 'sub'); });
  await marks(m, 'symlink', { [a]: 'mc' }, () => { m.symlink(c, a, 'l', 'x'); });
  await marks(m, 'O_TMPFILE', { [a]: '' }, () => { m.tmpfile(c, a, 0o600, 0, O_RDWR); });
});

test('xattr changes mark ctime only; reading them marks nothing', async () => {
  const m = new MemFs({ uid: 0, gid: 0 });
  const f = mkfile(m, ROOT, 'f');
  await marks(m, 'setxattr', { [f]: 'c' }, () => { m.setxattr(c, f, 'user.k', Buffer.from('v'), 0, 0); });
  await marks(m, 'getxattr, listxattr', { [f]: '' }, () => { m.getxattr(c, f, 'user.k', 0); m.listxattr(c, f, 0); });
  await marks(m, 'removexattr', { [f]: 'c' }, () => { m.removexattr(c, f, 'user.k'); });
});
