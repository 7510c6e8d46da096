// memfs, driven directly through its Filesystem methods (no kernel): the behaviour a mounted
// memfs must show, pinned one rule at a time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemFs, type MemFsOptions } from '../../src/fs/memfs/index.js';
import { CHUNK } from '../../src/fs/memfs/filedata.js';
import { Errno } from '../../src/errors.js';
import type { RequestContext } from '../../src/filesystem.js';
import { Dirents, DirentsPlus } from './dirents.js';
import { assertMissing, throwsErrno } from '../helpers/errno.js';

const ROOT = 1;
const O_RDWR = 2, O_WRONLY = 1, O_EXCL = 0o200, O_TRUNC = 0o1000, O_APPEND = 0o2000;
const S_IFDIR = 0o040000, S_IFREG = 0o100000;
const NOREPLACE = 1, EXCHANGE = 2;
const GiB = 2 ** 30;

function ctx(uid = 1000, gid = 1000): RequestContext {
  return { opcode: 0, unique: 0, nodeid: 0, uid, gid, pid: 1, umask: 0, signal: new AbortController().signal };
}
const c = ctx();

function fs(opts: MemFsOptions = {}): MemFs {
  return new MemFs({ uid: 0, gid: 0, ...opts });
}

/** Creates a file with `content`, returns its nodeid and an open fh. */
function mkfile(m: MemFs, parent: number, name: string, content = '', flags = O_RDWR): { ino: number; fh: number } {
  const r = m.create(c, parent, name, 0o644, 0, flags);
  if (content) m.write(c, r.nodeid, r.fh!, 0, Buffer.from(content), 0, flags);
  return { ino: r.nodeid, fh: r.fh! };
}

function readAll(m: MemFs, ino: number, fh: number, offset = 0, size = 1 << 20): Buffer {
  const out = Buffer.alloc(size, 0xee); // dirty: holes must be written as zeros
  const n = m.read(c, ino, fh, offset, size, out);
  return out.subarray(0, n);
}

function size(m: MemFs, ino: number): number {
  return m.getattr(c, ino, undefined).attr.size!;
}


/** Every name in a directory, read `perPage` entries at a time as getdents would. */
function ls(m: MemFs, dir: number, perPage = 1000): string[] {
  const fh = m.opendir(c, dir, 0).fh!;
  const names: string[] = [];
  for (let off = 0; ;) {
    const w = new Dirents(perPage);
    m.readdir(c, dir, fh, off, w);
    if (w.list.length === 0) break;
    for (const e of w.list) names.push(e.name);
    off = w.list.at(-1)!.off;
  }
  m.releasedir(c, dir, fh, 0);
  return names;
}

test('create, write and read back', () => {
  const m = fs();
  const { ino, fh } = mkfile(m, ROOT, 'a.txt', 'hello, world');
  assert.equal(readAll(m, ino, fh).toString(), 'hello, world');
  assert.equal(readAll(m, ino, fh, 7, 3).toString(), 'wor');
  assert.equal(readAll(m, ino, fh, 12).length, 0, 'read at EOF is empty');
  assert.equal(readAll(m, ino, fh, 100).length, 0, 'read past EOF is empty');
  const a = m.getattr(c, ino, fh).attr;
  assert.equal(a.size, 12);
  assert.equal(a.mode, S_IFREG | 0o644);
  assert.equal(a.nlink, 1);
  assert.equal(a.blksize, 4096);
  assert.equal(a.blocks, 1, 'a small file holds one 512-byte block, not a whole chunk');
  assert.deepEqual(m.lookup(c, ROOT, 'a.txt').attr, a);
});

test('sparse regions read as zeros, even into a dirty buffer', () => {
  const m = fs();
  const { ino, fh } = mkfile(m, ROOT, 'sparse');
  m.write(c, ino, fh, 3 * CHUNK + 10, Buffer.from('x'), 0, O_RDWR);
  const data = readAll(m, ino, fh);
  assert.equal(data.length, 3 * CHUNK + 11);
  assert.ok(data.subarray(0, 3 * CHUNK + 10).every((b) => b === 0));
  assert.equal(data[3 * CHUNK + 10], 0x78);
  assert.ok(m.getattr(c, ino, fh).attr.blocks! <= 1, 'holes allocate nothing');
});

