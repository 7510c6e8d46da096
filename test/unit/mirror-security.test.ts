// MirrorFs handlers called directly, as a malicious (or broken) kernel could call them: names that
// would climb out of a directory or name several components, raw bytes with '/' and NUL, a
// symlink's nodeid used as a directory, CREATE for a name that exists, an inode number reused by
// another kind of file. Nothing may succeed, and nothing may appear anywhere outside the source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MirrorFs } from '../../src/fs/mirror/index.js';
import { FuseError, Errno } from '../../src/errors.js';
import { bufferToName } from '../../src/abi/names.js';
import type { RequestContext } from '../../src/filesystem.js';

const ROOT = 1;
const O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0o100, O_EXCL = 0o200, O_TRUNC = 0o1000;
const S_IFCHR = 0o020000, S_IFIFO = 0o010000, S_IFREG = 0o100000;

function ctx(uid = 0, gid = 0): RequestContext {
  return { opcode: 0, unique: 0, nodeid: 0, uid, gid, pid: process.pid, umask: 0, signal: new AbortController().signal };
}
const c = ctx();

/** scratch/src is the source; scratch/outside must never change. */
async function withScratch(body: (src: string, outside: string, scratch: string) => Promise<void> | void): Promise<void> {
  const scratch = mkdtempSync(join(realpathSync(tmpdir()), 'fuse-uring-mirror-sec-'));
  try {
    mkdirSync(join(scratch, 'src'));
    mkdirSync(join(scratch, 'outside'));
    writeFileSync(join(scratch, 'outside', 'secret'), 'SECRET');
    await body(join(scratch, 'src'), join(scratch, 'outside'), scratch);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Every path under `dir` with its size and mode: what must not change. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p, { throwIfNoEntry: false });
      out.push(`${p} ${st?.size} ${st?.mode}`);
      if (st?.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

async function fails(what: string, f: () => unknown, ...errnos: number[]): Promise<void> {
  let r: unknown;
  try {
    r = await f();
  } catch (e) {
    assert.ok(e instanceof FuseError, `${what}: threw ${String(e)}, not a FuseError`);
    if (errnos.length > 0) assert.ok(errnos.includes(e.errno), `${what}: errno ${e.errno}, expected one of ${errnos.join(', ')}`);
    return;
  }
  assert.fail(`${what}: succeeded (${JSON.stringify(r)})`);
}

/** Names no kernel sends for a directory entry, as strings and as the raw bytes the kernel would pass on. */
const BAD_NAMES: [label: string, name: string][] = [
  ['empty', ''], ['.', '.'], ['..', '..'], ['a/b', 'a/b'], ['/etc', '/etc'], ['../outside', '../outside'],
  ['../../../../etc/passwd', '../../../../etc/passwd'], ['NUL inside', 'a\0b'], ['NUL then ..', '\0..'],
  ['raw bytes with /', bufferToName(Buffer.from([0x2e, 0x2e, 0x2f, 0x6f, 0x75, 0x74]))],
  ['raw bytes with NUL', bufferToName(Buffer.from([0xff, 0x00, 0x2f]))],
  ['trailing /', 'sub/'], ['only slashes', '//'],
];

test('names that are not one component are refused by every handler that takes one, and nothing is made anywhere', async () => {
  await withScratch(async (src, outside, scratch) => {
    mkdirSync(join(src, 'sub'));
    writeFileSync(join(src, 'f'), 'file');
    const before = snapshot(scratch);
    const m = new MirrorFs(src, { log: () => {} });
    const f = m.lookup(c, ROOT, 'f').nodeid;
    const sub = m.lookup(c, ROOT, 'sub').nodeid;
    for (const [label, bad] of BAD_NAMES) {
      for (const dir of [ROOT, sub]) {
        const w = `${label} in ${dir === ROOT ? 'the root' : 'sub'}`;
        await fails(`lookup ${w}`, () => m.lookup(c, dir, bad), Errno.EINVAL);
        await fails(`mkdir ${w}`, () => m.mkdir(c, dir, bad, 0o755, 0), Errno.EINVAL);
        await fails(`mknod ${w}`, () => m.mknod(c, dir, bad, S_IFIFO | 0o644, 0, 0), Errno.EINVAL);
        await fails(`symlink ${w}`, () => m.symlink(c, dir, bad, 'target'), Errno.EINVAL);
        await fails(`link ${w}`, () => m.link(c, f, dir, bad), Errno.EINVAL);
        await fails(`unlink ${w}`, () => m.unlink(c, dir, bad), Errno.EINVAL);
        await fails(`rmdir ${w}`, () => m.rmdir(c, dir, bad), Errno.EINVAL);
        await fails(`create ${w}`, () => m.create(c, dir, bad, 0o644, 0, O_RDWR | O_CREAT), Errno.EINVAL);
        await fails(`rename from ${w}`, () => m.rename(c, dir, bad, ROOT, 'new', 0), Errno.EINVAL);
        await fails(`rename to ${w}`, () => m.rename(c, ROOT, 'f', dir, bad, 0), Errno.EINVAL);
        await fails(`rename exchange to ${w}`, () => m.rename(c, ROOT, 'f', dir, bad, 2), Errno.EINVAL);
      }
    }
    // U+DC2F is not an escaped byte (only U+DC80–U+DCFF are): it cannot smuggle a '/' in.
    await fails('lookup of a lone surrogate', () => m.lookup(c, ROOT, 'sub\uDC2Ff'), Errno.ENOENT);
    // A name that merely starts with dots is an ordinary name, made inside the source.
    m.mkdir(c, ROOT, '...', 0o755, 0);
    m.mkdir(c, ROOT, '..a', 0o755, 0);
    assert.ok(statSync(join(src, '...')).isDirectory() && statSync(join(src, '..a')).isDirectory());
    rmSync(join(src, '...'), { recursive: true });
    rmSync(join(src, '..a'), { recursive: true });
    assert.deepEqual(snapshot(scratch), before, 'nothing changed in the source, beside it or outside');
    assert.equal(readFileSync(join(outside, 'secret'), 'utf8'), 'SECRET');
    m.destroy();
  });
});

test('xattr names with NUL and symlink targets with NUL are refused', async () => {
  await withScratch(async (src) => {
    writeFileSync(join(src, 'f'), '');
    const m = new MirrorFs(src, { log: () => {} });
    const f = m.lookup(c, ROOT, 'f').nodeid;
    await fails('setxattr', () => m.setxattr(c, f, 'user.a\0b', Buffer.from('v'), 0, 0), Errno.EINVAL);
    await fails('getxattr', () => m.getxattr(c, f, 'user.a\0b', 10), Errno.EINVAL);
    await fails('removexattr', () => m.removexattr(c, f, '\0'), Errno.EINVAL);
    await fails('symlink target', () => m.symlink(c, ROOT, 'l', '/etc/passwd\0'), Errno.EINVAL);
    assert.deepEqual(readdirSync(src), ['f']);
    m.destroy();
  });
});

test('a symlink nodeid used as a directory never reaches its target (absolute or ../../ relative)', async () => {
  await withScratch(async (src, outside, scratch) => {
    mkdirSync(join(src, 'a', 'b'), { recursive: true });
    symlinkSync(outside, join(src, 'abs'));
    symlinkSync('../../outside', join(src, 'a', 'rel'));
    symlinkSync('../../../outside', join(src, 'a', 'b', 'rel'));
    const before = snapshot(scratch);
    const m = new MirrorFs(src, { log: () => {} });
    const a = m.lookup(c, ROOT, 'a').nodeid;
    const b = m.lookup(c, a, 'b').nodeid;
    const links = [m.lookup(c, ROOT, 'abs'), m.lookup(c, a, 'rel'), m.lookup(c, b, 'rel')];
    assert.deepEqual(links.map((e) => m.readlink(c, e.nodeid)), [outside, '../../outside', '../../../outside'], 'targets are returned as bytes');
    for (const e of links) {
      assert.equal(e.attr.mode & 0o170000, 0o120000, 'a symlink node');
      const l = e.nodeid;
      await fails('lookup through a symlink', () => m.lookup(c, l, 'secret'), Errno.ENOTDIR);
      await fails('create through a symlink', () => m.create(c, l, 'new', 0o644, 0, O_RDWR | O_CREAT), Errno.ENOTDIR);
      await fails('mkdir through a symlink', () => m.mkdir(c, l, 'd', 0o755, 0), Errno.ENOTDIR);
      await fails('mknod through a symlink', () => m.mknod(c, l, 'p', S_IFIFO | 0o644, 0, 0), Errno.ENOTDIR);
      await fails('symlink through a symlink', () => m.symlink(c, l, 's', 'x'), Errno.ENOTDIR);
      await fails('unlink through a symlink', () => m.unlink(c, l, 'secret'), Errno.ENOTDIR);
      await fails('rename through a symlink', () => m.rename(c, l, 'secret', ROOT, 'stolen', 0), Errno.ENOTDIR);
      await fails('rename into a symlink', () => m.rename(c, ROOT, 'a', l, 'moved', 0), Errno.ENOTDIR);
      await fails('link into a symlink', () => m.link(c, a, l, 'x'), Errno.ENOTDIR, Errno.EPERM);
      await fails('opendir of a symlink', () => m.opendir(c, l, O_RDONLY), Errno.ENOTDIR);
      await fails('open of a symlink', () => m.open(c, l, O_RDONLY), Errno.ELOOP);
      await fails('tmpfile in a symlink', () => m.tmpfile(c, l, 0o600, 0, O_RDWR), Errno.ENOTDIR);
      await fails('truncate of a symlink', () => m.setattr(c, l, { valid: 0, size: 0 }), Errno.EINVAL);
    }
    assert.deepEqual(snapshot(scratch), before, 'nothing changed anywhere');
    m.destroy();
  });
});

test('CREATE for a name that exists answers ESTALE (the kernel looks again and checks); it never opens, truncates or follows it', async () => {
  await withScratch(async (src, outside) => {
    writeFileSync(join(src, 'victim'), 'precious', { mode: 0o600 });
    symlinkSync(join(outside, 'secret'), join(src, 'link'));
    execFileSync('mkfifo', [join(src, 'fifo')]);
    mkdirSync(join(src, 'dir'));
    const m = new MirrorFs(src, { log: () => {} });
    const nobody = ctx(65534, 65534);
    for (const name of ['victim', 'link', 'fifo', 'dir']) {
      await fails(`create over ${name}`, () => m.create(nobody, ROOT, name, 0o644, 0, O_WRONLY | O_CREAT | O_TRUNC), Errno.ESTALE);
      await fails(`create O_EXCL over ${name}`, () => m.create(nobody, ROOT, name, 0o644, 0, O_WRONLY | O_CREAT | O_EXCL), Errno.EEXIST);
    }
    assert.equal(readFileSync(join(src, 'victim'), 'utf8'), 'precious', 'O_TRUNC was not applied');
    assert.equal(readFileSync(join(outside, 'secret'), 'utf8'), 'SECRET');
    assert.equal(m.stats().openFiles, 0, 'no file was opened');
    m.destroy();
  });
});

test('an evicted node whose inode number now belongs to another kind of file is stale, not reopened', { skip: process.geteuid?.() !== 0 && 'mknod of a device needs root' }, async (t) => {
  await withScratch(async (src) => {
    writeFileSync(join(src, 'f'), 'data');
    mkdirSync(join(src, 'other'));
    const m = new MirrorFs(src, { log: () => {}, maxCachedFds: 1 });
    const f = m.lookup(c, ROOT, 'f').nodeid;
    m.statfs(c, f); // f's fd cached…
    m.statfs(c, m.lookup(c, ROOT, 'other').nodeid); // …and evicted
    const ino = statSync(join(src, 'f')).ino;
    unlinkSync(join(src, 'f'));
    // ext4 hands the freed inode number out again: a device node takes it under the same name.
    m.mknod(c, ROOT, 'f', S_IFCHR | 0o666, (1 << 8) | 3, 0);
    const reused = statSync(join(src, 'f')).ino === ino;
    await fails('open of the old node', () => m.open(c, f, O_RDWR), Errno.ESTALE);
    await fails('truncate of the old node', () => m.setattr(c, f, { valid: 0, size: 0 }), Errno.ESTALE);
    assert.ok(m.stats().stale >= 1);
    t.diagnostic(reused ? 'the device node got the old inode number: type and birth time told them apart'
      : 'the inode number was not reused this time: the key alone decided');
    m.destroy();
  });
});

test('mknod of a device node is done for the caller the kernel let through (it checks CAP_MKNOD), owned by that caller', { skip: process.geteuid?.() !== 0 && 'needs root' }, async () => {
  await withScratch(async (src) => {
    const m = new MirrorFs(src, { log: () => {} });
    const e = m.mknod(c, ROOT, 'null', S_IFCHR | 0o666, (1 << 8) | 3, 0);
    assert.equal(e.attr.mode, S_IFCHR | 0o666);
    const st = statSync(join(src, 'null'));
    assert.ok(st.isCharacterDevice());
    assert.equal(st.rdev, (1 << 8) | 3);
    // The daemon never opens a device node of its source for anyone.
    await fails('open of a device node', () => m.open(c, e.nodeid, O_RDWR), Errno.EINVAL);
    const reg = m.mknod(c, ROOT, 'plain', S_IFREG | 0o644, 0, 0);
    assert.equal(reg.attr.mode, S_IFREG | 0o644);
    m.destroy();
  });
});
