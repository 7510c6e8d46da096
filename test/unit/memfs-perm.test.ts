// memfs's own permission checks (the checkPermissions option, for mounts without
// default_permissions), driven directly with fake callers: uid, gid and pid, and the supplementary
// groups from an injected lookup keyed by pid. Root sets each scene up; other users then try.
import { test } from 'node:test';
import { spawn } from 'node:child_process';
import assert from 'node:assert/strict';
import { MemFs, type MemFsOptions } from '../../src/fs/memfs/index.js';
import { procGroups } from '../../src/fs/memfs/access.js';
import { Errno } from '../../src/errors.js';
import type { DirentWriter, RequestContext, SetattrIn } from '../../src/filesystem.js';
import { assertMissing, throwsErrno } from '../helpers/errno.js';

const ROOT = 1;
const O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_ACCMODE = 3, O_TRUNC = 0o1000, FMODE_EXEC = 0o40;
const S_IFMT = 0o170000, S_IFCHR = 0o020000, S_IFIFO = 0o010000;
const EXCHANGE = 2;
const FATTR_MODE = 1, FATTR_UID = 2, FATTR_GID = 4, FATTR_SIZE = 8, FATTR_ATIME = 0x10, FATTR_MTIME = 0x20;
const FATTR_FH = 0x40, FATTR_ATIME_NOW = 0x80, FATTR_MTIME_NOW = 0x100, FATTR_CTIME = 0x400;

function ctx(uid: number, gid: number, pid: number): RequestContext {
  return { opcode: 0, unique: 0, nodeid: 0, uid, gid, pid, umask: 0, signal: new AbortController().signal };
}
const root = ctx(0, 0, 10);
/** alice: uid 1000, group 1000, no other groups. */
const alice = ctx(1000, 1000, 11);
/** bob: uid 2000, group 2000, and supplementary group 3000. */
const bob = ctx(2000, 2000, 12);
/** bob in a background request (pid 0): his primary group only. */
const bobBackground = ctx(2000, 2000, 0);
const nobody = ctx(65534, 65534, 13);
const GROUPS = new Map<number, number[]>([[10, []], [11, [1000]], [12, [2000, 3000]], [13, []]]);

/** A memfs that checks permissions, owned by root (0755), recording each groups lookup's pid. */
function fs(opts: MemFsOptions = {}): MemFs & { lookups: number[] } {
  const lookups: number[] = [];
  const m = new MemFs({
    uid: 0, gid: 0, checkPermissions: true,
    groups: (pid) => { lookups.push(pid); return GROUPS.get(pid); },
    ...opts,
  });
  return Object.assign(m, { lookups });
}

/** Made by root, then given `mode`, `uid` and `gid`. */
function file(m: MemFs, parent: number, name: string, mode: number, uid = 0, gid = 0): number {
  const r = m.create(root, parent, name, mode, 0, O_RDWR);
  m.release(root, r.nodeid, r.fh!, O_RDWR, 0, 0);
  m.setattr(root, r.nodeid, { valid: FATTR_MODE | FATTR_UID | FATTR_GID, mode, uid, gid });
  return r.nodeid;
}

function dir(m: MemFs, parent: number, name: string, mode: number, uid = 0, gid = 0): number {
  const d = m.mkdir(root, parent, name, mode, 0).nodeid;
  m.setattr(root, d, { valid: FATTR_MODE | FATTR_UID | FATTR_GID, mode, uid, gid });
  return d;
}

function mode(m: MemFs, ino: number): number {
  return m.getattr(root, ino, undefined).attr.mode & ~S_IFMT;
}

function opens(m: MemFs, c: RequestContext, ino: number, flags: number): void {
  const fh = m.open(c, ino, flags).fh!;
  m.release(c, ino, fh, flags, 0, 0);
}

function names(m: MemFs, d: number): string[] {
  const out: string[] = [];
  const w: DirentWriter = { add: (name) => { out.push(name); return true; } };
  const fh = m.opendir(root, d, 0).fh!;
  m.readdir(root, d, fh, 0, w);
  m.releasedir(root, d, fh, 0);
  return out.filter((n) => n !== '.' && n !== '..').sort();
}