test('a write at 5 GiB makes a huge sparse file that costs one small chunk', () => {
  const m = fs();
  const { ino, fh } = mkfile(m, ROOT, 'big');
  const off = 5 * GiB + 123;
  assert.equal(m.write(c, ino, fh, off, Buffer.from('tail'), 0, O_RDWR), 4);
  assert.equal(size(m, ino), off + 4);
  assert.equal(readAll(m, ino, fh, off, 4).toString(), 'tail');
  assert.ok(readAll(m, ino, fh, 4 * GiB, 4096).every((b) => b === 0));
  assert.ok(m.bytesUsed() <= CHUNK);
  // A read straddling the hole and the data.
  assert.deepEqual([...readAll(m, ino, fh, off - 2, 4)], [0, 0, 0x74, 0x61]);
});

test('a write spanning chunk boundaries reads back intact', () => {
  const m = fs();
  const { ino, fh } = mkfile(m, ROOT, 'span');
  const data = Buffer.alloc(3 * CHUNK + 777);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + 3) & 0xff;
  m.write(c, ino, fh, CHUNK - 5, data, 0, O_RDWR);
  assert.ok(readAll(m, ino, fh, CHUNK - 5, data.length).equals(data));
  assert.ok(readAll(m, ino, fh, 0, CHUNK - 5).every((b) => b === 0));
});

test('truncate shrinks, frees, and a later extension reads zeros', () => {
  const m = fs();
  const { ino, fh } = mkfile(m, ROOT, 't');
  m.write(c, ino, fh, 0, Buffer.alloc(200_000, 0xab), 0, O_RDWR);
  const used = m.bytesUsed();
  m.setattr(c, ino, { valid: 8, size: 70_000 });
  assert.equal(size(m, ino), 70_000);
  assert.ok(m.bytesUsed() < used, 'chunks past the end are freed');
  m.setattr(c, ino, { valid: 8, size: 200_000 });
  const data = readAll(m, ino, fh);
  assert.equal(data.length, 200_000);
  assert.ok(data.subarray(0, 70_000).every((b) => b === 0xab));
  assert.ok(data.subarray(70_000).every((b) => b === 0), 'bytes cut off by truncate do not come back');
  m.setattr(c, ino, { valid: 8, size: 0 });
  assert.equal(m.bytesUsed(), 0);
  // Truncate to a small size within the first chunk, then extend by writing far away.
  m.write(c, ino, fh, 0, Buffer.alloc(CHUNK, 1), 0, O_RDWR);
  m.setattr(c, ino, { valid: 8, size: 10 });
  m.write(c, ino, fh, 3000, Buffer.from('z'), 0, O_RDWR);
  const d2 = readAll(m, ino, fh);
  assert.equal(d2.length, 3001);
  assert.ok(d2.subarray(0, 10).every((b) => b === 1));
  assert.ok(d2.subarray(10, 3000).every((b) => b === 0));
});

test('truncate of a directory is EISDIR', () => {
  const m = fs();
  const d = m.mkdir(c, ROOT, 'd', 0o755, 0).nodeid;
  throwsErrno(() => m.setattr(c, d, { valid: 8, size: 0 }), Errno.EISDIR);
});

test('O_APPEND writes land at the end whatever offset the kernel sent', () => {
  const m = fs();
  const { ino } = mkfile(m, ROOT, 'log', 'first\n');
  const fh = m.open(c, ino, O_WRONLY | O_APPEND).fh!;
  m.write(c, ino, fh, 0, Buffer.from('second\n'), 0, O_WRONLY | O_APPEND);
  m.write(c, ino, fh, 3, Buffer.from('third\n'), 0, O_WRONLY | O_APPEND);
  const rfh = m.open(c, ino, 0).fh!;
  assert.equal(readAll(m, ino, rfh).toString(), 'first\nsecond\nthird\n');
});

test('open with O_TRUNC empties the file; create on an existing name opens it', () => {
  const m = fs();
  const { ino } = mkfile(m, ROOT, 'f', 'contents');
  const again = m.create(c, ROOT, 'f', 0o600, 0, O_RDWR);
  assert.equal(again.nodeid, ino, 'create on an existing name opens that file');
  assert.equal(again.attr.size, 8);
  assert.equal(again.attr.mode, S_IFREG | 0o644, 'the existing mode is kept');
  throwsErrno(() => m.create(c, ROOT, 'f', 0o600, 0, O_RDWR | O_EXCL), Errno.EEXIST);
  assert.equal(m.create(c, ROOT, 'f', 0o600, 0, O_RDWR | O_TRUNC).attr.size, 0);
  m.write(c, ino, again.fh!, 0, Buffer.from('abc'), 0, O_RDWR);
  m.open(c, ino, O_WRONLY | O_TRUNC);
  assert.equal(size(m, ino), 0);
  m.mkdir(c, ROOT, 'd', 0o755, 0);
  throwsErrno(() => m.create(c, ROOT, 'd', 0o644, 0, O_RDWR), Errno.EISDIR);
});

