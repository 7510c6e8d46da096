// memfs beyond files and directories, driven directly through its Filesystem methods: symlinks,
// hard links, device nodes and FIFOs, xattrs, access, POSIX and flock locks, fallocate,
// SEEK_DATA/SEEK_HOLE, copy_file_range, O_TMPFILE, statx, poll.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemFs, type MemFsOptions } from '../../src/fs/memfs/index.js';
import { CHUNK } from '../../src/fs/memfs/filedata.js';
import { FuseError, Errno } from '../../src/errors.js';
import { DT, Release } from '../../src/abi/flags.js';
import type { DirentWriter, FileLock, RequestContext } from '../../src/filesystem.js';
import { assertMissing, throwsErrno } from '../helpers/errno.js';

const ROOT = 1;
const O_RDWR = 2, O_EXCL = 0o200;
const S_IFMT = 0o170000, S_IFREG = 0o100000, S_IFLNK = 0o120000, S_IFIFO = 0o010000;
const S_IFCHR = 0o020000, S_IFBLK = 0o060000, S_IFSOCK = 0o140000, S_IFDIR = 0o040000;
const F_RDLCK = 0, F_WRLCK = 1, F_UNLCK = 2;
const LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4, LOCK_UN = 8;
const XATTR_CREATE = 1, XATTR_REPLACE = 2;
const KEEP_SIZE = 1, PUNCH_HOLE = 2, ZERO_RANGE = 0x10;
const SEEK_DATA = 3, SEEK_HOLE = 4;
const POLLIN = 1, POLLPRI = 2, POLLOUT = 4;
/** OFFSET_MAX (2^63 - 1) as the kernel's u64 decodes to a JavaScript number. */
const EOF = Number(0x7fffffffffffffffn);

function ctx(uid = 1000, gid = 1000, signal = new AbortController().signal): RequestContext {
  return { opcode: 0, unique: 0, nodeid: 0, uid, gid, pid: 1, umask: 0, signal };
}
const c = ctx();
const rootCtx = ctx(0, 0);

function fs(opts: MemFsOptions = {}): MemFs {
  return new MemFs({ uid: 0, gid: 0, ...opts });
}

async function rejectsErrno(p: unknown, errno: number, what?: string): Promise<void> {
  assert.ok(p instanceof Promise, `${what ?? 'the call'} should wait (return a Promise)`);
  await assert.rejects(p, (e: unknown) => e instanceof FuseError && e.errno === errno, what);
}

function mkfile(m: MemFs, parent: number, name: string, content: string | Buffer = '', cx = c): { ino: number; fh: number } {
  const r = m.create(cx, parent, name, 0o644, 0, O_RDWR);
  if (content.length) m.write(cx, r.nodeid, r.fh!, 0, Buffer.from(content), 0, O_RDWR);
  return { ino: r.nodeid, fh: r.fh! };
}

function readAll(m: MemFs, ino: number, fh: number, offset = 0, size = 1 << 20): Buffer {
  const out = Buffer.alloc(size, 0xee);
  return out.subarray(0, m.read(c, ino, fh, offset, size, out));
}

function attr(m: MemFs, ino: number) {
  return m.getattr(c, ino, undefined).attr;
}

/** A timestamp in nanoseconds, exactly. */
const ns = (sec: number | undefined, nsec: number | undefined): bigint => BigInt(sec!) * 1_000_000_000n + BigInt(nsec!);

class Dirents implements DirentWriter {
  list: { name: string; ino: number; type: number }[] = [];
  add(name: string, ino: number, type: number): boolean {
    this.list.push({ name, ino, type });
    return true;
  }
}

function ls(m: MemFs, dir: number): { name: string; ino: number; type: number }[] {
  const fh = m.opendir(c, dir, 0).fh!;
  const w = new Dirents();
  m.readdir(c, dir, fh, 0, w);
  m.releasedir(c, dir, fh, 0);
  return w.list.filter((e) => e.name !== '.' && e.name !== '..');
}

const tick = () => new Promise<void>((r) => setImmediate(r));

/** Resolves to 'pending' if `p` has not settled after a few turns of the event loop. */
async function state(p: Promise<unknown>): Promise<'resolved' | 'rejected' | 'pending'> {
  let s: 'resolved' | 'rejected' | 'pending' = 'pending';
  p.then(() => { s = 'resolved'; }, () => { s = 'rejected'; });
  for (let i = 0; i < 3; i++) await tick();
  return s;
}

// ---- symlinks ----------------------------------------------------------------------------------

test('symlink: S_IFLNK 0777, size is the target in bytes, readlink returns it exactly', () => {
  const m = fs();
  // 'é' is two bytes, the escaped byte U+DCFF one, 'x/../' five.
  const target = 'x/../\u00e9\udcff';
  const e = m.symlink(c, ROOT, 'l', target);
  assert.equal(e.attr.mode, S_IFLNK | 0o777);
  assert.equal(e.attr.size, 8);
  assert.equal(e.attr.nlink, 1);
  assert.equal(e.attr.uid, 1000);
  assert.equal(m.readlink(c, e.nodeid), target);
  assert.equal(m.lookup(c, ROOT, 'l').nodeid, e.nodeid);
  assert.deepEqual(ls(m, ROOT).map((d) => [d.name, d.type]), [['l', DT.LNK]]);
  const dangling = m.symlink(c, ROOT, 'dangling', '/nowhere/at/all');
  assert.equal(m.readlink(c, dangling.nodeid), '/nowhere/at/all');
});

test('symlink: errors for an existing name, an empty or too long target; readlink of a non-link', () => {
  const m = fs();
  mkfile(m, ROOT, 'f');
  throwsErrno(() => m.symlink(c, ROOT, 'f', 't'), Errno.EEXIST);
  throwsErrno(() => m.symlink(c, ROOT, 'e', ''), Errno.ENOENT);
  throwsErrno(() => m.symlink(c, ROOT, 'long', 'a'.repeat(4096)), Errno.ENAMETOOLONG);
  assert.equal(m.symlink(c, ROOT, 'max', 'a'.repeat(4095)).attr.size, 4095);
  throwsErrno(() => m.readlink(c, m.lookup(c, ROOT, 'f').nodeid), Errno.EINVAL);
  throwsErrno(() => m.readlink(c, ROOT), Errno.EINVAL);
  throwsErrno(() => m.setattr(c, m.lookup(c, ROOT, 'max').nodeid, { valid: 8, size: 0 }), Errno.EINVAL);
});

test('symlink: the parent changes mtime, unlink removes the link and frees it after forget', () => {
  const m = fs();
  const before = m.inodeCount();
  const mt = () => ns(attr(m, ROOT).mtime, attr(m, ROOT).mtimensec);
  const t0 = mt();
  const e = m.symlink(c, ROOT, 'l', 'target');
  assert.ok(mt() > t0);
  m.unlink(c, ROOT, 'l');
  assertMissing(m.lookup(c, ROOT, 'l'));
  m.forget(e.nodeid, 1);
  assert.equal(m.inodeCount(), before);
});

// ---- hard links --------------------------------------------------------------------------------