test('without checkPermissions memfs leaves the checks to the kernel (default_permissions)', () => {
  const m = fs({ checkPermissions: false });
  const d = dir(m, ROOT, 'd', 0o700);
  const secret = file(m, d, 'secret', 0o600);
  assert.equal(m.lookup(nobody, d, 'secret').nodeid, secret, 'no search check');
  assert.equal(m.lookup(nobody, d, 'secret').entryTimeout, 86_400, 'names are cached for a day by default');
  opens(m, nobody, secret, O_RDWR);
  m.opendir(nobody, d, 0);
  m.create(nobody, d, 'mine', 0o644, 0, O_RDWR);
  m.setattr(nobody, secret, { valid: FATTR_MODE | FATTR_UID, mode: 0o777, uid: 65534 });
  m.setattr(nobody, secret, { valid: FATTR_ATIME | FATTR_MTIME, atime: 1, mtime: 2 });
  m.rename(nobody, d, 'secret', ROOT, 'moved', 0);
  m.unlink(nobody, ROOT, 'moved');
  assert.deepEqual(m.lookups, []);
  // access(2) and xattrs are checked all the same: the kernel asks only when it did not check.
  const other = file(m, ROOT, 'other', 0o600);
  throwsErrno(() => m.access(nobody, other, 4), Errno.EACCES);
  throwsErrno(() => m.setxattr(nobody, other, 'user.x', Buffer.from('v'), 0, 0), Errno.EACCES);
});

test('lookup needs search permission on the directory; names are not cached', () => {
  const m = fs();
  const d = dir(m, ROOT, 'private', 0o700, 1000, 1000);
  const f = file(m, d, 'f', 0o644, 1000, 1000);
  throwsErrno(() => m.lookup(nobody, d, 'f'), Errno.EACCES, 'no x on the directory');
  throwsErrno(() => m.lookup(nobody, d, 'missing'), Errno.EACCES, 'EACCES before ENOENT');
  const e = m.lookup(alice, d, 'f');
  assert.equal(e.nodeid, f);
  assert.equal(e.entryTimeout, 0, 'entryTimeout defaults to 0: every path walk comes back to lookup');
  assertMissing(m.lookup(alice, d, 'missing'));
  assert.equal(m.lookup(root, d, 'f').nodeid, f, 'root searches any directory');
  m.setattr(root, d, { valid: FATTR_MODE, mode: 0o000 });
  assert.equal(m.lookup(root, d, 'f').nodeid, f, 'even one without any x bit');
  throwsErrno(() => m.lookup(alice, d, 'f'), Errno.EACCES, 'the owner is held to the owner bits');
  const wx = dir(m, ROOT, 'wx', 0o711);
  file(m, wx, 'g', 0o644);
  m.lookup(nobody, wx, 'g');
  assert.equal(fs({ entryTimeout: 5 }).mkdir(root, ROOT, 'x', 0o755, 0).entryTimeout, 5, 'an explicit entryTimeout wins');
});

test('open asks for what the access mode and O_TRUNC need; execve for execute', () => {
  const m = fs();
  const f = file(m, ROOT, 'f', 0o640, 1000, 3000);
  opens(m, alice, f, O_RDWR);
  opens(m, bob, f, O_RDONLY); // group 3000 is one of bob's supplementary groups
  throwsErrno(() => m.open(bob, f, O_WRONLY), Errno.EACCES);
  throwsErrno(() => m.open(bob, f, O_RDWR), Errno.EACCES);
  throwsErrno(() => m.open(bob, f, O_ACCMODE), Errno.EACCES, 'access mode 3 needs read and write');
  throwsErrno(() => m.open(bob, f, O_RDONLY | O_TRUNC), Errno.EACCES, 'O_TRUNC needs write');
  throwsErrno(() => m.open(nobody, f, O_RDONLY), Errno.EACCES);
  opens(m, root, f, O_RDWR | O_TRUNC);
  const w = file(m, ROOT, 'w', 0o602, 1000, 1000);
  opens(m, nobody, w, O_WRONLY);
  throwsErrno(() => m.open(nobody, w, O_RDONLY), Errno.EACCES);
  const x = file(m, ROOT, 'x', 0o711);
  opens(m, nobody, x, O_RDONLY | FMODE_EXEC);
  throwsErrno(() => m.open(nobody, x, O_RDONLY), Errno.EACCES, 'executable but not readable');
  const plain = file(m, ROOT, 'plain', 0o644);
  throwsErrno(() => m.open(root, plain, O_RDONLY | FMODE_EXEC), Errno.EACCES, 'root executes only what has an x bit');
  const none = file(m, ROOT, 'none', 0o000);
  opens(m, root, none, O_RDWR);
  // create() of an existing name is an open: the file's bits decide, not the directory's.
  const c1 = m.create(bob, ROOT, 'f', 0o666, 0, O_RDONLY);
  assert.equal(c1.nodeid, f);
  throwsErrno(() => m.create(bob, ROOT, 'f', 0o666, 0, O_WRONLY), Errno.EACCES);
  throwsErrno(() => m.create(nobody, ROOT, 'new', 0o666, 0, O_WRONLY), Errno.EACCES, 'a new name needs w on the directory');
});