test('an unlinked file stays readable while open, and is freed after release and forget', () => {
  const m = fs();
  const before = m.inodeCount();
  const { ino, fh } = mkfile(m, ROOT, 'gone', 'still here');
  m.unlink(c, ROOT, 'gone');
  assertMissing(m.lookup(c, ROOT, 'gone'));
  assert.equal(readAll(m, ino, fh).toString(), 'still here');
  m.write(c, ino, fh, 10, Buffer.from('!'), 0, O_RDWR);
  assert.equal(m.getattr(c, ino, fh).attr.nlink, 0);
  m.release(c, ino, fh, O_RDWR, 0, 0);
  assert.equal(m.inodeCount(), before + 1, 'the kernel still holds the create lookup');
  m.forget(ino, 1);
  assert.equal(m.inodeCount(), before);
  assert.equal(m.bytesUsed(), 0, 'its data is released');
  throwsErrno(() => m.getattr(c, ino, undefined), Errno.ENOENT);
});

test('lookup counts: forget frees only unlinked inodes, and only at zero', () => {
  const m = fs();
  const { ino, fh } = mkfile(m, ROOT, 'x', 'data');
  m.release(c, ino, fh, 0, 0, 0);
  m.lookup(c, ROOT, 'x');
  m.lookup(c, ROOT, 'x'); // 3 references: create + 2 lookups
  m.forget(ino, 3);
  assert.equal(m.inodeCount(), 2);
  assert.equal(m.getattr(c, ino, undefined).attr.size, 4, 'a forgotten but linked inode still answers getattr');
  assert.equal(m.lookup(c, ROOT, 'x').nodeid, ino, 'and lookup finds the same nodeid again');
  m.unlink(c, ROOT, 'x');
  assert.equal(m.inodeCount(), 2, 'one lookup still outstanding');
  m.forget(ino, 1);
  assert.equal(m.inodeCount(), 1);
});

test('nodeids are never reused', () => {
  const m = fs();
  const a = mkfile(m, ROOT, 'a');
  m.release(c, a.ino, a.fh, 0, 0, 0);
  m.unlink(c, ROOT, 'a');
  m.forget(a.ino, 1);
  const b = mkfile(m, ROOT, 'a');
  assert.ok(b.ino > a.ino);
});

test('directory nlink is 2 + subdirectories', () => {
  const m = fs();
  const nlink = (n: number) => m.getattr(c, n, undefined).attr.nlink;
  assert.equal(nlink(ROOT), 2);
  const a = m.mkdir(c, ROOT, 'a', 0o755, 0).nodeid;
  const b = m.mkdir(c, ROOT, 'b', 0o755, 0).nodeid;
  mkfile(m, a, 'file');
  assert.equal(nlink(ROOT), 4);
  assert.equal(nlink(a), 2, 'files do not count');
  m.mkdir(c, a, 'sub', 0o755, 0);
  assert.equal(nlink(a), 3);
  m.rename(c, a, 'sub', b, 'sub', 0);
  assert.equal(nlink(a), 2);
  assert.equal(nlink(b), 3);
  m.rmdir(c, b, 'sub');
  assert.equal(nlink(b), 2);
  m.rmdir(c, ROOT, 'b');
  assert.equal(nlink(ROOT), 3);
  assert.equal(nlink(b), 0, 'a removed directory has no links');
});