test('link: both names reach one inode, nlink counts them across link, unlink and rename', () => {
  const m = fs();
  const { ino, fh } = mkfile(m, ROOT, 'a', 'shared');
  const d = m.mkdir(c, ROOT, 'd', 0o755, 0).nodeid;
  const ctime0 = ns(attr(m, ino).ctime, attr(m, ino).ctimensec);
  const e = m.link(c, ino, d, 'b');
  assert.equal(e.nodeid, ino);
  assert.equal(e.attr.nlink, 2);
  assert.ok(ns(e.attr.ctime, e.attr.ctimensec) > ctime0, 'link changes ctime');
  assert.equal(m.lookup(c, d, 'b').nodeid, ino);
  m.link(c, ino, ROOT, 'c');
  assert.equal(attr(m, ino).nlink, 3);
  // Renaming one name over another name of the same inode does nothing (POSIX).
  m.rename(c, ROOT, 'a', ROOT, 'c', 0);
  assert.equal(attr(m, ino).nlink, 3);
  assert.equal(m.lookup(c, ROOT, 'a').nodeid, ino);
  // Renaming another file over one of the names drops one link.
  const other = mkfile(m, ROOT, 'other', 'o').ino;
  m.rename(c, ROOT, 'other', ROOT, 'c', 0);
  assert.equal(attr(m, ino).nlink, 2);
  assert.equal(m.lookup(c, ROOT, 'c').nodeid, other);
  m.unlink(c, ROOT, 'a');
  assert.equal(attr(m, ino).nlink, 1);
  assert.equal(readAll(m, ino, fh).toString(), 'shared');
  m.unlink(c, d, 'b');
  assert.equal(attr(m, ino).nlink, 0);
  assert.equal(readAll(m, ino, fh).toString(), 'shared', 'still open');
});

test('link: directories cannot be hard-linked; existing names and removed files are refused', () => {
  const m = fs();
  const d = m.mkdir(c, ROOT, 'd', 0o755, 0).nodeid;
  throwsErrno(() => m.link(c, d, ROOT, 'd2'), Errno.EPERM);
  throwsErrno(() => m.link(c, ROOT, ROOT, 'root2'), Errno.EPERM);
  const { ino } = mkfile(m, ROOT, 'f');
  throwsErrno(() => m.link(c, ino, ROOT, 'd'), Errno.EEXIST);
  throwsErrno(() => m.link(c, ino, ino, 'x'), Errno.ENOTDIR);
  throwsErrno(() => m.link(c, ino, ROOT, 'n'.repeat(256)), Errno.ENAMETOOLONG);
  m.unlink(c, ROOT, 'f');
  throwsErrno(() => m.link(c, ino, ROOT, 'back'), Errno.ENOENT, 'a file whose last name is gone stays nameless');
  // Symlinks and device nodes can be hard-linked.
  const l = m.symlink(c, ROOT, 'l', 't').nodeid;
  assert.equal(m.link(c, l, ROOT, 'l2').attr.nlink, 2);
  const p = m.mknod(c, ROOT, 'p', S_IFIFO | 0o644, 0, 0).nodeid;
  assert.equal(m.link(c, p, ROOT, 'p2').attr.mode & S_IFMT, S_IFIFO);
});

// ---- mknod -------------------------------------------------------------------------------------

test('mknod: FIFOs, sockets, character and block devices with their rdev; umask applies', () => {
  const m = fs();
  const fifo = m.mknod(c, ROOT, 'fifo', S_IFIFO | 0o666, 0x1234, 0o022);
  assert.equal(fifo.attr.mode, S_IFIFO | 0o644);
  assert.equal(fifo.attr.rdev, 0, 'only device nodes keep rdev');
  assert.equal(fifo.attr.size, 0);
  const sock = m.mknod(c, ROOT, 'sock', S_IFSOCK | 0o755, 0, 0);
  assert.equal(sock.attr.mode, S_IFSOCK | 0o755);
  // new_encode_dev(makedev(1, 3)) = 0x103; makedev(8, 300) = 0x12c | 8 << 8 | (300 & ~0xff) << 12.
  const chr = m.mknod(rootCtx, ROOT, 'null', S_IFCHR | 0o666, 0x103, 0);
  assert.equal(chr.attr.mode, S_IFCHR | 0o666);
  assert.equal(chr.attr.rdev, 0x103);
  assert.equal(chr.attr.uid, 0);
  const blkRdev = (300 & 0xff) | (8 << 8) | ((300 & ~0xff) << 12);
  const blk = m.mknod(rootCtx, ROOT, 'sdx', S_IFBLK | 0o660, blkRdev, 0);
  assert.equal(blk.attr.rdev, blkRdev);
  const sx = m.statx(c, blk.nodeid, undefined, 0, 0x7ff).attr;
  assert.equal(sx.rdevMajor, 8);
  assert.equal(sx.rdevMinor, 300);
  assert.deepEqual(ls(m, ROOT).map((d) => [d.name, d.type]),
    [['fifo', DT.FIFO], ['sock', DT.SOCK], ['null', DT.CHR], ['sdx', DT.BLK]]);
  assert.equal(m.lookup(c, ROOT, 'null').attr.rdev, 0x103);
});

test('mknod: regular files (type 0 or S_IFREG) are ordinary files; directories and junk types are refused', () => {
  const m = fs();
  for (const [name, mode] of [['r0', 0o644], ['r1', S_IFREG | 0o644]] as const) {
    const e = m.mknod(c, ROOT, name, mode, 0, 0);
    assert.equal(e.attr.mode, S_IFREG | 0o644);
    const fh = m.open(c, e.nodeid, O_RDWR).fh!;
    m.write(c, e.nodeid, fh, 0, Buffer.from('data'), 0, O_RDWR);
    assert.equal(readAll(m, e.nodeid, fh).toString(), 'data');
  }
  throwsErrno(() => m.mknod(c, ROOT, 'd', S_IFDIR | 0o755, 0, 0), Errno.EPERM);
  throwsErrno(() => m.mknod(c, ROOT, 'j', 0o170000 | 0o644, 0, 0), Errno.EINVAL);
  throwsErrno(() => m.mknod(c, ROOT, 'r0', S_IFIFO | 0o644, 0, 0), Errno.EEXIST);
});

// ---- xattrs ------------------------------------------------------------------------------------

test('xattr: set, get, list and remove round-trip; the value is copied', () => {
  const m = fs();
  const { ino } = mkfile(m, ROOT, 'f', '', c);
  const value = Buffer.from('hello');
  m.setxattr(c, ino, 'user.greeting', value, 0, 0);
  value.fill(0x21); // the request buffer is reused: the stored value must not follow it
  assert.equal(Buffer.from(m.getxattr(c, ino, 'user.greeting', 100)).toString(), 'hello');
  m.setxattr(c, ino, 'user.empty', Buffer.alloc(0), 0, 0);
  assert.equal(m.getxattr(c, ino, 'user.empty', 0).length, 0);
  assert.deepEqual(m.listxattr(c, ino, 0), ['user.greeting', 'user.empty']);
  m.setxattr(c, ino, 'user.greeting', Buffer.from('bye'), 0, 0);
  assert.equal(Buffer.from(m.getxattr(c, ino, 'user.greeting', 100)).toString(), 'bye');
  m.removexattr(c, ino, 'user.greeting');
  throwsErrno(() => m.getxattr(c, ino, 'user.greeting', 100), Errno.ENODATA);
  throwsErrno(() => m.removexattr(c, ino, 'user.greeting'), Errno.ENODATA);
  assert.deepEqual(m.listxattr(c, ino, 0), ['user.empty']);
  // Directories carry user xattrs too; a fresh inode has none.
  const d = m.mkdir(c, ROOT, 'd', 0o755, 0).nodeid;
  assert.deepEqual(m.listxattr(c, d, 0), []);
  m.setxattr(c, d, 'user.dir', Buffer.from('1'), 0, 0);
  assert.deepEqual(m.listxattr(c, d, 0), ['user.dir']);
});

