// MirrorFs driven directly through its Filesystem methods (no kernel, no mount) over a real
// directory: name checks, the inode table, the bounded fd cache and its re-resolution, swaps,
// readdir cookies, renames, creations as the caller.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, statSync, symlinkSync,
  writeFileSync, existsSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MirrorFs, type MirrorFsOptions } from '../../src/fs/mirror/index.js';
import { FuseError, Errno } from '../../src/errors.js';
import { bufferToName } from '../../src/abi/names.js';
import type { RequestContext } from '../../src/filesystem.js';
import { Dirents, DirentsPlus } from './dirents.js';
import { throwsErrno } from '../helpers/errno.js';

const ROOT = 1;
const O_RDONLY = 0, O_RDWR = 2, O_EXCL = 0o200;
const NOREPLACE = 1, EXCHANGE = 2;

function ctx(uid = 0, gid = 0): RequestContext {
  return { opcode: 0, unique: 0, nodeid: 0, uid, gid, pid: process.pid, umask: 0, signal: new AbortController().signal };
}
const c = ctx();

/** A scratch source directory, removed after `body`. */
async function withSource(body: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = mkdtempSync(join(realpathSync(tmpdir()), 'fuse-uring-mirror-unit-'));
  try {
    await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function mirror(dir: string, opts: MirrorFsOptions = {}): MirrorFs {
  return new MirrorFs(dir, { log: () => {}, ...opts });
}

async function rejectsErrno(p: unknown, errno: number): Promise<void> {
  await assert.rejects(async () => { await p; }, (e: unknown) => e instanceof FuseError && e.errno === errno);
}


/** Every name of a directory, reading pages of `page` entries, resuming at each last offset. */
function listAll(m: MirrorFs, nodeid: number, page: number): string[] {
  const fh = m.opendir(c, nodeid, O_RDONLY).fh!;
  const names: string[] = [];
  let off = 0;
  for (;;) {
    const d = new Dirents(page);
    m.readdir(c, nodeid, fh, off, d);
    if (d.list.length === 0) break;
    names.push(...d.list.map((e) => e.name));
    off = d.list[d.list.length - 1]!.off;
  }
  m.releasedir(c, nodeid, fh, 0);
  return names;
}

test('names the kernel never sends are refused, not interpreted', async () => {
  await withSource((dir) => {
    mkdirSync(join(dir, 'sub'));
    const m = mirror(dir);
    for (const bad of ['', '.', '..', 'a/b', '/etc', 'a\0b', '../etc']) {
      throwsErrno(() => m.lookup(c, ROOT, bad), Errno.EINVAL);
      throwsErrno(() => m.mkdir(c, ROOT, bad, 0o755, 0), Errno.EINVAL);
    }
    throwsErrno(() => m.lookup(c, ROOT, 'x'.repeat(256)), Errno.ENAMETOOLONG);
    throwsErrno(() => m.symlink(c, ROOT, 'l', 'a\0b'), Errno.EINVAL);
    throwsErrno(() => m.lookup(c, ROOT, 'missing'), Errno.ENOENT);
    m.destroy();
  });
});

test('a nodeid is stable per inode while the kernel holds it, and forget frees it', async () => {
  await withSource((dir) => {
    writeFileSync(join(dir, 'f'), 'hello');
    const m = mirror(dir);
    const a = m.lookup(c, ROOT, 'f');
    const b = m.lookup(c, ROOT, 'f');
    assert.equal(a.nodeid, b.nodeid);
    assert.notEqual(a.nodeid, ROOT);
    assert.equal(a.attr.ino, statSync(join(dir, 'f')).ino);
    assert.equal(a.attr.size, 5);
    assert.equal(m.stats().nodes, 2);
    m.forget(a.nodeid, 1);
    assert.equal(m.stats().nodes, 2, 'one lookup still held');
    m.forget(a.nodeid, 1);
    assert.equal(m.stats().nodes, 1, 'forgotten: only the root is left');
    throwsErrno(() => m.getattr(c, a.nodeid, undefined), Errno.ESTALE);
    // A new lookup gets a new nodeid: nodeids are never reused.
    assert.ok(m.lookup(c, ROOT, 'f').nodeid > a.nodeid);
    m.destroy();
  });
});

test('a symlink is a symlink: its target is bytes, never followed', async () => {
  await withSource((dir) => {
    symlinkSync('/etc/passwd', join(dir, 'pw'));
    const m = mirror(dir);
    const e = m.lookup(c, ROOT, 'pw');
    assert.equal(e.attr.mode & 0o170000, 0o120000);
    assert.equal(m.readlink(c, e.nodeid), '/etc/passwd');
    assert.equal(m.getattr(c, e.nodeid, undefined).attr.size, '/etc/passwd'.length);
    // Opening it is refused, never done on the target.
    return rejectsErrno(m.open(c, e.nodeid, O_RDONLY), Errno.ELOOP).finally(() => m.destroy());
  });
});

test('the fd cache stays within its capacity and evicted nodes are found again by name', async () => {
  await withSource((dir) => {
    for (let i = 0; i < 40; i++) {
      mkdirSync(join(dir, `d${i}`));
      writeFileSync(join(dir, `d${i}`, 'f'), `file ${i}`);
    }
    const m = mirror(dir, { maxCachedFds: 4 });
    const dirs: number[] = [];
    const files: number[] = [];
    for (let i = 0; i < 40; i++) {
      dirs.push(m.lookup(c, ROOT, `d${i}`).nodeid);
      files.push(m.lookup(c, dirs[i]!, 'f').nodeid);
      assert.ok(m.stats().cachedFds <= 4, JSON.stringify(m.stats()));
    }
    // Every node still answers, including calls that need the node's own fd.
    for (let i = 0; i < 40; i++) {
      const fh = m.opendir(c, dirs[i]!, O_RDONLY).fh!;
      m.releasedir(c, dirs[i]!, fh, 0);
      assert.equal(m.statfs(c, files[i]!).namelen, 255);
      assert.equal(m.getattr(c, files[i]!, undefined).attr.size, `file ${i}`.length);
    }
    const s = m.stats();
    assert.ok(s.cachedFds <= 4, JSON.stringify(s));
    assert.ok(s.evictions > 30 && s.resolutions > 40, JSON.stringify(s));
    m.destroy();
  });
});

test('a directory swapped for a symlink: a held fd keeps working in the moved directory; a re-resolution says ESTALE', async () => {
  await withSource(async (dir) => {
    const src = join(dir, 'src');
    const outside = join(dir, 'outside');
    mkdirSync(join(src, 'work'), { recursive: true });
    mkdirSync(join(src, 'other'));
    mkdirSync(outside);
    writeFileSync(join(src, 'work', 'inside'), 'in');
    writeFileSync(join(outside, 'inside'), 'OUTSIDE');

    // Held: the directory's fd is cached when the swap happens.
    let m = mirror(src);
    let work = m.lookup(c, ROOT, 'work').nodeid;
    m.lookup(c, work, 'inside');
    renameSync(join(src, 'work'), join(src, 'work.moved'));
    symlinkSync(outside, join(src, 'work'));
    const made = m.mkdir(c, work, 'made-after-swap', 0o755, 0);
    assert.ok(made.nodeid > 0);
    assert.ok(existsSync(join(src, 'work.moved', 'made-after-swap')), 'created in the directory the nodeid means');
    assert.ok(!existsSync(join(outside, 'made-after-swap')), 'never outside the root');
    assert.equal(m.lookup(c, work, 'inside').attr.size, 2, 'the inside file, not the outside one');
    // The name itself is now a symlink to the kernel.
    assert.equal(m.lookup(c, ROOT, 'work').attr.mode & 0o170000, 0o120000);
    m.destroy();

    // Evicted: the name leads to a symlink now: ESTALE, nothing done anywhere.
    rmSync(join(src, 'work'));
    renameSync(join(src, 'work.moved'), join(src, 'work'));
    m = mirror(src, { maxCachedFds: 1 });
    work = m.lookup(c, ROOT, 'work').nodeid;
    m.lookup(c, work, 'inside'); // work's fd cached…
    m.statfs(c, m.lookup(c, ROOT, 'other').nodeid); // …and evicted by other's
    renameSync(join(src, 'work'), join(src, 'work.moved'));
    symlinkSync(outside, join(src, 'work'));
    throwsErrno(() => m.mkdir(c, work, 'made-after-evicted-swap', 0o755, 0), Errno.ESTALE);
    throwsErrno(() => m.lookup(c, work, 'inside'), Errno.ESTALE);
    assert.ok(!existsSync(join(outside, 'made-after-evicted-swap')));
    assert.ok(!existsSync(join(src, 'work.moved', 'made-after-evicted-swap')));
    assert.ok(m.stats().stale >= 1);
    m.destroy();
  });
});

test('readdir pages over a large ext4-style directory: every name once, small offsets, resumable', async () => {
  await withSource((dir) => {
    const want = new Set<string>(['.', '..']);
    for (let i = 0; i < 3000; i++) {
      writeFileSync(join(dir, `entry-${i}`), '');
      want.add(`entry-${i}`);
    }
    const m = mirror(dir);
    for (const page of [1, 7, 1000]) {
      const names = listAll(m, ROOT, page);
      assert.equal(names.length, want.size, `page ${page}`);
      assert.deepEqual(new Set(names), want, `page ${page}`);
    }
    // Offsets are entry counts (the source's 64-bit d_off cookies stay inside the handle).
    const fh = m.opendir(c, ROOT, O_RDONLY).fh!;
    const d = new Dirents();
    m.readdir(c, ROOT, fh, 0, d);
    assert.deepEqual(d.list.slice(0, 3).map((e) => e.off), [1, 2, 3]);
    // Seeking back to an earlier offset gives the same continuation.
    const again = new Dirents(5);
    m.readdir(c, ROOT, fh, 10, again);
    assert.deepEqual(again.list.map((e) => e.name), d.list.slice(10, 15).map((e) => e.name));
    assert.equal(d.list.find((e) => e.name === '..')!.ino, statSync(dir).ino, '".." of the root is the root');
    m.releasedir(c, ROOT, fh, 0);
    m.destroy();
  });
});

test('readdirplus counts a lookup only for the entries the kernel got', async () => {
  await withSource((dir) => {
    for (let i = 0; i < 10; i++) writeFileSync(join(dir, `f${i}`), 'x'.repeat(i));
    const m = mirror(dir);
    const fh = m.opendir(c, ROOT, O_RDONLY).fh!;
    const d = new DirentsPlus(6); // 6 of the 12 entries fit (getdents order: "." need not come first)
    m.readdirplus(c, ROOT, fh, 0, d);
    assert.equal(d.list.length, 6);
    for (const e of d.list) if (e.name === '.' || e.name === '..') assert.equal(e.entry.nodeid, 0, `"${e.name}" carries no entry`);
    const got = d.list.filter((e) => e.entry.nodeid !== 0);
    assert.equal(m.stats().nodes, 1 + got.length, 'the entry that did not fit was not counted');
    for (const e of got) assert.equal(e.entry.attr.size, Number(e.name.slice(1)));
    for (const e of got) m.forget(e.entry.nodeid, 1);
    assert.equal(m.stats().nodes, 1);
    m.releasedir(c, ROOT, fh, 0);
    m.destroy();
  });
});

test('rename with NOREPLACE and EXCHANGE, and moved nodes are found again under their new names', async () => {
  await withSource(async (dir) => {
    mkdirSync(join(dir, 'a'));
    mkdirSync(join(dir, 'b'));
    writeFileSync(join(dir, 'a', 'x'), 'xx');
    writeFileSync(join(dir, 'b', 'y'), 'yyy');
    const m = mirror(dir, { maxCachedFds: 1 });
    const a = m.lookup(c, ROOT, 'a').nodeid;
    const b = m.lookup(c, ROOT, 'b').nodeid;
    const x = m.lookup(c, a, 'x').nodeid;
    const y = m.lookup(c, b, 'y').nodeid;
    await rejectsErrno(m.rename(c, a, 'x', b, 'y', NOREPLACE), Errno.EEXIST);
    await m.rename(c, a, 'x', b, 'y', EXCHANGE);
    assert.equal(readFileSync(join(dir, 'b', 'y'), 'utf8'), 'xx');
    assert.equal(readFileSync(join(dir, 'a', 'x'), 'utf8'), 'yyy');
    await m.rename(c, b, 'y', ROOT, 'top', 0);
    // With a one-fd cache every node is re-resolved from its recorded parent and name.
    m.statfs(c, a);
    assert.equal(m.getattr(c, x, undefined).attr.size, 2);
    const st = m.stats();
    m.statfs(c, x); // needs x's own fd: resolved as "top" in the root
    m.statfs(c, y); // y is now a/x
    assert.ok(m.stats().resolutions > st.resolutions);
    assert.equal(m.stats().stale, 0);
    m.destroy();
  });
});

test('names with bytes that are not UTF-8 round-trip to the source', async () => {
  await withSource(async (dir) => {
    const raw = Buffer.from([0x66, 0xff, 0x2d, 0xc3, 0x28]); // "f\xff-\xc3("
    const name = bufferToName(raw);
    const m = mirror(dir);
    const r = await m.create(c, ROOT, name, 0o644, 0, O_RDWR);
    await m.release(c, r.nodeid, r.fh!);
    const onDisk = readdirSync(Buffer.from(dir), { encoding: 'buffer' });
    assert.ok(onDisk.some((b) => b.equals(raw)), 'the exact bytes are the name on the source');
    const listed = listAll(m, ROOT, 100);
    assert.ok(listed.includes(name));
    assert.equal(m.lookup(c, ROOT, name).nodeid, r.nodeid);
    m.destroy();
  });
});

test('data through userspace I/O, truncate, times with UTIME_NOW / UTIME_OMIT, xattrs', async () => {
  await withSource(async (dir) => {
    const m = mirror(dir);
    const r = await m.create(c, ROOT, 'data', 0o600, 0, O_RDWR);
    assert.equal(r.backingId, undefined, 'no session attached: userspace I/O');
    assert.equal(await m.write(c, r.nodeid, r.fh!, 0, Buffer.from('hello world'), 0, O_RDWR), 11);
    const out = Buffer.alloc(64);
    assert.equal(await m.read(c, r.nodeid, r.fh!, 6, 64, out), 5);
    assert.equal(out.subarray(0, 5).toString(), 'world');
    await m.setattr(c, r.nodeid, { valid: 0, size: 5 });
    assert.equal(readFileSync(join(dir, 'data'), 'utf8'), 'hello');
    await m.setattr(c, r.nodeid, { valid: 0, atime: 1000, atimensec: 5, mtime: 2000, mtimensec: 7 });
    let st = statSync(join(dir, 'data'), { bigint: true });
    assert.equal(st.atimeNs, 1000_000_000_005n);
    assert.equal(st.mtimeNs, 2000_000_000_007n);
    await m.setattr(c, r.nodeid, { valid: 0, mtimeNow: true }); // atime omitted
    st = statSync(join(dir, 'data'), { bigint: true });
    assert.equal(st.atimeNs, 1000_000_000_005n);
    assert.ok(st.mtimeNs > 2000_000_000_007n);
    const a = await m.setattr(c, r.nodeid, { valid: 0, mode: 0o4751 });
    assert.equal(a.attr.mode & 0o7777, 0o4751);
    m.setxattr(c, r.nodeid, 'user.k', Buffer.from('v1'), 0, 0);
    assert.equal(Buffer.from(m.getxattr(c, r.nodeid, 'user.k', 100)).toString(), 'v1');
    assert.deepEqual(m.listxattr(c, r.nodeid, 100).filter((n) => n.startsWith('user.')), ['user.k']);
    throwsErrno(() => m.setxattr(c, r.nodeid, 'user.k', Buffer.from('v2'), 1 /* XATTR_CREATE */, 0), Errno.EEXIST);
    m.removexattr(c, r.nodeid, 'user.k');
    throwsErrno(() => m.getxattr(c, r.nodeid, 'user.k', 100), Errno.ENODATA);
    await m.release(c, r.nodeid, r.fh!);
    await rejectsErrno(m.create(c, ROOT, 'data', 0o600, 0, O_RDWR | O_EXCL), Errno.EEXIST);
    m.destroy();
  });
});

test('creations belong to the caller (fsuid switch), with the mode the kernel sent', { skip: process.geteuid?.() !== 0 && 'needs root' }, async () => {
  await withSource(async (dir) => {
    const m = mirror(dir);
    const u = ctx(4321, 1234);
    const f = await m.create(u, ROOT, 'f', 0o640, 0, O_RDWR);
    await m.release(u, f.nodeid, f.fh!);
    m.mkdir(u, ROOT, 'd', 0o750, 0);
    m.symlink(u, ROOT, 'l', 'target');
    m.mknod(u, ROOT, 'p', 0o010600, 0, 0);
    for (const [n, mode] of [['f', 0o100640], ['d', 0o40750], ['l', 0o120777], ['p', 0o10600]] as const) {
      const st = lstatSync(join(dir, n));
      assert.deepEqual([st.uid, st.gid, st.mode], [4321, 1234, mode], n);
    }
    assert.equal(process.getuid!(), 0, 'the daemon itself is still root');
    // And chown through setattr goes through as root.
    const e = m.lookup(c, ROOT, 'l');
    await m.setattr(c, e.nodeid, { valid: 0, uid: 7, gid: 8 });
    assert.deepEqual([lstatSync(join(dir, 'l')).uid, lstatSync(join(dir, 'l')).gid], [7, 8]);
    m.destroy();
  });
});

test('O_TMPFILE: an unnamed file that link() can give a name', async () => {
  await withSource(async (dir) => {
    const m = mirror(dir);
    const t = m.tmpfile(c, ROOT, 0o600, 0, O_RDWR);
    await m.write(c, t.nodeid, t.fh!, 0, Buffer.from('tmp data'), 0, O_RDWR);
    assert.deepEqual(readdirSync(dir), []);
    const e = m.link(c, t.nodeid, ROOT, 'named');
    assert.equal(e.nodeid, t.nodeid);
    await m.release(c, t.nodeid, t.fh!);
    assert.equal(readFileSync(join(dir, 'named'), 'utf8'), 'tmp data');
    m.destroy();
  });
});