test('rmdir and unlink refuse the wrong type and non-empty directories', () => {
  const m = fs();
  const d = m.mkdir(c, ROOT, 'd', 0o755, 0).nodeid;
  mkfile(m, d, 'f');
  throwsErrno(() => m.rmdir(c, ROOT, 'd'), Errno.ENOTEMPTY);
  throwsErrno(() => m.unlink(c, ROOT, 'd'), Errno.EISDIR);
  throwsErrno(() => m.rmdir(c, d, 'f'), Errno.ENOTDIR);
  throwsErrno(() => m.rmdir(c, ROOT, 'nope'), Errno.ENOENT);
  assertMissing(m.lookup(c, d, 'nope'));
  throwsErrno(() => m.lookup(c, m.lookup(c, d, 'f').nodeid, 'x'), Errno.ENOTDIR);
  throwsErrno(() => m.mkdir(c, ROOT, 'd', 0o755, 0), Errno.EEXIST);
  m.unlink(c, d, 'f');
  m.rmdir(c, ROOT, 'd');
  throwsErrno(() => mkfile(m, d, 'late'), Errno.ENOENT); // creating in a removed directory
});

test('rename moves, replaces files and empty directories, and follows POSIX errors', () => {
  const m = fs();
  const a = mkfile(m, ROOT, 'a', 'A');
  const b = mkfile(m, ROOT, 'b', 'B');
  m.rename(c, ROOT, 'a', ROOT, 'b', 0);
  assert.equal(m.lookup(c, ROOT, 'b').nodeid, a.ino);
  assertMissing(m.lookup(c, ROOT, 'a'));
  assert.equal(m.getattr(c, b.ino, b.fh).attr.nlink, 0, 'the replaced file is unlinked…');
  assert.equal(readAll(m, b.ino, b.fh).toString(), 'B', '…but stays readable while open');

  const d1 = m.mkdir(c, ROOT, 'd1', 0o755, 0).nodeid;
  const d2 = m.mkdir(c, ROOT, 'd2', 0o755, 0).nodeid;
  throwsErrno(() => m.rename(c, ROOT, 'd1', ROOT, 'b', 0), Errno.ENOTDIR);
  throwsErrno(() => m.rename(c, ROOT, 'b', ROOT, 'd1', 0), Errno.EISDIR);
  mkfile(m, d2, 'inside');
  throwsErrno(() => m.rename(c, ROOT, 'd1', ROOT, 'd2', 0), Errno.ENOTEMPTY);
  m.unlink(c, d2, 'inside');
  m.rename(c, ROOT, 'd1', ROOT, 'd2', 0);
  assert.equal(m.lookup(c, ROOT, 'd2').nodeid, d1);
  assert.equal(m.getattr(c, d2, undefined).attr.nlink, 0);
  assert.equal(m.getattr(c, ROOT, undefined).attr.nlink, 3, 'root lost one subdirectory');
  throwsErrno(() => m.rename(c, ROOT, 'missing', ROOT, 'x', 0), Errno.ENOENT);
  // Same inode under both names: nothing happens.
  m.rename(c, ROOT, 'b', ROOT, 'b', 0);
  assert.equal(m.lookup(c, ROOT, 'b').nodeid, a.ino);
  throwsErrno(() => m.rename(c, ROOT, 'b', ROOT, 'c', 4 /* WHITEOUT */), Errno.EINVAL);
  throwsErrno(() => m.rename(c, ROOT, 'b', ROOT, 'c', NOREPLACE | EXCHANGE), Errno.EINVAL);
});

test('RENAME_NOREPLACE refuses an existing target', () => {
  const m = fs();
  mkfile(m, ROOT, 'a', 'A');
  const b = mkfile(m, ROOT, 'b', 'B');
  throwsErrno(() => m.rename(c, ROOT, 'a', ROOT, 'b', NOREPLACE), Errno.EEXIST);
  assert.equal(m.lookup(c, ROOT, 'b').nodeid, b.ino);
  m.rename(c, ROOT, 'a', ROOT, 'c', NOREPLACE);
  assert.deepEqual(ls(m, ROOT).sort(), ['.', '..', 'b', 'c']);
});

test('RENAME_EXCHANGE swaps a file and a directory across parents', () => {
  const m = fs();
  const p = m.mkdir(c, ROOT, 'p', 0o755, 0).nodeid;
  const q = m.mkdir(c, ROOT, 'q', 0o755, 0).nodeid;
  const f = mkfile(m, p, 'x', 'file');
  const d = m.mkdir(c, q, 'y', 0o755, 0).nodeid;
  m.rename(c, p, 'x', q, 'y', EXCHANGE);
  assert.equal(m.lookup(c, p, 'x').nodeid, d);
  assert.equal(m.lookup(c, q, 'y').nodeid, f.ino);
  assert.equal(m.getattr(c, p, undefined).attr.nlink, 3, 'p gained the directory');
  assert.equal(m.getattr(c, q, undefined).attr.nlink, 2, 'q lost it');
  const dots = new Dirents();
  const fh = m.opendir(c, d, 0).fh!;
  m.readdir(c, d, fh, 0, dots);
  assert.equal(dots.list[1]!.ino, p, '".." follows the move');
  throwsErrno(() => m.rename(c, p, 'x', q, 'absent', EXCHANGE), Errno.ENOENT);
});