test('xattr: XATTR_CREATE and XATTR_REPLACE; setxattr and removexattr change ctime', async () => {
  const m = fs();
  const { ino } = mkfile(m, ROOT, 'f', '', c);
  throwsErrno(() => m.setxattr(c, ino, 'user.a', Buffer.from('1'), XATTR_REPLACE, 0), Errno.ENODATA);
  m.setxattr(c, ino, 'user.a', Buffer.from('1'), XATTR_CREATE, 0);
  throwsErrno(() => m.setxattr(c, ino, 'user.a', Buffer.from('2'), XATTR_CREATE, 0), Errno.EEXIST);
  m.setxattr(c, ino, 'user.a', Buffer.from('3'), XATTR_REPLACE, 0);
  assert.equal(Buffer.from(m.getxattr(c, ino, 'user.a', 10)).toString(), '3');
  throwsErrno(() => m.setxattr(c, ino, 'user.a', Buffer.from('4'), 4, 0), Errno.EINVAL);
  const ct = () => ns(attr(m, ino).ctime, attr(m, ino).ctimensec);
  const t0 = ct();
  await new Promise((r) => setTimeout(r, 2));
  m.setxattr(c, ino, 'user.b', Buffer.from('x'), 0, 0);
  const t1 = ct();
  assert.ok(t1 > t0, 'setxattr sets ctime');
  await new Promise((r) => setTimeout(r, 2));
  m.removexattr(c, ino, 'user.b');
  assert.ok(ct() > t1, 'removexattr sets ctime');
});

test('xattr: name up to 255 bytes (ERANGE past it), value up to 64 KiB (E2BIG past it)', () => {
  const m = fs();
  const { ino } = mkfile(m, ROOT, 'f', '', c);
  const longest = 'user.' + 'n'.repeat(250);
  m.setxattr(c, ino, longest, Buffer.from('v'), 0, 0);
  throwsErrno(() => m.setxattr(c, ino, longest + 'n', Buffer.from('v'), 0, 0), Errno.ERANGE);
  // Escaped bytes count one each: 5 + 250 of them is exactly 255.
  m.setxattr(c, ino, 'user.' + '\udcff'.repeat(250), Buffer.from('v'), 0, 0);
  throwsErrno(() => m.setxattr(c, ino, 'user.' + '\u00e9'.repeat(126), Buffer.from('v'), 0, 0), Errno.ERANGE);
  throwsErrno(() => m.getxattr(c, ino, '', 0), Errno.ERANGE);
  m.setxattr(c, ino, 'user.big', Buffer.alloc(65536, 1), 0, 0);
  assert.equal(m.getxattr(c, ino, 'user.big', 65536).length, 65536);
  throwsErrno(() => m.setxattr(c, ino, 'user.bigger', Buffer.alloc(65537), 0, 0), Errno.E2BIG);
});

test('xattr: namespaces — unknown prefixes, user.* only on files and directories', () => {
  const m = fs();
  const { ino } = mkfile(m, ROOT, 'f', '', c);
  throwsErrno(() => m.setxattr(c, ino, 'nonsense', Buffer.from('1'), 0, 0), Errno.EOPNOTSUPP);
  throwsErrno(() => m.setxattr(c, ino, 'system.posix_acl_access', Buffer.from('1'), 0, 0), Errno.EOPNOTSUPP);
  throwsErrno(() => m.getxattr(c, ino, 'os2.x', 0), Errno.EOPNOTSUPP);
  throwsErrno(() => m.setxattr(c, ino, 'user.', Buffer.from('1'), 0, 0), Errno.EINVAL);
  const l = m.symlink(c, ROOT, 'l', 'f').nodeid;
  const p = m.mknod(c, ROOT, 'p', S_IFIFO | 0o666, 0, 0).nodeid;
  for (const node of [l, p]) {
    throwsErrno(() => m.setxattr(c, node, 'user.x', Buffer.from('1'), 0, 0), Errno.EPERM);
    throwsErrno(() => m.getxattr(c, node, 'user.x', 0), Errno.ENODATA);
    throwsErrno(() => m.removexattr(c, node, 'user.x'), Errno.EPERM);
  }
  // Other namespaces do apply to symlinks (e.g. security labels).
  m.setxattr(rootCtx, l, 'security.label', Buffer.from('s0'), 0, 0);
  assert.deepEqual(m.listxattr(c, l, 0), ['security.label']);
});

test('xattr: trusted.* is root only and hidden from others; security.* is writable by root only', () => {
  const m = fs();
  const { ino } = mkfile(m, ROOT, 'f', '', c);
  throwsErrno(() => m.setxattr(c, ino, 'trusted.t', Buffer.from('1'), 0, 0), Errno.EPERM);
  m.setxattr(rootCtx, ino, 'trusted.t', Buffer.from('1'), 0, 0);
  throwsErrno(() => m.getxattr(c, ino, 'trusted.t', 10), Errno.ENODATA);
  throwsErrno(() => m.removexattr(c, ino, 'trusted.t'), Errno.EPERM);
  assert.equal(Buffer.from(m.getxattr(rootCtx, ino, 'trusted.t', 10)).toString(), '1');
  throwsErrno(() => m.setxattr(c, ino, 'security.s', Buffer.from('1'), 0, 0), Errno.EPERM);
  m.setxattr(rootCtx, ino, 'security.s', Buffer.from('2'), 0, 0);
  assert.equal(Buffer.from(m.getxattr(c, ino, 'security.s', 10)).toString(), '2');
  m.setxattr(c, ino, 'user.u', Buffer.from('3'), 0, 0);
  assert.deepEqual(m.listxattr(c, ino, 0), ['security.s', 'user.u']);
  assert.deepEqual(m.listxattr(rootCtx, ino, 0), ['trusted.t', 'security.s', 'user.u']);
  m.removexattr(rootCtx, ino, 'trusted.t');
  assert.deepEqual(m.listxattr(rootCtx, ino, 0), ['security.s', 'user.u']);
});

test('xattr: user.* needs read permission to read, write permission to write; sticky directories', () => {
  const m = fs();
  const { ino } = mkfile(m, ROOT, 'f', '', c); // 0644, owned by 1000
  m.setxattr(c, ino, 'user.a', Buffer.from('1'), 0, 0);
  const other = ctx(2000, 2000);
  assert.equal(m.getxattr(other, ino, 'user.a', 10).length, 1);
  throwsErrno(() => m.setxattr(other, ino, 'user.a', Buffer.from('2'), 0, 0), Errno.EACCES);
  throwsErrno(() => m.removexattr(other, ino, 'user.a'), Errno.EACCES);
  m.setattr(c, ino, { valid: 1, mode: 0o600 });
  throwsErrno(() => m.getxattr(other, ino, 'user.a', 10), Errno.EACCES);
  assert.equal(m.getxattr(rootCtx, ino, 'user.a', 10).length, 1, 'root reads regardless');
  const tmp = m.mkdir(rootCtx, ROOT, 'tmp', 0o1777, 0).nodeid;
  throwsErrno(() => m.setxattr(c, tmp, 'user.a', Buffer.from('1'), 0, 0), Errno.EPERM);
  m.setxattr(rootCtx, tmp, 'user.a', Buffer.from('1'), 0, 0);
});

test('xattr names with bytes that are not UTF-8 round-trip through listxattr', () => {
  const m = fs();
  const { ino } = mkfile(m, ROOT, 'f', '', c);
  const name = 'user.\udcff\udcfe\u00e9';
  m.setxattr(c, ino, name, Buffer.from([1, 2, 3]), 0, 0);
  assert.deepEqual(m.listxattr(c, ino, 0), [name]);
  assert.deepEqual([...m.getxattr(c, ino, name, 10)], [1, 2, 3]);
  throwsErrno(() => m.getxattr(c, ino, 'user.\udcff\udcfe', 10), Errno.ENODATA);
});

