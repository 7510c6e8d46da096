// The path API (fuse-uring/paths) through real mounts over both transports: PathMemFs behind the
// bridge, served by test/fixtures/paths-daemon.ts in a child process, used through node:fs and
// ordinary programs; and the bridge's own promises: paths stay right when a directory above a
// known file is renamed, hard links, names that are not UTF-8, a table bounded by FORGET.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  appendFile, link, mkdir, open, readFile, readdir, readlink, rename, stat, symlink, truncate, unlink, writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { withFixture, type Fixture, type Transport } from '../fixtures/harness.js';
import { expectErrno, inBatches } from '../helpers/files.js';
import { uringSkipReason } from '../helpers/proc.js';
import { mustRun, sh } from '../helpers/run.js';
import { bufferToName } from '../../src/abi/names.js';

const T = { timeout: 120_000 };

const nodes = (f: Fixture) => f.call<{ count: number; paths: string[] }>('nodes');

/** Polls `nodes` until `ok(count)` (FORGETs come when the kernel gets to them), or fails after `ms`. */
async function waitForNodes(f: Fixture, what: string, ok: (n: number) => boolean, ms = 15_000): Promise<number> {
  const end = Date.now() + ms;
  let n = (await nodes(f)).count;
  while (!ok(n) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
    n = (await nodes(f)).count;
  }
  assert.ok(ok(n), `${what}: the bridge holds ${n} nodes`);
  return n;
}