test('a directory cannot move into its own subtree', () => {
  const m = fs();
  const a = m.mkdir(c, ROOT, 'a', 0o755, 0).nodeid;
  const b = m.mkdir(c, a, 'b', 0o755, 0).nodeid;
  const cc = m.mkdir(c, b, 'c', 0o755, 0).nodeid;
  throwsErrno(() => m.rename(c, ROOT, 'a', cc, 'a', 0), Errno.EINVAL);
  throwsErrno(() => m.rename(c, ROOT, 'a', a, 'a2', 0), Errno.EINVAL);
  throwsErrno(() => m.rename(c, ROOT, 'a', b, 'x', NOREPLACE), Errno.EINVAL);
  mkfile(m, ROOT, 'f');
  throwsErrno(() => m.rename(c, ROOT, 'a', cc, 'f2', EXCHANGE), Errno.ENOENT);
  m.mkdir(c, cc, 'deep', 0o755, 0);
  throwsErrno(() => m.rename(c, ROOT, 'a', cc, 'deep', EXCHANGE), Errno.EINVAL);
  // Moving a parent's child over the parent: the parent is not empty.
  throwsErrno(() => m.rename(c, b, 'c', a, 'b', 0), Errno.ENOTEMPTY);
});

test('readdir pages by cookie while entries are added and removed', () => {
  const m = fs();
  const dir = m.mkdir(c, ROOT, 'd', 0o755, 0).nodeid;
  for (let i = 0; i < 10; i++) mkfile(m, dir, `f${i}`);
  const fh = m.opendir(c, dir, 0).fh!;
  const seen: string[] = [];
  const page = (off: number, n: number) => {
    const w = new Dirents(n);
    m.readdir(c, dir, fh, off, w);
    for (const e of w.list) seen.push(e.name);
    return w.list.at(-1)?.off;
  };
  let off = page(0, 4)!; // . .. f0 f1
  assert.deepEqual(seen, ['.', '..', 'f0', 'f1']);
  m.unlink(c, dir, 'f0'); // already returned
  m.unlink(c, dir, 'f5'); // not yet returned: must not appear
  mkfile(m, dir, 'new1'); // added: appears once, at the end
  off = page(off, 2)!; // f2 f3; f4 did not fit and is held for the next page
  m.unlink(c, dir, 'f4'); // the held entry is gone by then: it must not appear
  for (let o = page(off, 3); o !== undefined; o = page(o, 3)) off = o;
  assert.deepEqual(seen, ['.', '..', 'f0', 'f1', 'f2', 'f3', 'f6', 'f7', 'f8', 'f9', 'new1']);
  // After the end, a new entry shows up when the reader asks again from the last cookie.
  mkfile(m, dir, 'new2');
  page(off, 10);
  assert.equal(seen.at(-1), 'new2');
  // A second handle seeking to a cookie mid-stream (telldir/seekdir) gets the same continuation.
  const all = new Dirents();
  const fh2 = m.opendir(c, dir, 0).fh!;
  m.readdir(c, dir, fh2, 0, all);
  const mid = all.list[4]!;
  const rest = new Dirents();
  const fh3 = m.opendir(c, dir, 0).fh!;
  m.readdir(c, dir, fh3, mid.off, rest);
  assert.deepEqual(rest.list, all.list.slice(5));
  // Offsets 1 and 2 resume after "." and "..".
  const after1 = new Dirents(1);
  m.readdir(c, dir, fh3, 1, after1);
  assert.equal(after1.list[0]!.name, '..');
  assert.equal(all.list[0]!.type, 4);
  assert.equal(all.list[2]!.type, 8);
});

test('readdir lists every entry once across many small pages', () => {
  const m = fs();
  const dir = m.mkdir(c, ROOT, 'many', 0o755, 0).nodeid;
  const names = Array.from({ length: 500 }, (_, i) => `n${i}`);
  for (const n of names) mkfile(m, dir, n);
  assert.deepEqual(ls(m, dir, 7), ['.', '..', ...names]);
});