// ---- access ------------------------------------------------------------------------------------

test('access: the owner, group or other bits of the caller; F_OK is existence', () => {
  const m = fs();
  const { ino } = mkfile(m, ROOT, 'f', '', ctx(1000, 100));
  m.setattr(c, ino, { valid: 1, mode: 0o640 });
  m.access(ctx(1000, 100), ino, 0);
  m.access(ctx(1000, 100), ino, 4 | 2);
  throwsErrno(() => m.access(ctx(1000, 100), ino, 1), Errno.EACCES);
  m.access(ctx(2000, 100), ino, 4);
  throwsErrno(() => m.access(ctx(2000, 100), ino, 2), Errno.EACCES);
  throwsErrno(() => m.access(ctx(2000, 200), ino, 4), Errno.EACCES);
  m.access(ctx(2000, 200), ino, 0);
  // The owner's bits apply to the owner even when the group's would allow more.
  m.setattr(c, ino, { valid: 1, mode: 0o070 });
  throwsErrno(() => m.access(ctx(1000, 100), ino, 4), Errno.EACCES);
  m.access(ctx(2000, 100), ino, 7);
  throwsErrno(() => m.access(c, ino, 8), Errno.EINVAL);
  throwsErrno(() => m.access(c, 9999, 0), Errno.ENOENT);
});

test('access: root passes read and write always, execute only with an x bit (directories always)', () => {
  const m = fs();
  const { ino } = mkfile(m, ROOT, 'f', '', c);
  m.setattr(c, ino, { valid: 1, mode: 0o000 });
  m.access(rootCtx, ino, 4 | 2);
  throwsErrno(() => m.access(rootCtx, ino, 1), Errno.EACCES);
  m.setattr(c, ino, { valid: 1, mode: 0o010 });
  m.access(rootCtx, ino, 7);
  const d = m.mkdir(c, ROOT, 'd', 0o000, 0).nodeid;
  m.access(rootCtx, d, 7);
  throwsErrno(() => m.access(c, d, 1), Errno.EACCES);
});

// ---- POSIX locks -------------------------------------------------------------------------------

const A = 0xa, B = 0xb, Cown = 0xc;
const lk = (start: number, end: number, type: number, pid = 0): FileLock => ({ start, end, type, pid });

test('getlk: no lock is F_UNLCK; another owner sees the conflicting lock with its pid, the holder does not', () => {
  const m = fs();
  const { ino, fh } = mkfile(m, ROOT, 'f');
  assert.equal(m.getlk(c, ino, fh, A, lk(0, EOF, F_WRLCK)).type, F_UNLCK);
  m.setlk(c, ino, fh, A, lk(0, 99, F_WRLCK, 111), false);
  assert.deepEqual(m.getlk(c, ino, fh, B, lk(50, 60, F_RDLCK)), lk(0, 99, F_WRLCK, 111));
  assert.deepEqual(m.getlk(c, ino, fh, B, lk(100, EOF, F_WRLCK)), lk(100, EOF, F_UNLCK));
  assert.equal(m.getlk(c, ino, fh, A, lk(0, 10, F_WRLCK)).type, F_UNLCK, 'own locks never conflict');
  throwsErrno(() => m.getlk(c, ino, fh, B, lk(10, 5, F_RDLCK)), Errno.EINVAL);
  throwsErrno(() => m.getlk(c, ino, fh, B, lk(0, 5, 7)), Errno.EINVAL);
});

test('setlk: read locks share, write locks exclude (EAGAIN without sleep)', () => {
  const m = fs();
  const { ino, fh } = mkfile(m, ROOT, 'f');
  m.setlk(c, ino, fh, A, lk(0, EOF, F_RDLCK), false);
  m.setlk(c, ino, fh, B, lk(0, EOF, F_RDLCK), false);
  throwsErrno(() => m.setlk(c, ino, fh, Cown, lk(10, 20, F_WRLCK), false), Errno.EAGAIN);
  // A cannot upgrade while B reads; after B unlocks it can.
  throwsErrno(() => m.setlk(c, ino, fh, A, lk(0, EOF, F_WRLCK), false), Errno.EAGAIN);
  m.setlk(c, ino, fh, B, lk(0, EOF, F_UNLCK), false);
  m.setlk(c, ino, fh, A, lk(0, EOF, F_WRLCK), false);
  throwsErrno(() => m.setlk(c, ino, fh, B, lk(5, 5, F_RDLCK), false), Errno.EAGAIN);
  // Unlocking what one does not hold is fine.
  m.setlk(c, ino, fh, B, lk(0, EOF, F_UNLCK), false);
});

test('setlk: unlocking the middle splits a lock; adjacent locks of one type merge', () => {
  const m = fs();
  const { ino, fh } = mkfile(m, ROOT, 'f');
  m.setlk(c, ino, fh, A, lk(0, 99, F_WRLCK), false);
  m.setlk(c, ino, fh, A, lk(40, 59, F_UNLCK), false);
  m.setlk(c, ino, fh, B, lk(40, 59, F_WRLCK), false);
  throwsErrno(() => m.setlk(c, ino, fh, B, lk(39, 40, F_WRLCK), false), Errno.EAGAIN);
  assert.deepEqual(m.getlk(c, ino, fh, Cown, lk(60, 200, F_RDLCK)), lk(60, 99, F_WRLCK));
  assert.deepEqual(m.getlk(c, ino, fh, Cown, lk(0, 0, F_RDLCK)), lk(0, 39, F_WRLCK));
  // A read lock in the middle of A's write lock: three locks, the middle one shared.
  m.setlk(c, ino, fh, A, lk(200, 299, F_WRLCK), false);
  m.setlk(c, ino, fh, A, lk(240, 259, F_RDLCK), false);
  m.setlk(c, ino, fh, Cown, lk(245, 250, F_RDLCK), false);
  throwsErrno(() => m.setlk(c, ino, fh, Cown, lk(230, 245, F_RDLCK), false), Errno.EAGAIN);
  // Adjacent and overlapping ranges of one type merge into one lock.
  m.setlk(c, ino, fh, B, lk(1000, 1009, F_RDLCK), false);
  m.setlk(c, ino, fh, B, lk(1010, 1019, F_RDLCK), false);
  m.setlk(c, ino, fh, B, lk(1015, 1029, F_RDLCK), false);
  assert.deepEqual(m.getlk(c, ino, fh, Cown, lk(1000, 1000, F_WRLCK)), lk(1000, 1029, F_RDLCK));
});

test('setlk with sleep waits for the conflicting lock to go, then holds it', async () => {
  const m = fs();
  const { ino, fh } = mkfile(m, ROOT, 'f');
  m.setlk(c, ino, fh, A, lk(0, EOF, F_WRLCK, 1), false);
  const waiting = m.setlk(c, ino, fh, B, lk(10, 20, F_WRLCK, 2), true);
  assert.ok(waiting instanceof Promise);
  assert.equal(await state(waiting), 'pending');
  m.setlk(c, ino, fh, A, lk(0, 9, F_UNLCK), false);
  assert.equal(await state(waiting), 'pending', 'still blocked by [21, EOF]... and [10, 20]');
  m.setlk(c, ino, fh, A, lk(10, 30, F_UNLCK), false);
  assert.equal(await state(waiting), 'resolved');
  assert.deepEqual(m.getlk(c, ino, fh, A, lk(0, EOF, F_WRLCK)), lk(10, 20, F_WRLCK, 2));
  // A lock that is free at once is granted without waiting, even with sleep.
  assert.equal(m.setlk(c, ino, fh, Cown, lk(0, 5, F_RDLCK), true), undefined);
});