for (const transport of ['uring', 'dev'] as const satisfies readonly Transport[]) {
  const skip = transport === 'uring' ? uringSkipReason() : false;

  describe(`the path API over ${transport === 'uring' ? 'FUSE-over-io_uring' : 'classic /dev/fuse'}`, { skip }, () => {
    for (const mode of ['sync', 'async'] as const) {
      it(`PathMemFs (${mode} answers) under node:fs and cp, dd, stat, mv, rm, ln, ls, truncate, touch, xattrs`, T, () =>
        withFixture('paths-daemon.js', transport, mode === 'async' ? ['--async'] : [], async (f) => {
          const at = (...n: string[]) => join(f.mnt, ...n);
          await writeFile(at('a.txt'), 'alpha\n');
          await appendFile(at('a.txt'), 'beta\n');
          assert.equal(await mustRun('cat', [at('a.txt')]), 'alpha\nbeta\n');
          await mustRun('mkdir', ['-p', at('x', 'y', 'z')]);
          await mustRun('cp', [at('a.txt'), at('x', 'y', 'z', 'copy')]);
          await mustRun('cmp', [at('a.txt'), at('x', 'y', 'z', 'copy')]);
          await mustRun('dd', ['if=/dev/urandom', `of=${at('r.bin')}`, 'bs=256k', 'count=12', 'status=none']);
          await mustRun('dd', [`if=${at('r.bin')}`, `of=${at('r2.bin')}`, 'bs=1M', 'status=none']);
          await mustRun('cmp', [at('r.bin'), at('r2.bin')]);
          assert.equal((await mustRun('stat', ['-c', '%s %F', at('r.bin')])).trim(), `${3 << 20} regular file`);
          await mustRun('mv', [at('x'), at('moved')]);
          assert.equal(await readFile(at('moved', 'y', 'z', 'copy'), 'utf8'), 'alpha\nbeta\n');
          await mustRun('ln', ['-s', '../a.txt', at('moved', 'sym')]);
          assert.equal(await readlink(at('moved', 'sym')), '../a.txt');
          assert.equal(await readFile(at('moved', 'sym'), 'utf8'), 'alpha\nbeta\n');
          await truncate(at('a.txt'), 3);
          assert.equal(await readFile(at('a.txt'), 'utf8'), 'alp');
          await mustRun('touch', ['-d', '2001-02-03 04:05:06.123456789', at('a.txt')]);
          assert.equal((await mustRun('stat', ['-c', '%y', at('a.txt')])).trim().slice(0, 29), '2001-02-03 04:05:06.123456789', 'utimens with nanoseconds');
          await mustRun('chmod', ['640', at('a.txt')]);
          assert.equal((await stat(at('a.txt'))).mode & 0o777, 0o640);
          const xattr = await mustRun('python3', ['-c', `
import os, sys
f = sys.argv[1]
os.setxattr(f, 'user.k', b'v1')
os.setxattr(f, 'user.k2', b'v2')
print(os.getxattr(f, 'user.k').decode(), sorted(os.listxattr(f)))
os.removexattr(f, 'user.k')
print(sorted(os.listxattr(f)))`, at('a.txt')]);
          assert.equal(xattr, "v1 ['user.k', 'user.k2']\n['user.k2']\n");
          await inBatches([...Array(300).keys()], 50, (i) => writeFile(at('moved', `n${i}`), String(i)));
          const ls = (await mustRun('ls', ['-1', at('moved')])).trim().split('\n');
          assert.equal(ls.length, 302);
          assert.equal(await readFile(at('moved', 'n299'), 'utf8'), '299');
          await mustRun('rm', ['-r', at('moved')]);
          await expectErrno(stat(at('moved')), 'ENOENT', 'removed with rm -r');
          await expectErrno(mkdir(at('a.txt')), 'EEXIST', 'mkdir over a file');
          await expectErrno(readdir(at('a.txt')), 'ENOTDIR', 'readdir of a file');
          await expectErrno(unlink(at('nothing')), 'ENOENT', 'unlink of a missing name');
          assert.match(await mustRun('df', [f.mnt]), /paths|fuse-uring/);
          assert.deepEqual((await readdir(f.mnt)).sort(), ['a.txt', 'r.bin', 'r2.bin']);
        }));
    }

    it('renaming a directory re-paths every file the kernel knows below it (cwd, cached names, open files)', T, () =>
      withFixture('paths-daemon.js', transport, [], async (f) => {
        const at = (...n: string[]) => join(f.mnt, ...n);
        await mkdir(at('a', 'b', 'c'), { recursive: true });
        await writeFile(at('a', 'b', 'c', 'f'), 'one');
        await stat(at('a', 'b', 'c', 'f')); // the kernel now holds a, b, c and f by nodeid
        const h = await open(at('a', 'b', 'c', 'f'), 'r+');
        try {
          await rename(at('a'), at('z'));
          const known = (await nodes(f)).paths;
          assert.ok(known.includes('/z/b/c/f'), `the table has the new path: ${known.join(' ')}`);
          assert.ok(!known.some((p) => p.startsWith('/a')), `no old path is left: ${known.join(' ')}`);
          // Operations on the cached nodeids (no new lookup) must reach the new paths.
          await mustRun('chmod', ['600', at('z', 'b', 'c', 'f')]);
          assert.equal((await stat(at('z', 'b', 'c', 'f'))).mode & 0o777, 0o600);
          await h.write(Buffer.from('ONE'), 0, 3, 0);
          assert.equal(await readFile(at('z', 'b', 'c', 'f'), 'utf8'), 'ONE');
          // A shell whose cwd is inside: its relative lookups start from the renamed directory's nodeid.
          const out = await sh('cd "$1/z/b" && mv "$1/z" "$1/w" && cat c/f && echo two > c/g && ls c', [f.mnt]);
          assert.equal(out, 'ONEf\ng\n');
          assert.equal(await readFile(at('w', 'b', 'c', 'g'), 'utf8'), 'two\n');
          // Across directories, and a directory renamed over an empty one.
          await mkdir(at('other'));
          await mkdir(at('other', 'empty'));
          await rename(at('w', 'b'), at('other', 'empty'));
          assert.equal(await readFile(at('other', 'empty', 'c', 'f'), 'utf8'), 'ONE');
          await f.call('calls'); // forget the getattr log so far
          await stat(at('other', 'empty', 'c', 'g'));
          await mustRun('setfattr', ['-n', 'user.x', '-v', 'y', at('other', 'empty', 'c', 'f')]).catch(async () => {
            await mustRun('python3', ['-c', 'import os, sys; os.setxattr(sys.argv[1], "user.x", b"y")', at('other', 'empty', 'c', 'f')]);
          });
          const seen = await f.call<string[]>('calls');
          assert.ok(seen.every((p) => !p.startsWith('/w') && !p.startsWith('/a') && !p.startsWith('/z')), `no stale path reached the filesystem: ${seen.join(' ')}`);
          const after = (await nodes(f)).paths;
          assert.ok(after.includes('/other/empty/c/f') && after.includes('/other/empty/c/g'), after.join(' '));
        } finally {
          await h.close();
        }
      }));

    it('hard links: one inode for the kernel, the file outlives its first name, and renames carry the other', T, () =>
      withFixture('paths-daemon.js', transport, [], async (f) => {
        const at = (...n: string[]) => join(f.mnt, ...n);
        await mkdir(at('d'));
        await writeFile(at('f'), 'shared');
        await link(at('f'), at('d', 'g'));
        const [sf, sg] = [await stat(at('f')), await stat(at('d', 'g'))];
        assert.equal(sf.ino, sg.ino);
        assert.equal(sf.nlink, 2, 'nlink right at once on the first name too');
        await appendFile(at('d', 'g'), '+more');
        assert.equal(await readFile(at('f'), 'utf8'), 'shared+more');
        const known = (await nodes(f)).paths;
        assert.ok(known.includes('/f') && known.includes('/d/g'), known.join(' '));
        await unlink(at('f'));
        assert.equal((await stat(at('d', 'g'))).nlink, 1);
        await rename(at('d'), at('e'));
        assert.equal(await readFile(at('e', 'g'), 'utf8'), 'shared+more');
        await mustRun('ln', [at('e', 'g'), at('third')]);
        assert.equal((await mustRun('stat', ['-c', '%h', at('third')])).trim(), '2');
        const tar = await sh('cd "$1" && tar cf - e third | tar tvf - | grep -c "link to" || true', [f.mnt]);
        assert.equal(tar.trim(), '1', 'tar sees the hard link');
      }));

    it('names that are not UTF-8 reach the filesystem escaped and come back byte for byte', T, () =>
      withFixture('paths-daemon.js', transport, [], async (f) => {
        const odd = Buffer.from([0x66, 0xff, 0xfe, 0x80, 0x2e, 0x74]);
        const dir = Buffer.from([0xc3, 0x28, 0x2d, 0xc0, 0xaf]);
        const p = (...parts: Buffer[]) => Buffer.concat([Buffer.from(f.mnt), ...parts.flatMap((x) => [Buffer.from('/'), x])]);
        await mkdir(p(dir));
        await writeFile(p(dir, odd), 'odd');
        assert.equal(await readFile(p(dir, odd), 'utf8'), 'odd');
        const names = await readdir(p(dir), { encoding: 'buffer' });
        assert.deepEqual(names, [odd]);
        const known = (await nodes(f)).paths;
        const expected = `/${bufferToName(dir)}/${bufferToName(odd)}`;
        assert.ok(known.includes(expected), `the path the filesystem saw is the escaped one: ${JSON.stringify(known)}`);
        const renamed = Buffer.concat([odd, Buffer.from([0xff])]);
        await rename(p(dir, odd), p(renamed));
        assert.deepEqual((await readdir(Buffer.from(f.mnt), { encoding: 'buffer' })).map((b) => b.toString('hex')).sort(),
          [dir.toString('hex'), renamed.toString('hex')].sort());
        await symlink(odd, p(dir, Buffer.from('link')));
        assert.deepEqual(await readlink(p(dir, Buffer.from('link')), { encoding: 'buffer' }), odd);
        const ls = await mustRun('python3', ['-c', 'import os, sys\nprint(*sorted(n.hex() for n in os.listdir(bytes.fromhex(sys.argv[1]))))', p(dir).toString('hex')]);
        assert.equal(ls.trim(), Buffer.from('link').toString('hex'));
        // 255 bytes is the limit whatever the bytes (a longer name could never be listed).
        const ff255 = Buffer.alloc(255, 0xff);
        await writeFile(p(ff255), 'long');
        assert.ok((await readdir(Buffer.from(f.mnt), { encoding: 'buffer' })).some((n) => n.equals(ff255)));
        await expectErrno(writeFile(p(Buffer.alloc(256, 0xff)), 'x'), 'ENAMETOOLONG', 'a 256-byte name');
        await expectErrno(mkdir(p(Buffer.alloc(300, 0x61))), 'ENAMETOOLONG', 'a 300-byte directory name');
      }));

    it('FORGET keeps the table bounded: unlinked files and invalidated names leave it', T, () =>
      withFixture('paths-daemon.js', transport, [], async (f) => {
        const N = 2000;
        const names = [...Array(N).keys()].map((i) => `file${i}`);
        await inBatches(names, 64, (n) => writeFile(join(f.mnt, n), n));
        await inBatches(names, 64, (n) => stat(join(f.mnt, n)));
        const held = (await nodes(f)).count;
        assert.ok(held >= N && held <= N + 2, `every file the kernel holds is in the table: ${held}`);
        // READDIRPLUS hands out entries too: each one the kernel takes is a lookup it will forget.
        const ls = await mustRun('ls', ['-l', f.mnt]);
        assert.equal(ls.trim().split('\n').length, N + 1);
        await mustRun('ls', ['-l', f.mnt]);
        await inBatches(names, 64, (n) => unlink(join(f.mnt, n)));
        await waitForNodes(f, 'after unlinking every file', (n) => n <= 2);
        // Names the kernel still caches go when the kernel drops them (here: told to by the daemon).
        await inBatches(names.slice(0, 500), 64, (n) => writeFile(join(f.mnt, n), n));
        assert.ok((await nodes(f)).count >= 500);
        assert.equal(await f.call<number>('inval', { names: names.slice(0, 500) }), 500);
        await waitForNodes(f, 'after invalidating 500 cached names', (n) => n <= 2);
        assert.equal(await f.call<number>('handles'), 0, 'every open was released');
        assert.equal(await readFile(join(f.mnt, 'file7'), 'utf8'), 'file7', 'and the files are still there');
      }));

    it('errors: FuseError, Node system errors and bare errnos give their errno; a throw or a bad result is EIO and serving goes on', T, () =>
      withFixture('paths-daemon.js', transport, ['--fs', 'faulty'], async (f) => {
        const at = (n: string) => join(f.mnt, n);
        await expectErrno(stat(at('eacces')), 'EACCES', 'FuseError(EACCES)');
        await expectErrno(stat(at('node-eisdir')), 'EISDIR', 'a Node.js EISDIR error');
        await expectErrno(stat(at('node-enoent')), 'ENOENT', 'a Node.js ENOENT error');
        await expectErrno(stat(at('errno-number')), 'ENOTDIR', 'throw -20');
        await expectErrno(stat(at('boom')), 'EIO', 'a plain Error');
        await expectErrno(stat(at('boom')), 'EIO', 'again');
        await expectErrno(stat(at('boom-async')), 'EIO', 'a rejected Promise');
        await expectErrno(stat(at('bad-stat')), 'EIO', 'getattr returned null');
        const slow = await stat(at('slow-ok'));
        assert.equal(slow.size, 7);
        assert.equal(slow.ino, 4242, 'st_ino from the Stat');
        await writeFile(at('fine'), 'still serving');
        assert.equal(await readFile(at('fine'), 'utf8'), 'still serving');
        assert.match(f.stderr(), /boom/, 'the plain Error is logged');
      }));

    it('negativeTimeout caches a missing name: the second stat does not reach the filesystem', T, () =>
      withFixture('paths-daemon.js', transport, ['--negative-timeout', '30'], async (f) => {
        await f.call('calls');
        await expectErrno(stat(join(f.mnt, 'missing')), 'ENOENT', 'first');
        await expectErrno(stat(join(f.mnt, 'missing')), 'ENOENT', 'second');
        assert.deepEqual((await f.call<string[]>('calls')).filter((p) => p === '/missing'), ['/missing']);
        const text = 'created through the mount: the negative entry is replaced';
        await writeFile(join(f.mnt, 'missing'), text);
        assert.equal((await stat(join(f.mnt, 'missing'))).size, text.length);
      }));
  });
}