test('readdirplus: "." and ".." carry nodeid 0, each child accepted counts a lookup', () => {
  const m = fs();
  const dir = m.mkdir(c, ROOT, 'd', 0o755, 0).nodeid;
  const f = mkfile(m, dir, 'f', 'x');
  m.release(c, f.ino, f.fh, 0, 0, 0);
  m.mkdir(c, dir, 'g', 0o700, 0);
  const fh = m.opendir(c, dir, 0).fh!;
  const w = new DirentsPlus(3);
  m.readdirplus(c, dir, fh, 0, w);
  assert.deepEqual(w.list.map((e) => [e.name, e.entry.nodeid]), [['.', 0], ['..', 0], ['f', f.ino]]);
  assert.equal(w.list[0]!.entry.attr.ino, dir);
  assert.equal(w.list[1]!.entry.attr.ino, ROOT);
  assert.equal(w.list[2]!.entry.attr.size, 1);
  const w2 = new DirentsPlus();
  m.readdirplus(c, dir, fh, w.list[2]!.off, w2);
  assert.deepEqual(w2.list.map((e) => e.name), ['g']);
  // f now has 2 references (create + readdirplus); the entry refused for lack of room had none.
  m.unlink(c, dir, 'f');
  const count = m.inodeCount();
  m.forget(f.ino, 1);
  assert.equal(m.inodeCount(), count, 'one reference left');
  m.forget(f.ino, 1);
  assert.equal(m.inodeCount(), count - 1);
});

test('sizeLimit: a write that does not fit fails with ENOSPC and changes nothing', () => {
  const m = fs({ sizeLimit: 2 * CHUNK });
  const { ino, fh } = mkfile(m, ROOT, 'f');
  m.write(c, ino, fh, 0, Buffer.alloc(CHUNK + 100, 1), 0, O_RDWR);
  // Filling chunk 1 would fit exactly; one byte into chunk 2 does not.
  throwsErrno(() => m.write(c, ino, fh, CHUNK, Buffer.alloc(CHUNK + 1, 2), 0, O_RDWR), Errno.ENOSPC);
  assert.equal(size(m, ino), CHUNK + 100);
  assert.equal(m.bytesUsed(), CHUNK + 512);
  assert.ok(readAll(m, ino, fh, CHUNK, 100).every((b) => b === 1), 'the failed write left no bytes');
  // Overwriting allocated bytes needs no space; holes past the limit cost nothing.
  m.write(c, ino, fh, 0, Buffer.alloc(CHUNK, 3), 0, O_RDWR);
  m.setattr(c, ino, { valid: 8, size: 100 * CHUNK });
  const st = m.statfs(c, ROOT);
  assert.equal(st.blocks, (2 * CHUNK) / 4096);
  assert.equal(st.bfree, Math.floor((CHUNK - 512) / 4096));
  const g = mkfile(m, ROOT, 'g');
  throwsErrno(() => m.write(c, g.ino, g.fh, 0, Buffer.alloc(CHUNK), 0, O_RDWR), Errno.ENOSPC);
  m.unlink(c, ROOT, 'f');
  m.release(c, ino, fh, 0, 0, 0);
  m.forget(ino, 1);
  assert.equal(m.bytesUsed(), 0);
  m.write(c, g.ino, g.fh, 0, Buffer.alloc(CHUNK), 0, O_RDWR);
});

test('statfs reports usage in 4096-byte blocks and the inode count', () => {
  const m = fs();
  const empty = m.statfs(c, ROOT);
  assert.equal(empty.bsize, 4096);
  assert.equal(empty.namelen, 255);
  assert.equal(empty.bfree, empty.blocks);
  const { ino, fh } = mkfile(m, ROOT, 'f');
  m.write(c, ino, fh, 0, Buffer.alloc(CHUNK * 4), 0, O_RDWR);
  const st = m.statfs(c, ROOT);
  assert.equal(empty.bfree - st.bfree, (CHUNK * 4) / 4096);
  assert.equal(empty.ffree - st.ffree, 1);
});