test('setlk with sleep gives up with EINTR when the request is interrupted', async () => {
  const m = fs();
  const { ino, fh } = mkfile(m, ROOT, 'f');
  m.setlk(c, ino, fh, A, lk(0, 0, F_WRLCK), false);
  const ac = new AbortController();
  const waiting = m.setlk(ctx(1000, 1000, ac.signal), ino, fh, B, lk(0, 0, F_RDLCK), true);
  assert.equal(await state(waiting as Promise<void>), 'pending');
  ac.abort();
  await rejectsErrno(waiting, Errno.EINTR);
  m.setlk(c, ino, fh, A, lk(0, 0, F_UNLCK), false);
  await tick();
  assert.equal(m.getlk(c, ino, fh, Cown, lk(0, 0, F_WRLCK)).type, F_UNLCK, 'the abandoned request took nothing');
  // Already interrupted: no wait at all.
  m.setlk(c, ino, fh, A, lk(0, 0, F_WRLCK), false);
  await rejectsErrno(m.setlk(ctx(1000, 1000, AbortSignal.abort()), ino, fh, B, lk(0, 0, F_RDLCK), true), Errno.EINTR);
});

test('setlk with sleep detects a deadlock between two owners (EDEADLK)', async () => {
  const m = fs();
  const { ino, fh } = mkfile(m, ROOT, 'f');
  const other = mkfile(m, ROOT, 'g');
  m.setlk(c, ino, fh, A, lk(0, 0, F_WRLCK), false);
  m.setlk(c, other.ino, other.fh, B, lk(0, 0, F_WRLCK), false);
  const aWaits = m.setlk(c, other.ino, other.fh, A, lk(0, 0, F_WRLCK), true);
  assert.equal(await state(aWaits as Promise<void>), 'pending');
  throwsErrno(() => m.setlk(c, ino, fh, B, lk(0, 0, F_WRLCK), true), Errno.EDEADLK);
  m.setlk(c, other.ino, other.fh, B, lk(0, 0, F_UNLCK), false);
  assert.equal(await state(aWaits as Promise<void>), 'resolved');
});

test('flush drops the closing owner\'s POSIX locks (and wakes a waiter); release with FLUSH too', async () => {
  const m = fs();
  const { ino, fh } = mkfile(m, ROOT, 'f');
  const fh2 = m.open(c, ino, O_RDWR).fh!;
  m.setlk(c, ino, fh, A, lk(0, EOF, F_WRLCK), false);
  m.setlk(c, ino, fh2, B, lk(0, 0, F_UNLCK), false);
  const waiting = m.setlk(c, ino, fh2, B, lk(0, EOF, F_WRLCK), true);
  m.flush(c, ino, fh, B); // another owner's close changes nothing
  assert.equal(await state(waiting as Promise<void>), 'pending');
  m.flush(c, ino, fh, A);
  assert.equal(await state(waiting as Promise<void>), 'resolved');
  m.release(c, ino, fh, O_RDWR, Release.FLUSH, B);
  assert.equal(m.getlk(c, ino, fh2, A, lk(0, EOF, F_WRLCK)).type, F_UNLCK, 'release with FLUSH dropped B\'s lock');
});

// ---- flock -------------------------------------------------------------------------------------

test('flock: shared locks coexist, an exclusive one excludes; LOCK_NB fails with EWOULDBLOCK', () => {
  const m = fs();
  const { ino, fh } = mkfile(m, ROOT, 'f');
  const fh2 = m.open(c, ino, O_RDWR).fh!;
  const fh3 = m.open(c, ino, O_RDWR).fh!;
  m.flock(c, ino, fh, A, LOCK_SH | LOCK_NB);
  m.flock(c, ino, fh2, B, LOCK_SH | LOCK_NB);
  throwsErrno(() => m.flock(c, ino, fh3, Cown, LOCK_EX | LOCK_NB), Errno.EWOULDBLOCK);
  assert.equal(Errno.EWOULDBLOCK, Errno.EAGAIN);
  m.flock(c, ino, fh2, B, LOCK_UN);
  // A alone may upgrade; then nobody else gets anything.
  m.flock(c, ino, fh, A, LOCK_EX | LOCK_NB);
  throwsErrno(() => m.flock(c, ino, fh2, B, LOCK_SH | LOCK_NB), Errno.EWOULDBLOCK);
  m.flock(c, ino, fh, A, LOCK_EX | LOCK_NB); // again: no change
  m.flock(c, ino, fh, A, LOCK_SH | LOCK_NB); // downgrade
  m.flock(c, ino, fh2, B, LOCK_SH | LOCK_NB);
  throwsErrno(() => m.flock(c, ino, fh, A, LOCK_SH | LOCK_EX), Errno.EINVAL);
  throwsErrno(() => m.flock(c, ino, fh, A, 0), Errno.EINVAL);
  // flock and POSIX locks do not see each other.
  m.setlk(c, ino, fh3, Cown, lk(0, EOF, F_WRLCK), false);
});

test('flock: a blocking request waits for LOCK_UN, for the holder\'s release, and gives up on interrupt', async () => {
  const m = fs();
  const { ino, fh } = mkfile(m, ROOT, 'f');
  const fh2 = m.open(c, ino, O_RDWR).fh!;
  const fh3 = m.open(c, ino, O_RDWR).fh!;
  m.flock(c, ino, fh, A, LOCK_EX);
  const w = m.flock(c, ino, fh2, B, LOCK_SH);
  assert.equal(await state(w as Promise<void>), 'pending');
  m.flock(c, ino, fh, A, LOCK_UN);
  assert.equal(await state(w as Promise<void>), 'resolved');
  // B holds it shared; an exclusive request waits until B's file is released.
  const w2 = m.flock(c, ino, fh3, Cown, LOCK_EX);
  assert.equal(await state(w2 as Promise<void>), 'pending');
  m.release(c, ino, fh2, O_RDWR, 0, 0);
  assert.equal(await state(w2 as Promise<void>), 'resolved');
  // Interrupted while waiting.
  const ac = new AbortController();
  const w3 = m.flock(ctx(1000, 1000, ac.signal), ino, fh, A, LOCK_SH);
  assert.equal(await state(w3 as Promise<void>), 'pending');
  ac.abort();
  await rejectsErrno(w3, Errno.EINTR);
  // FLOCK_UNLOCK on release names the owner whose locks go.
  m.release(c, ino, fh, O_RDWR, Release.FLOCK_UNLOCK, Cown);
  m.flock(c, ino, m.open(c, ino, O_RDWR).fh!, B, LOCK_EX | LOCK_NB);
});

test('flock: converting is not atomic — the old lock is gone even when the new one must wait', () => {
  const m = fs();
  const { ino, fh } = mkfile(m, ROOT, 'f');
  const fh2 = m.open(c, ino, O_RDWR).fh!;
  const fh3 = m.open(c, ino, O_RDWR).fh!;
  m.flock(c, ino, fh, A, LOCK_SH);
  m.flock(c, ino, fh2, B, LOCK_SH);
  throwsErrno(() => m.flock(c, ino, fh, A, LOCK_EX | LOCK_NB), Errno.EWOULDBLOCK);
  m.flock(c, ino, fh2, B, LOCK_UN);
  m.flock(c, ino, fh3, Cown, LOCK_EX | LOCK_NB); // A's shared lock went with the failed upgrade
});

// ---- fallocate ---------------------------------------------------------------------------------