test('opendir needs read permission, lookup search permission', () => {
  const m = fs();
  const xOnly = dir(m, ROOT, 'x-only', 0o711);
  file(m, xOnly, 'known', 0o644);
  throwsErrno(() => m.opendir(nobody, xOnly, 0), Errno.EACCES);
  m.lookup(nobody, xOnly, 'known');
  const rOnly = dir(m, ROOT, 'r-only', 0o744);
  file(m, rOnly, 'listed', 0o644);
  const fh = m.opendir(nobody, rOnly, 0).fh!;
  m.releasedir(nobody, rOnly, fh, 0);
  throwsErrno(() => m.lookup(nobody, rOnly, 'listed'), Errno.EACCES);
  assert.deepEqual(names(m, rOnly), ['listed']);
});

test('supplementary groups are read only when a check needs them, by pid; pid 0 has none', () => {
  const m = fs();
  const mine = file(m, ROOT, 'mine', 0o600, 2000, 2000);
  const same = file(m, ROOT, 'same', 0o644, 0, 3000);
  const grp = file(m, ROOT, 'grp', 0o640, 0, 3000);
  const primary = file(m, ROOT, 'primary', 0o640, 0, 2000);
  m.lookups.length = 0;
  opens(m, bob, mine, O_RDWR);
  opens(m, bob, same, O_RDONLY);
  opens(m, bob, primary, O_RDONLY);
  throwsErrno(() => m.open(bob, same, O_WRONLY), Errno.EACCES);
  assert.deepEqual(m.lookups, [], 'owner, primary group, or group bits equal to the others\' bits: no lookup');
  opens(m, bob, grp, O_RDONLY);
  assert.deepEqual(m.lookups, [12], 'the group bits differ: bob\'s groups, by his pid');
  throwsErrno(() => m.open(bobBackground, grp, O_RDONLY), Errno.EACCES);
  assert.deepEqual(m.lookups, [12], 'pid 0: the primary group only, nothing read');
  throwsErrno(() => m.open(ctx(2000, 2000, 99), grp, O_RDONLY), Errno.EACCES, 'a process that is gone: the primary group only');
  // A member of the group gets the group's bits, even when the others' bits give more.
  const fewer = file(m, ROOT, 'fewer', 0o604, 0, 3000);
  throwsErrno(() => m.open(bob, fewer, O_RDONLY), Errno.EACCES);
  opens(m, nobody, fewer, O_RDONLY);
  // One request reads the groups once, however many checks it makes.
  const a = dir(m, ROOT, 'a', 0o770, 0, 3000);
  const b = dir(m, ROOT, 'b', 0o770, 0, 3000);
  file(m, a, 'f', 0o644, 2000, 2000);
  m.lookups.length = 0;
  m.rename(bob, a, 'f', b, 'g', 0);
  assert.deepEqual(m.lookups, [12]);
});