test('timestamps: nanoseconds, and the POSIX update rules', async () => {
  const m = fs();
  const tick = () => new Promise((r) => setTimeout(r, 2));
  const ns = (sec: number, nsec: number) => BigInt(sec) * 1_000_000_000n + BigInt(nsec);
  const t = (ino: number) => {
    const a = m.getattr(c, ino, undefined).attr;
    return { a: ns(a.atime!, a.atimensec!), m: ns(a.mtime!, a.mtimensec!), c: ns(a.ctime!, a.ctimensec!) };
  };
  const root0 = t(ROOT);
  await tick();
  const { ino, fh } = mkfile(m, ROOT, 'f');
  const created = t(ino);
  const nsecs = new Set<number>();
  for (const x of [m.getattr(c, ino, undefined).attr, m.getattr(c, ROOT, undefined).attr]) {
    nsecs.add(x.mtimensec! % 1_000_000);
  }
  assert.ok([...nsecs].some((n) => n !== 0), 'sub-millisecond precision');
  assert.ok(t(ROOT).m > root0.m && t(ROOT).c > root0.c, 'create updates the parent mtime/ctime');

  await tick();
  m.write(c, ino, fh, 0, Buffer.from('x'), 0, O_RDWR);
  const written = t(ino);
  assert.ok(written.m > created.m && written.c > created.c);
  assert.equal(written.a, created.a);

  await tick();
  m.setattr(c, ino, { valid: 1, mode: 0o600 });
  const chmodded = t(ino);
  assert.equal(chmodded.m, written.m, 'chmod leaves mtime');
  assert.ok(chmodded.c > written.c, 'chmod updates ctime');
  assert.equal(m.getattr(c, ino, undefined).attr.mode, S_IFREG | 0o600);

  await tick();
  readAll(m, ino, fh);
  assert.ok(t(ino).a > chmodded.a, 'read updates atime');

  m.setattr(c, ino, { valid: 0x30, atime: 1_000_000, atimensec: 123_456_789, mtime: 2_000_000, mtimensec: 987_654_321 });
  const a = m.getattr(c, ino, undefined).attr;
  assert.deepEqual([a.atime, a.atimensec, a.mtime, a.mtimensec], [1_000_000, 123_456_789, 2_000_000, 987_654_321]);
  assert.ok(t(ino).c > chmodded.c, 'utimensat updates ctime');
  await tick();
  m.setattr(c, ino, { valid: 0x180, atimeNow: true, mtimeNow: true });
  assert.ok(t(ino).m > ns(2_000_000, 0) && t(ino).a > ns(1_000_000, 0));

  const before = t(ROOT);
  await tick();
  m.rename(c, ROOT, 'f', ROOT, 'g', 0);
  assert.ok(t(ROOT).m > before.m, 'rename updates the parent');
  const d = m.mkdir(c, ROOT, 'd', 0o755, 0).nodeid;
  const dirBefore = t(d);
  await tick();
  m.rename(c, ROOT, 'g', d, 'g', 0);
  assert.ok(t(d).m > dirBefore.m, 'rename updates the new parent');
  const beforeUnlink = t(d);
  await tick();
  m.unlink(c, d, 'g');
  assert.ok(t(d).m > beforeUnlink.m, 'unlink updates the parent');
});

test('new inodes: mode & ~umask, owner from the caller, set-gid directories pass their group on', () => {
  const m = fs({ rootMode: 0o777 });
  const u = ctx(1234, 5678);
  const f = m.create(u, ROOT, 'f', 0o666, 0o022, O_RDWR);
  assert.equal(f.attr.mode, S_IFREG | 0o644);
  assert.equal(f.attr.uid, 1234);
  assert.equal(f.attr.gid, 5678);
  const d = m.mkdir(u, ROOT, 'd', 0o777, 0o027);
  assert.equal(d.attr.mode, S_IFDIR | 0o750);
  m.setattr(u, d.nodeid, { valid: 7, mode: 0o2775, uid: 1234, gid: 42 });
  const sub = m.mkdir(u, d.nodeid, 'sub', 0o755, 0);
  assert.equal(sub.attr.gid, 42);
  assert.equal(sub.attr.mode, S_IFDIR | 0o2755);
  assert.equal(m.getattr(c, ROOT, undefined).attr.mode, S_IFDIR | 0o777);
  assert.equal(m.getattr(c, ROOT, undefined).attr.uid, 0);
});