test('fallocate mode 0 allocates and extends; KEEP_SIZE allocates past the end without growing', () => {
  const m = fs();
  const { ino, fh } = mkfile(m, ROOT, 'f');
  m.fallocate(c, ino, fh, 0, 1 << 20, 0);
  let a = attr(m, ino);
  assert.equal(a.size, 1 << 20);
  assert.equal(a.blocks, (1 << 20) / 512);
  assert.equal(m.bytesUsed(), 1 << 20);
  assert.ok(readAll(m, ino, fh).every((b) => b === 0));
  m.fallocate(c, ino, fh, 1 << 20, 1 << 20, KEEP_SIZE);
  a = attr(m, ino);
  assert.equal(a.size, 1 << 20, 'KEEP_SIZE keeps the size');
  assert.equal(a.blocks, (2 << 20) / 512, 'blocks past the end count');
  // Writing into the preallocated region needs no more space.
  const used = m.bytesUsed();
  m.write(c, ino, fh, (1 << 20) + 5, Buffer.from('x'), 0, O_RDWR);
  assert.equal(m.bytesUsed(), used);
  assert.equal(attr(m, ino).size, (1 << 20) + 6);
  // A small allocation inside the file changes neither size nor data.
  m.fallocate(c, ino, fh, 100, 10, 0);
  assert.equal(attr(m, ino).size, (1 << 20) + 6);
  throwsErrno(() => m.fallocate(c, ino, fh, 0, 0, 0), Errno.EINVAL);
  throwsErrno(() => m.fallocate(c, ino, fh, -1, 10, 0), Errno.EINVAL);
  throwsErrno(() => m.fallocate(c, ino, fh, Number.MAX_SAFE_INTEGER, 10, 0), Errno.EFBIG);
  const d = m.opendir(c, ROOT, 0).fh!;
  throwsErrno(() => m.fallocate(c, ROOT, d, 0, 10, 0), Errno.EISDIR);
});

test('fallocate PUNCH_HOLE|KEEP_SIZE zeros the range and frees the chunks it covers', () => {
  const m = fs();
  const { ino, fh } = mkfile(m, ROOT, 'f', Buffer.alloc(8 * CHUNK, 0xab));
  assert.equal(attr(m, ino).blocks, 8 * CHUNK / 512);
  // From the middle of chunk 1 to the middle of chunk 5: chunks 2-4 go, 1 and 5 are zeroed in part.
  const from = CHUNK + CHUNK / 2, to = 5 * CHUNK + 100;
  m.fallocate(c, ino, fh, from, to - from, PUNCH_HOLE | KEEP_SIZE);
  const a = attr(m, ino);
  assert.equal(a.size, 8 * CHUNK, 'punching keeps the size');
  // Chunks 2-4 are freed; chunk 1's buffer shrinks to the half before the hole.
  assert.equal(a.blocks, 4.5 * CHUNK / 512, 'three and a half chunks freed');
  assert.equal(m.bytesUsed(), 4.5 * CHUNK);
  const data = readAll(m, ino, fh);
  assert.ok(data.subarray(0, from).every((b) => b === 0xab));
  assert.ok(data.subarray(from, to).every((b) => b === 0));
  assert.ok(data.subarray(to).every((b) => b === 0xab));
  // Punching the tail of the file's last buffer shrinks it.
  const small = mkfile(m, ROOT, 'small', Buffer.alloc(3000, 1));
  assert.equal(attr(m, small.ino).blocks, 8); // 4096-byte buffer
  m.fallocate(c, small.ino, small.fh, 100, 10_000, PUNCH_HOLE | KEEP_SIZE);
  assert.equal(attr(m, small.ino).blocks, 1);
  assert.equal(attr(m, small.ino).size, 3000);
  const s = readAll(m, small.ino, small.fh);
  assert.ok(s.subarray(0, 100).every((b) => b === 1) && s.subarray(100).every((b) => b === 0));
  // Punching past the end and over holes is harmless.
  m.fallocate(c, ino, fh, 100 * CHUNK, CHUNK, PUNCH_HOLE | KEEP_SIZE);
  assert.equal(attr(m, ino).size, 8 * CHUNK);
});

test('fallocate ZERO_RANGE zeros and keeps the range allocated; unsupported modes are EOPNOTSUPP', () => {
  const m = fs();
  const { ino, fh } = mkfile(m, ROOT, 'f', Buffer.alloc(2 * CHUNK, 7));
  m.fallocate(c, ino, fh, 10, CHUNK, ZERO_RANGE);
  let data = readAll(m, ino, fh);
  assert.ok(data.subarray(0, 10).every((b) => b === 7));
  assert.ok(data.subarray(10, CHUNK + 10).every((b) => b === 0));
  assert.ok(data.subarray(CHUNK + 10).every((b) => b === 7));
  assert.equal(attr(m, ino).blocks, 2 * CHUNK / 512, 'zeroed, not freed');
  m.fallocate(c, ino, fh, 2 * CHUNK - 10, 100, ZERO_RANGE);
  assert.equal(attr(m, ino).size, 2 * CHUNK + 90, 'ZERO_RANGE extends the size');
  m.fallocate(c, ino, fh, 3 * CHUNK, 100, ZERO_RANGE | KEEP_SIZE);
  assert.equal(attr(m, ino).size, 2 * CHUNK + 90, 'unless KEEP_SIZE');
  data = readAll(m, ino, fh);
  assert.ok(data.subarray(2 * CHUNK - 10).every((b) => b === 0));
  for (const mode of [PUNCH_HOLE, 0x08, 0x20, 0x40, 0x08 | KEEP_SIZE, 0x80]) {
    throwsErrno(() => m.fallocate(c, ino, fh, 0, 10, mode), Errno.EOPNOTSUPP, `mode 0x${mode.toString(16)}`);
  }
});

test('fallocate past the size limit is ENOSPC and changes nothing', () => {
  const m = fs({ sizeLimit: 4 * CHUNK });
  const { ino, fh } = mkfile(m, ROOT, 'f', 'abc');
  const before = attr(m, ino);
  throwsErrno(() => m.fallocate(c, ino, fh, 0, 5 * CHUNK, 0), Errno.ENOSPC);
  throwsErrno(() => m.fallocate(c, ino, fh, 0, 5 * CHUNK, ZERO_RANGE), Errno.ENOSPC);
  const after = attr(m, ino);
  assert.equal(after.size, before.size);
  assert.equal(after.blocks, before.blocks);
  assert.equal(m.bytesUsed(), before.blocks! * 512);
  assert.equal(readAll(m, ino, fh).toString(), 'abc');
  m.fallocate(c, ino, fh, 0, 4 * CHUNK, 0);
  assert.equal(m.bytesUsed(), 4 * CHUNK);
  m.fallocate(c, ino, fh, 0, 4 * CHUNK, PUNCH_HOLE | KEEP_SIZE);
  assert.equal(m.bytesUsed(), 0, 'punching gives the space back');
});

test('fallocate without a size limit refuses more than the free memory', () => {
  const m = fs();
  const { ino, fh } = mkfile(m, ROOT, 'f');
  throwsErrno(() => m.fallocate(c, ino, fh, 0, 2 ** 52, 0), Errno.ENOSPC);
  assert.equal(attr(m, ino).size, 0);
});

// ---- SEEK_DATA / SEEK_HOLE ---------------------------------------------------------------------