test('procGroups reads the "Groups:" line of /proc', async (t) => {
  const mine = procGroups(process.pid);
  assert.ok(mine, 'this process has a status file');
  // Node's getgroups() adds the effective gid; /proc lists the supplementary groups only.
  const egid = process.getegid!();
  const sorted = (a: Iterable<number>) => [...new Set(a)].sort((x, y) => x - y);
  assert.deepEqual(sorted([...mine, egid]), sorted([...process.getgroups!(), egid]));
  assert.equal(procGroups(0), undefined);
  assert.equal(procGroups(2 ** 30), undefined, 'no such process');
  if (process.getuid!() !== 0) return t.skip('setpriv --groups needs root');
  // A process with known groups: setpriv sets them, then execs sleep under the same pid.
  const child = spawn('setpriv', ['--groups', '2000,2001', '--', 'sleep', '30'], { stdio: 'ignore' });
  child.on('error', () => undefined); // no setpriv: the groups never show, and the assertion says so
  try {
    let groups: number[] | undefined;
    for (let i = 0; i < 200; i++) {
      groups = procGroups(child.pid!);
      if (groups?.length) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.deepEqual(groups, [2000, 2001]);
  } finally {
    child.kill('SIGKILL');
  }
});

test('creating needs write and search permission on the parent', () => {
  const m = fs();
  const ro = dir(m, ROOT, 'ro', 0o755);
  const noX = dir(m, ROOT, 'no-x', 0o766);
  const open = dir(m, ROOT, 'open', 0o777);
  const target = file(m, open, 'target', 0o644, 1000, 1000);
  file(m, ro, 'exists', 0o644);
  for (const d of [ro, noX]) {
    throwsErrno(() => m.create(alice, d, 'f', 0o644, 0, O_RDWR), Errno.EACCES, 'create');
    throwsErrno(() => m.mkdir(alice, d, 'd', 0o755, 0), Errno.EACCES, 'mkdir');
    throwsErrno(() => m.mknod(alice, d, 'p', S_IFIFO | 0o644, 0, 0), Errno.EACCES, 'mknod');
    throwsErrno(() => m.symlink(alice, d, 'l', 'target'), Errno.EACCES, 'symlink');
    throwsErrno(() => m.link(alice, target, d, 'h'), Errno.EACCES, 'link');
    throwsErrno(() => m.tmpfile(alice, d, 0o600, 0, O_RDWR), Errno.EACCES, 'O_TMPFILE');
  }
  throwsErrno(() => m.mkdir(alice, ro, 'exists', 0o755, 0), Errno.EEXIST, 'EEXIST before EACCES');
  throwsErrno(() => m.mkdir(alice, noX, 'exists', 0o755, 0), Errno.EACCES, 'but no search: EACCES');
  m.create(alice, open, 'f', 0o644, 0, O_RDWR);
  m.mkdir(alice, open, 'd', 0o755, 0);
  m.mknod(alice, open, 'p', S_IFIFO | 0o644, 0, 0);
  m.symlink(alice, open, 'l', 'target');
  m.link(nobody, target, open, 'h'); // another's file: only the directory matters here
  m.tmpfile(alice, open, 0o600, 0, O_RDWR);
  throwsErrno(() => m.mknod(alice, open, 'c', S_IFCHR | 0o644, 0x0103, 0), Errno.EPERM, 'device nodes need root');
  m.mknod(root, ro, 'c', S_IFCHR | 0o644, 0x0103, 0);
  m.create(root, ro, 'by-root', 0o644, 0, O_RDWR);
  // Group write through a supplementary group.
  const shared = dir(m, ROOT, 'shared', 0o770, 0, 3000);
  m.create(bob, shared, 'f', 0o644, 0, O_RDWR);
  throwsErrno(() => m.create(alice, shared, 'g', 0o644, 0, O_RDWR), Errno.EACCES);
});

test('removing needs write and search permission on the parent', () => {
  const m = fs();
  const ro = dir(m, ROOT, 'ro', 0o755);
  file(m, ro, 'f', 0o666, 1000, 1000);
  dir(m, ro, 'd', 0o777, 1000, 1000);
  throwsErrno(() => m.unlink(alice, ro, 'f'), Errno.EACCES, 'even her own file');
  throwsErrno(() => m.rmdir(alice, ro, 'd'), Errno.EACCES);
  throwsErrno(() => m.unlink(alice, ro, 'missing'), Errno.ENOENT, 'ENOENT before EACCES');
  throwsErrno(() => m.rename(alice, ro, 'f', ROOT, 'g', 0), Errno.EACCES);
  const noX = dir(m, ROOT, 'no-x', 0o776);
  file(m, noX, 'f', 0o666);
  throwsErrno(() => m.unlink(alice, noX, 'missing'), Errno.EACCES, 'no search: EACCES, not ENOENT');
  throwsErrno(() => m.unlink(alice, noX, 'f'), Errno.EACCES);
  const rw = dir(m, ROOT, 'rw', 0o777);
  file(m, rw, 'f', 0o000);
  m.unlink(alice, rw, 'f'); // the file's own mode does not matter
  m.unlink(root, ro, 'f');
  m.rmdir(root, ro, 'd');
});

test('sticky directories: only the entry\'s owner, the directory\'s owner or root may remove or rename', () => {
  const m = fs();
  const tmp = dir(m, ROOT, 'tmp', 0o1777);
  m.create(alice, tmp, 'a', 0o666, 0, O_RDWR);
  m.create(bob, tmp, 'b', 0o666, 0, O_RDWR);
  m.mkdir(alice, tmp, 'ad', 0o777, 0);
  throwsErrno(() => m.unlink(bob, tmp, 'a'), Errno.EPERM, 'unlink another\'s file');
  throwsErrno(() => m.rename(bob, tmp, 'a', tmp, 'c', 0), Errno.EPERM, 'rename another\'s file');
  throwsErrno(() => m.rename(bob, tmp, 'b', tmp, 'a', 0), Errno.EPERM, 'rename over another\'s file');
  throwsErrno(() => m.rename(bob, tmp, 'b', tmp, 'a', EXCHANGE), Errno.EPERM, 'exchange with another\'s file');
  throwsErrno(() => m.rmdir(bob, tmp, 'ad'), Errno.EPERM, 'rmdir another\'s directory');
  throwsErrno(() => m.unlink(bob, tmp, 'missing'), Errno.ENOENT);
  m.rename(bob, tmp, 'b', tmp, 'b2', 0);
  m.unlink(bob, tmp, 'b2');
  m.rename(alice, tmp, 'a', tmp, 'a2', 0);
  m.rmdir(alice, tmp, 'ad');
  m.unlink(root, tmp, 'a2');
  // The directory's owner may remove anyone's entries.
  const bobs = dir(m, ROOT, 'bobs', 0o1777, 2000, 2000);
  m.create(alice, bobs, 'a', 0o644, 0, O_RDWR);
  throwsErrno(() => m.unlink(nobody, bobs, 'a'), Errno.EPERM);
  m.unlink(bob, bobs, 'a');
  assert.deepEqual(names(m, bobs), []);
});

test('rename checks both parents, and write permission on a directory that changes parent', () => {
  const m = fs();
  const d1 = dir(m, ROOT, 'd1', 0o755, 1000, 1000);
  const d2 = dir(m, ROOT, 'd2', 0o755, 1000, 1000);
  const ro = dir(m, ROOT, 'ro', 0o755);
  dir(m, d1, 'sub', 0o755); // root's, inside alice's directory
  file(m, d1, 'f', 0o644, 1000, 1000);
  throwsErrno(() => m.rename(alice, d1, 'sub', d2, 'sub', 0), Errno.EACCES, 'its ".." would change');
  m.rename(alice, d1, 'sub', d1, 'sub2', 0); // same parent: ".." stays
  throwsErrno(() => m.rename(alice, d1, 'f', ro, 'f', 0), Errno.EACCES, 'no w on the new parent');
  m.rename(alice, d1, 'f', d2, 'f', 0);
  dir(m, d2, 'mine', 0o755, 1000, 1000);
  throwsErrno(() => m.rename(alice, d2, 'mine', d1, 'sub2', EXCHANGE), Errno.EACCES, 'exchange moves root\'s sub2 too');
  m.rename(alice, d2, 'mine', d1, 'mine', 0);
  // Two names of one inode: nothing to do, and nothing checked (as vfs_rename).
  const x = file(m, ro, 'x', 0o644);
  m.link(root, x, ro, 'y');
  m.rename(alice, ro, 'x', ro, 'y', 0);
});

test('chmod: owner or root; a non-member loses S_ISGID; clearing set-id bits needs write only', () => {
  const m = fs();
  const f = file(m, ROOT, 'f', 0o644, 1000, 1000);
  throwsErrno(() => m.setattr(nobody, f, { valid: FATTR_MODE, mode: 0o666 }), Errno.EPERM);
  throwsErrno(() => m.setattr(bob, f, { valid: FATTR_MODE, mode: 0o644 }), Errno.EPERM, 'even to the same mode');
  m.setattr(alice, f, { valid: FATTR_MODE, mode: 0o2755 });
  assert.equal(mode(m, f), 0o2755, 'alice is in group 1000');
  const g = file(m, ROOT, 'g', 0o644, 1000, 0);
  m.setattr(alice, g, { valid: FATTR_MODE, mode: 0o2755 });
  assert.equal(mode(m, g), 0o755, 'alice is not in group 0: S_ISGID dropped');
  const h = file(m, ROOT, 'h', 0o644, 2000, 3000);
  m.setattr(bob, h, { valid: FATTR_MODE, mode: 0o2755 });
  assert.equal(mode(m, h), 0o2755, 'bob is, through a supplementary group');
  m.setattr(root, g, { valid: FATTR_MODE, mode: 0o6755 });
  assert.equal(mode(m, g), 0o6755, 'root keeps S_ISGID');
  // After a write by someone else the kernel asks to clear set-uid (file_remove_privs).
  const suid = file(m, ROOT, 'suid', 0o6777, 1000, 1000);
  throwsErrno(() => m.setattr(nobody, suid, { valid: FATTR_MODE, mode: 0o6757 }), Errno.EPERM, 'not only set-id bits');
  m.setattr(nobody, suid, { valid: FATTR_MODE, mode: 0o0777 });
  assert.equal(mode(m, suid), 0o777);
  const suidRo = file(m, ROOT, 'suid-ro', 0o4755, 1000, 1000);
  throwsErrno(() => m.setattr(nobody, suidRo, { valid: FATTR_MODE, mode: 0o755 }), Errno.EPERM, 'and only for a writer');
});

test('chown only by root; chgrp by the owner to one of its groups', () => {
  const m = fs();
  const f = file(m, ROOT, 'f', 0o644, 2000, 2000);
  throwsErrno(() => m.setattr(bob, f, { valid: FATTR_UID, uid: 1000 }), Errno.EPERM, 'giving a file away');
  throwsErrno(() => m.setattr(alice, f, { valid: FATTR_UID, uid: 1000 }), Errno.EPERM, 'taking it');
  m.setattr(bob, f, { valid: FATTR_UID, uid: 2000 }); // to the owner it has: allowed
  m.setattr(bob, f, { valid: FATTR_GID, gid: 3000 });
  assert.equal(m.getattr(root, f, undefined).attr.gid, 3000);
  m.setattr(bob, f, { valid: FATTR_UID | FATTR_GID, uid: 2000, gid: 2000 });
  throwsErrno(() => m.setattr(bob, f, { valid: FATTR_GID, gid: 4000 }), Errno.EPERM, 'not his group');
  throwsErrno(() => m.setattr(alice, f, { valid: FATTR_GID, gid: 1000 }), Errno.EPERM, 'not her file');
  m.setattr(root, f, { valid: FATTR_UID | FATTR_GID, uid: 1000, gid: 1000 });
  assert.equal(m.getattr(root, f, undefined).attr.uid, 1000);
  // The kernel's chown by root of a set-uid file carries the cleared mode along.
  m.setattr(root, f, { valid: FATTR_MODE, mode: 0o4755 });
  m.setattr(root, f, { valid: FATTR_UID | FATTR_MODE, uid: 2000, mode: 0o755 });
  assert.equal(mode(m, f), 0o755);
});

test('truncate needs write permission, or a handle open for writing (ftruncate)', () => {
  const m = fs();
  const f = file(m, ROOT, 'f', 0o666, 1000, 1000);
  const wfh = m.open(nobody, f, O_WRONLY).fh!;
  const rfh = m.open(nobody, f, O_RDONLY).fh!;
  m.setattr(alice, f, { valid: FATTR_MODE, mode: 0o644 });
  throwsErrno(() => m.setattr(nobody, f, { valid: FATTR_SIZE, size: 0 }), Errno.EACCES);
  m.setattr(nobody, f, { valid: FATTR_SIZE | FATTR_FH, size: 10, fh: wfh });
  assert.equal(m.getattr(root, f, undefined).attr.size, 10);
  throwsErrno(() => m.setattr(nobody, f, { valid: FATTR_SIZE | FATTR_FH, size: 0, fh: rfh }), Errno.EACCES, 'a read-only handle');
  throwsErrno(() => m.setattr(nobody, f, { valid: FATTR_SIZE | FATTR_FH, size: 0, fh: 999 }), Errno.EACCES, 'an unknown handle');
  m.setattr(alice, f, { valid: FATTR_SIZE, size: 3 });
  const d = dir(m, ROOT, 'd', 0o777);
  throwsErrno(() => m.setattr(nobody, d, { valid: FATTR_SIZE, size: 0 }), Errno.EISDIR, 'the type first');
});

test('utimensat: UTIME_NOW for both needs ownership or write permission, anything else ownership', () => {
  const m = fs();
  const f = file(m, ROOT, 'f', 0o666, 1000, 1000);
  const touch: SetattrIn = { valid: FATTR_ATIME | FATTR_MTIME | FATTR_ATIME_NOW | FATTR_MTIME_NOW, atimeNow: true, mtimeNow: true };
  const explicit: SetattrIn = { valid: FATTR_ATIME | FATTR_MTIME, atime: 1, atimensec: 2, mtime: 3, mtimensec: 4 };
  const atimeNowOnly: SetattrIn = { valid: FATTR_ATIME | FATTR_ATIME_NOW, atimeNow: true }; // mtime UTIME_OMIT
  m.setattr(nobody, f, touch);
  throwsErrno(() => m.setattr(nobody, f, explicit), Errno.EPERM);
  throwsErrno(() => m.setattr(nobody, f, atimeNowOnly), Errno.EPERM);
  throwsErrno(() => m.setattr(nobody, f, { valid: FATTR_MTIME, mtime: 5 }), Errno.EPERM);
  m.setattr(alice, f, explicit);
  m.setattr(alice, f, atimeNowOnly);
  m.setattr(root, f, explicit);
  const ro = file(m, ROOT, 'ro', 0o644, 1000, 1000);
  throwsErrno(() => m.setattr(nobody, ro, touch), Errno.EACCES);
  m.setattr(alice, ro, touch);
  // Group write through a supplementary group is write permission too.
  const grp = file(m, ROOT, 'grp', 0o664, 0, 3000);
  m.setattr(bob, grp, touch);
  // With the writeback cache the kernel sends its own mtime and ctime: held to the touch rule.
  const wb: SetattrIn = { valid: FATTR_MTIME | FATTR_CTIME, mtime: 7, mtimensec: 0, ctime: 7, ctimensec: 0 };
  m.setattr(nobody, f, wb);
  throwsErrno(() => m.setattr(nobody, ro, wb), Errno.EACCES);
});

test('a refused change changes nothing, not even ctime', () => {
  const m = fs();
  const f = file(m, ROOT, 'f', 0o644, 1000, 1000);
  const before = m.getattr(root, f, undefined).attr;
  throwsErrno(() => m.setattr(nobody, f, { valid: FATTR_MODE | FATTR_ATIME_NOW | FATTR_MTIME_NOW, mode: 0o777, atimeNow: true, mtimeNow: true }), Errno.EACCES);
  throwsErrno(() => m.setattr(alice, f, { valid: FATTR_MODE | FATTR_UID, mode: 0o600, uid: 0 }), Errno.EPERM);
  assert.deepEqual(m.getattr(root, f, undefined).attr, before);
});

test('access(2) and xattrs count the supplementary groups, with or without checkPermissions', () => {
  for (const checkPermissions of [true, false]) {
    const m = fs({ checkPermissions });
    const f = file(m, ROOT, 'f', 0o660, 0, 3000);
    m.access(bob, f, 4 | 2);
    throwsErrno(() => m.access(alice, f, 4), Errno.EACCES);
    throwsErrno(() => m.access(bobBackground, f, 4), Errno.EACCES);
    m.setxattr(bob, f, 'user.k', Buffer.from('v'), 0, 0);
    assert.equal(Buffer.from(m.getxattr(bob, f, 'user.k', 0)).toString(), 'v');
    throwsErrno(() => m.getxattr(alice, f, 'user.k', 0), Errno.EACCES);
  }
});