test('names longer than 255 bytes are ENAMETOOLONG; escaped bytes count as one', () => {
  const m = fs();
  mkfile(m, ROOT, 'a'.repeat(255));
  throwsErrno(() => mkfile(m, ROOT, 'a'.repeat(256)), Errno.ENAMETOOLONG);
  throwsErrno(() => m.mkdir(c, ROOT, 'é'.repeat(128), 0o755, 0), Errno.ENAMETOOLONG);
  m.mkdir(c, ROOT, 'é'.repeat(127), 0o755, 0);
  const escaped = '\udcff'.repeat(255); // 255 non-UTF-8 bytes
  const e = mkfile(m, ROOT, escaped);
  assert.equal(m.lookup(c, ROOT, escaped).nodeid, e.ino, 'lone surrogates are opaque keys');
  throwsErrno(() => m.lookup(c, ROOT, 'b'.repeat(300)), Errno.ENAMETOOLONG);
  throwsErrno(() => m.rename(c, ROOT, 'a'.repeat(255), ROOT, 'c'.repeat(256), 0), Errno.ENAMETOOLONG);
});

test('unknown handles are EBADF; open and opendir check the type', () => {
  const m = fs();
  const { ino, fh } = mkfile(m, ROOT, 'f');
  throwsErrno(() => m.read(c, ino, 999, 0, 10, Buffer.alloc(10)), Errno.EBADF);
  throwsErrno(() => m.write(c, ino, 999, 0, Buffer.alloc(1), 0, 0), Errno.EBADF);
  throwsErrno(() => m.release(c, ino, 999, 0, 0, 0), Errno.EBADF);
  throwsErrno(() => m.read(c, ROOT, fh, 0, 10, Buffer.alloc(10)), Errno.EBADF);
  throwsErrno(() => m.opendir(c, ino, 0), Errno.ENOTDIR);
  throwsErrno(() => m.open(c, ROOT, 0), Errno.EISDIR);
  m.flush(c, ino, fh, 0);
  m.fsync(c, ino, fh, false);
  assert.equal(m.handleCount(), 1);
  m.release(c, ino, fh, 0, 0, 0);
  assert.equal(m.handleCount(), 0);
  throwsErrno(() => m.getattr(c, 12345, undefined), Errno.ENOENT);
});

test('every operation answers with a plain value, never a promise', () => {
  const m = fs();
  const results: unknown[] = [];
  const r = <T>(v: T): T => { results.push(v); return v; };
  r(m.init({ major: 7, minor: 45, maxReadahead: 0, offered: 0n, want: 0n }));
  const e = r(m.create(c, ROOT, 'f', 0o644, 0, O_RDWR));
  r(m.write(c, e.nodeid, e.fh!, 0, Buffer.from('x'), 0, O_RDWR));
  r(m.read(c, e.nodeid, e.fh!, 0, 1, Buffer.alloc(1)));
  r(m.lookup(c, ROOT, 'f'));
  r(m.getattr(c, e.nodeid, undefined));
  r(m.setattr(c, e.nodeid, { valid: 1, mode: 0o600 }));
  r(m.flush(c, e.nodeid, e.fh!, 0));
  r(m.fsync(c, e.nodeid, e.fh!, true));
  r(m.release(c, e.nodeid, e.fh!, 0, 0, 0));
  r(m.mkdir(c, ROOT, 'd', 0o755, 0));
  r(m.rename(c, ROOT, 'f', ROOT, 'g', 0));
  const d = r(m.opendir(c, ROOT, 0));
  r(m.readdir(c, ROOT, d.fh!, 0, new Dirents()));
  r(m.readdirplus(c, ROOT, d.fh!, 0, new DirentsPlus()));
  r(m.releasedir(c, ROOT, d.fh!, 0));
  r(m.statfs(c, ROOT));
  r(m.unlink(c, ROOT, 'g'));
  r(m.rmdir(c, ROOT, 'd'));
  r(m.forget(e.nodeid, 3));
  for (const v of results) assert.ok(!(v instanceof Promise));
});

test('init ignores O_APPEND when the kernel has the writeback cache', () => {
  const m = fs();
  m.init({ major: 7, minor: 45, maxReadahead: 0, offered: 1n << 16n, want: 1n << 16n });
  const { ino } = mkfile(m, ROOT, 'f', 'abcdef');
  const fh = m.open(c, ino, O_RDWR | O_APPEND).fh!;
  // With the writeback cache the kernel places appended data itself and flushes pages at their offsets.
  m.write(c, ino, fh, 2, Buffer.from('XY'), 0, O_RDWR | O_APPEND);
  assert.equal(readAll(m, ino, fh).toString(), 'abXYef');
});