test('lseek SEEK_DATA / SEEK_HOLE follow the chunk map; ENXIO at and past the end', () => {
  const m = fs();
  const { ino, fh } = mkfile(m, ROOT, 'f');
  m.write(c, ino, fh, 0, Buffer.alloc(2 * CHUNK, 1), 0, O_RDWR); // chunks 0, 1
  m.write(c, ino, fh, 5 * CHUNK + 10, Buffer.from('x'), 0, O_RDWR); // a 512-byte buffer in chunk 5
  m.setattr(c, ino, { valid: 8, size: 10 * CHUNK }); // a trailing hole
  assert.equal(m.lseek(c, ino, fh, 0, SEEK_DATA), 0);
  assert.equal(m.lseek(c, ino, fh, 100, SEEK_DATA), 100);
  assert.equal(m.lseek(c, ino, fh, 0, SEEK_HOLE), 2 * CHUNK, 'contiguous chunks are one data region');
  assert.equal(m.lseek(c, ino, fh, 2 * CHUNK, SEEK_HOLE), 2 * CHUNK);
  assert.equal(m.lseek(c, ino, fh, 2 * CHUNK, SEEK_DATA), 5 * CHUNK);
  assert.equal(m.lseek(c, ino, fh, 5 * CHUNK + 3, SEEK_HOLE), 5 * CHUNK + 512);
  throwsErrno(() => m.lseek(c, ino, fh, 5 * CHUNK + 512, SEEK_DATA), Errno.ENXIO, 'only a hole is left');
  assert.equal(m.lseek(c, ino, fh, 9 * CHUNK, SEEK_HOLE), 9 * CHUNK);
  throwsErrno(() => m.lseek(c, ino, fh, 10 * CHUNK, SEEK_DATA), Errno.ENXIO);
  throwsErrno(() => m.lseek(c, ino, fh, 10 * CHUNK, SEEK_HOLE), Errno.ENXIO);
  throwsErrno(() => m.lseek(c, ino, fh, 0, 5), Errno.EINVAL);
  // A fully written file: its only hole is the virtual one at the end.
  const full = mkfile(m, ROOT, 'full', Buffer.alloc(3 * CHUNK + 5, 2));
  assert.equal(m.lseek(c, full.ino, full.fh, 0, SEEK_HOLE), 3 * CHUNK + 5);
  assert.equal(m.lseek(c, full.ino, full.fh, 3 * CHUNK + 4, SEEK_DATA), 3 * CHUNK + 4);
  // Preallocation past the end is not data.
  const pre = mkfile(m, ROOT, 'pre', 'abc');
  m.fallocate(c, pre.ino, pre.fh, 4 * CHUNK, CHUNK, KEEP_SIZE);
  m.setattr(c, pre.ino, { valid: 8, size: 2 * CHUNK });
  throwsErrno(() => m.lseek(c, pre.ino, pre.fh, 1000, SEEK_DATA), Errno.ENXIO);
  // An empty file has no data and no hole.
  const empty = mkfile(m, ROOT, 'empty');
  throwsErrno(() => m.lseek(c, empty.ino, empty.fh, 0, SEEK_DATA), Errno.ENXIO);
  throwsErrno(() => m.lseek(c, empty.ino, empty.fh, 0, SEEK_HOLE), Errno.ENXIO);
});

// ---- copy_file_range ---------------------------------------------------------------------------

test('copy_file_range copies through the chunk store, stops at the end of the source', () => {
  const m = fs();
  const src = mkfile(m, ROOT, 'src', 'hello, copy_file_range');
  const dst = mkfile(m, ROOT, 'dst', 'XXXXXXXXXX');
  assert.equal(m.copyFileRange(c, src.ino, src.fh, 7, dst.ino, dst.fh, 2, 4, 0), 4);
  assert.equal(readAll(m, dst.ino, dst.fh).toString(), 'XXcopyXXXX');
  assert.equal(m.copyFileRange(c, src.ino, src.fh, 7, dst.ino, dst.fh, 20, 1000, 0), 15, 'short at the end of the source');
  assert.equal(attr(m, dst.ino).size, 35);
  assert.equal(readAll(m, dst.ino, dst.fh, 20).toString(), 'copy_file_range');
  assert.ok(readAll(m, dst.ino, dst.fh, 10, 10).every((b) => b === 0));
  assert.equal(m.copyFileRange(c, src.ino, src.fh, 22, dst.ino, dst.fh, 0, 10, 0), 0, 'at the end: nothing');
  assert.equal(m.copyFileRange(c, src.ino, src.fh, 500, dst.ino, dst.fh, 0, 10, 0), 0);
  throwsErrno(() => m.copyFileRange(c, src.ino, src.fh, 0, dst.ino, dst.fh, 0, 10, 1), Errno.EINVAL);
  throwsErrno(() => m.copyFileRange(c, src.ino, dst.fh, 0, dst.ino, dst.fh, 0, 10, 0), Errno.EBADF);
});

test('copy_file_range keeps holes as holes and zeros what they cover in the destination', () => {
  const m = fs();
  const src = mkfile(m, ROOT, 'src');
  m.write(c, src.ino, src.fh, 0, Buffer.alloc(100, 1), 0, O_RDWR);
  m.write(c, src.ino, src.fh, 10 * CHUNK, Buffer.alloc(100, 2), 0, O_RDWR);
  const dst = mkfile(m, ROOT, 'dst', Buffer.alloc(4 * CHUNK, 9));
  const n = m.copyFileRange(c, src.ino, src.fh, 0, dst.ino, dst.fh, 0, 20 * CHUNK, 0);
  assert.equal(n, 10 * CHUNK + 100);
  const a = attr(m, dst.ino);
  assert.equal(a.size, 10 * CHUNK + 100);
  assert.ok(a.blocks! * 512 <= 2 * 512 + 512, `the hole was not allocated (${a.blocks} blocks)`);
  const data = readAll(m, dst.ino, dst.fh, 0, 11 * CHUNK);
  assert.ok(data.subarray(0, 100).every((b) => b === 1));
  assert.ok(data.subarray(100, 10 * CHUNK).every((b) => b === 0), 'the old 9s under the hole are gone');
  assert.ok(data.subarray(10 * CHUNK).every((b) => b === 2));
});

test('copy_file_range within one file: overlapping ranges are EINVAL, others work', () => {
  const m = fs();
  const f = mkfile(m, ROOT, 'f', '0123456789');
  throwsErrno(() => m.copyFileRange(c, f.ino, f.fh, 0, f.ino, f.fh, 5, 6, 0), Errno.EINVAL);
  assert.equal(m.copyFileRange(c, f.ino, f.fh, 0, f.ino, f.fh, 5, 5, 0), 5);
  assert.equal(readAll(m, f.ino, f.fh).toString(), '0123401234');
  // Clamped to the end of the file first, as the kernel does: [8, 10) and [0, 2) do not overlap.
  assert.equal(m.copyFileRange(c, f.ino, f.fh, 8, f.ino, f.fh, 0, 100, 0), 2);
  assert.equal(readAll(m, f.ino, f.fh).toString(), '3423401234');
});

test('copy_file_range respects the size limit: short when part fits, ENOSPC when nothing does', () => {
  const m = fs({ sizeLimit: 4 * CHUNK });
  const src = mkfile(m, ROOT, 'src', Buffer.alloc(2 * CHUNK, 5));
  const dst = mkfile(m, ROOT, 'dst');
  assert.equal(m.copyFileRange(c, src.ino, src.fh, 0, dst.ino, dst.fh, 0, 2 * CHUNK, 0), 2 * CHUNK);
  const dst2 = mkfile(m, ROOT, 'dst2');
  throwsErrno(() => m.copyFileRange(c, src.ino, src.fh, 0, dst2.ino, dst2.fh, 0, 2 * CHUNK, 0), Errno.ENOSPC);
  assert.equal(attr(m, dst2.ino).size, 0);
  m.setattr(c, dst.ino, { valid: 8, size: CHUNK });
  assert.equal(m.copyFileRange(c, src.ino, src.fh, 0, dst2.ino, dst2.fh, 0, 2 * CHUNK, 0), CHUNK, 'one chunk fits');
  assert.equal(attr(m, dst2.ino).size, CHUNK);
});

// ---- O_TMPFILE ---------------------------------------------------------------------------------

test('tmpfile: an open file with no name, nlink 0, freed after release and forget', () => {
  const m = fs();
  const before = m.inodeCount();
  const d = m.mkdir(c, ROOT, 'd', 0o2775, 0);
  const t = m.tmpfile(ctx(1000, 50), d.nodeid, 0o666, 0o022, O_RDWR);
  assert.equal(t.attr.nlink, 0);
  assert.equal(t.attr.mode, S_IFREG | 0o644);
  assert.equal(t.attr.gid, 1000, 'a set-gid directory passes its group on');
  m.write(c, t.nodeid, t.fh!, 0, Buffer.from('scratch'), 0, O_RDWR);
  assert.equal(readAll(m, t.nodeid, t.fh!).toString(), 'scratch');
  assert.deepEqual(ls(m, d.nodeid), []);
  m.release(c, t.nodeid, t.fh!, O_RDWR, 0, 0);
  m.forget(t.nodeid, 1);
  assert.equal(m.inodeCount(), before + 1, 'only the directory is left');
});

test('tmpfile: linkat gives it a name unless it was made with O_EXCL', () => {
  const m = fs();
  const t = m.tmpfile(c, ROOT, 0o600, 0, O_RDWR);
  m.write(c, t.nodeid, t.fh!, 0, Buffer.from('keep me'), 0, O_RDWR);
  const e = m.link(c, t.nodeid, ROOT, 'kept');
  assert.equal(e.attr.nlink, 1);
  m.release(c, t.nodeid, t.fh!, O_RDWR, 0, 0);
  const fh = m.open(c, m.lookup(c, ROOT, 'kept').nodeid, O_RDWR).fh!;
  assert.equal(readAll(m, t.nodeid, fh).toString(), 'keep me');
  const x = m.tmpfile(c, ROOT, 0o600, 0, O_RDWR | O_EXCL);
  throwsErrno(() => m.link(c, x.nodeid, ROOT, 'never'), Errno.ENOENT);
  const removed = m.mkdir(c, ROOT, 'gone', 0o755, 0).nodeid;
  m.rmdir(c, ROOT, 'gone');
  throwsErrno(() => m.tmpfile(c, removed, 0o600, 0, O_RDWR), Errno.ENOENT);
  throwsErrno(() => m.tmpfile(c, t.nodeid, 0o600, 0, O_RDWR), Errno.ENOTDIR);
});

// ---- statx, poll, syncs -------------------------------------------------------------------------

test('statx: basic stats plus a birth time that later changes do not move', async () => {
  const m = fs();
  const { ino, fh } = mkfile(m, ROOT, 'f');
  const s0 = m.statx(c, ino, fh, 0, 0xfff);
  assert.equal(s0.attr.mask & 0x7ff, 0x7ff, 'STATX_BASIC_STATS');
  assert.ok(s0.attr.mask & 0x800, 'STATX_BTIME');
  const a = attr(m, ino);
  for (const k of ['ino', 'mode', 'nlink', 'uid', 'gid', 'size', 'blocks', 'blksize', 'mtime', 'mtimensec', 'ctime', 'ctimensec'] as const) {
    assert.equal(s0.attr[k], a[k], k);
  }
  assert.equal(s0.attr.btime, a.ctime);
  assert.equal(s0.attr.btimensec, a.ctimensec);
  await new Promise((r) => setTimeout(r, 2));
  m.write(c, ino, fh, 0, Buffer.from('later'), 0, O_RDWR);
  const s1 = m.statx(c, ino, undefined, 0, 0xfff).attr;
  assert.ok(ns(s1.mtime, s1.mtimensec) > ns(s0.attr.mtime, s0.attr.mtimensec));
  assert.equal(s1.btime, s0.attr.btime);
  assert.equal(s1.btimensec, s0.attr.btimensec);
  assert.equal(s1.size, 5);
  assert.equal(m.statx(c, ROOT, undefined, 0, 0x7ff).attr.mode & S_IFMT, S_IFDIR);
  throwsErrno(() => m.statx(c, 4242, undefined, 0, 0x7ff), Errno.ENOENT);
});

test('poll: always readable and writable; syncfs and fsyncdir succeed', () => {
  const m = fs();
  const { ino, fh } = mkfile(m, ROOT, 'f');
  assert.equal(m.poll(c, ino, fh, undefined, POLLIN | POLLOUT | POLLPRI), POLLIN | POLLOUT);
  assert.equal(m.poll(c, ino, fh, 7, POLLIN), POLLIN);
  assert.equal(m.poll(c, ino, fh, undefined, POLLPRI), 0);
  throwsErrno(() => m.poll(c, ino, 999, undefined, POLLIN), Errno.EBADF);
  m.syncfs(c, ROOT);
  const d = m.opendir(c, ROOT, 0).fh!;
  m.fsyncdir(c, ROOT, d, false);
  m.fsyncdir(c, ROOT, d, true);
  throwsErrno(() => m.fsyncdir(c, ROOT, d + 100, false), Errno.EBADF);
});

test('bmap and ioctl are not implemented (ENOSYS from the session)', () => {
  const m = fs() as MemFs & { bmap?: unknown; ioctl?: unknown };
  assert.equal(m.bmap, undefined);
  assert.equal(m.ioctl, undefined);
});

test('the new operations answer with plain values, except lock requests that wait', () => {
  const m = fs();
  const results: unknown[] = [];
  const r = <T>(v: T): T => { results.push(v); return v; };
  const f = r(m.create(c, ROOT, 'f', 0o644, 0, O_RDWR));
  r(m.symlink(c, ROOT, 'l', 'f'));
  r(m.readlink(c, m.lookup(c, ROOT, 'l').nodeid));
  r(m.mknod(c, ROOT, 'p', S_IFIFO | 0o644, 0, 0));
  r(m.link(c, f.nodeid, ROOT, 'f2'));
  r(m.setxattr(c, f.nodeid, 'user.a', Buffer.from('1'), 0, 0));
  r(m.getxattr(c, f.nodeid, 'user.a', 10));
  r(m.listxattr(c, f.nodeid, 100));
  r(m.removexattr(c, f.nodeid, 'user.a'));
  r(m.access(c, f.nodeid, 4));
  r(m.getlk(c, f.nodeid, f.fh!, A, lk(0, EOF, F_WRLCK)));
  r(m.setlk(c, f.nodeid, f.fh!, A, lk(0, EOF, F_WRLCK), true));
  r(m.flock(c, f.nodeid, f.fh!, A, LOCK_EX));
  r(m.fallocate(c, f.nodeid, f.fh!, 0, 100, 0));
  r(m.lseek(c, f.nodeid, f.fh!, 0, SEEK_DATA));
  r(m.copyFileRange(c, f.nodeid, f.fh!, 0, f.nodeid, f.fh!, 100, 50, 0));
  r(m.tmpfile(c, ROOT, 0o600, 0, O_RDWR));
  r(m.statx(c, f.nodeid, undefined, 0, 0x7ff));
  r(m.syncfs(c, ROOT));
  r(m.poll(c, f.nodeid, f.fh!, undefined, POLLIN));
  for (const v of results) assert.ok(!(v instanceof Promise));
});
