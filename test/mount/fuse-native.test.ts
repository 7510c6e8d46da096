// fuse-native programs, unchanged but for the module name, mounted for real over both transports
// and used the way their users use them: through node:fs and ordinary programs. The programs
// (test/fixtures/fuse-native/) are plain CommonJS (and one ES module) files run in a child
// process; this process is the client.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, link, mkdir, readFile, readdir, readlink, rename, rm, rmdir, stat, lstat, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withProgram, type Transport } from '../helpers/fuse-native.js';
import { expectErrno } from '../helpers/files.js';
import { mountEntry, uringFds, uringSkipReason } from '../helpers/proc.js';
import { mustRun, runCmd, sh } from '../helpers/run.js';

const T = { timeout: 120_000 };

/** The program serves over the transport it was given (an io_uring fd exactly when asked for). */
async function assertTransport(pid: number, transport: Transport): Promise<void> {
  const rings = await uringFds(pid);
  if (transport === 'uring') assert.ok(rings.length > 0, 'the program holds an io_uring: FUSE-over-io_uring serves it');
  else assert.deepEqual(rings, [], 'the /dev/fuse program holds no io_uring');
}

for (const transport of ['uring', 'dev'] as const satisfies readonly Transport[]) {
  const skip = transport === 'uring' ? uringSkipReason() : false;

  describe(`fuse-native programs over ${transport === 'uring' ? 'FUSE-over-io_uring' : 'classic /dev/fuse'}`, { skip }, () => {
    it('the README\'s read-only hello filesystem: cat, ls, stat, find; writing is refused', T, () => withProgram('hello.cjs', transport, async (p) => {
      await assertTransport(p.pid, transport);
      assert.match((await mountEntry(p.mnt))?.fstype ?? '', /^fuse/);
      assert.equal(await readFile(join(p.mnt, 'hello'), 'utf8'), 'hello world\n');
      assert.equal(await mustRun('cat', [join(p.mnt, 'sub', 'nested')]), 'hello world\n');
      assert.deepEqual((await readdir(p.mnt)).sort(), ['hello', 'sub']);
      assert.deepEqual((await mustRun('ls', ['-1', p.mnt])).split('\n').filter(Boolean), ['hello', 'sub']);
      assert.equal((await mustRun('stat', ['-c', '%s %a %F %Y', join(p.mnt, 'hello')])).trim(), '12 444 regular file 1600000000');
      assert.equal((await mustRun('stat', ['-c', '%F', join(p.mnt, 'sub')])).trim(), 'directory');
      assert.deepEqual((await mustRun('find', [p.mnt, '-type', 'f'])).split('\n').filter(Boolean).sort(), [join(p.mnt, 'hello'), join(p.mnt, 'sub', 'nested')]);
      await expectErrno(stat(join(p.mnt, 'missing')), 'ENOENT', 'a name the filesystem does not have');
      await expectErrno(readdir(join(p.mnt, 'hello')), 'ENOTDIR', 'readdir of a file');
      await expectErrno(appendFile(join(p.mnt, 'hello'), 'x'), 'ENOSYS', 'a write with no write op');
      await expectErrno(writeFile(join(p.mnt, 'new'), 'x'), 'ENOSYS', 'a create with no create or mknod op');
      assert.equal((await mustRun('wc', ['-c', join(p.mnt, 'hello')])).trim().split(' ')[0], '12');
    }));

    it('an ES module program gets the same class from `import Fuse from`', T, () => withProgram('hello-esm.mjs', transport, async (p) => {
      assert.equal(p.events().find((e) => e.event === 'ready')?.enoent, -2);
      assert.equal(await readFile(join(p.mnt, 'esm.txt'), 'utf8'), 'hello from an ES module\n');
    }));

    it('an in-memory read-write filesystem with callbacks: node:fs and cp, dd, stat, mv, rm, mkdir, ln, cat', T, () => withProgram('memory.cjs', transport, async (p) => {
      await assertTransport(p.pid, transport);
      const at = (...n: string[]) => join(p.mnt, ...n);
      await writeFile(at('a.txt'), 'alpha\n');
      assert.equal(await readFile(at('a.txt'), 'utf8'), 'alpha\n');
      await appendFile(at('a.txt'), 'beta\n');
      assert.equal(await mustRun('cat', [at('a.txt')]), 'alpha\nbeta\n');
      await mustRun('cp', [at('a.txt'), at('b.txt')]);
      await mustRun('cmp', [at('a.txt'), at('b.txt')]);
      await mustRun('dd', ['if=/dev/urandom', `of=${at('rand.bin')}`, 'bs=64k', 'count=16', 'status=none']);
      assert.equal((await stat(at('rand.bin'))).size, 1 << 20);
      await mustRun('dd', [`if=${at('rand.bin')}`, `of=${at('copy.bin')}`, 'bs=1M', 'status=none']);
      await mustRun('cmp', [at('rand.bin'), at('copy.bin')]);
      await mustRun('mkdir', ['-p', at('d1', 'd2', 'd3')]);
      await writeFile(at('d1', 'd2', 'd3', 'leaf'), 'leaf');
      await mustRun('mv', [at('d1'), at('moved')]);
      assert.equal(await readFile(at('moved', 'd2', 'd3', 'leaf'), 'utf8'), 'leaf');
      await expectErrno(stat(at('d1')), 'ENOENT', 'the old directory name');
      await expectErrno(rmdir(at('moved')), 'ENOTEMPTY', 'rmdir of a non-empty directory');
      await mustRun('ln', ['-s', 'a.txt', at('sym')]);
      assert.equal(await readlink(at('sym')), 'a.txt');
      assert.equal(await mustRun('cat', [at('sym')]), 'alpha\nbeta\n');
      assert.ok((await lstat(at('sym'))).isSymbolicLink());
      await link(at('a.txt'), at('hard.txt'));
      const [s1, s2] = [await stat(at('a.txt')), await stat(at('hard.txt'))];
      assert.equal(s1.ino, s2.ino, 'a hard link made through the mount is the same inode');
      assert.equal(s2.nlink, 2);
      await truncate(at('b.txt'), 3);
      assert.equal(await readFile(at('b.txt'), 'utf8'), 'alp');
      await mustRun('chmod', ['600', at('b.txt')]);
      assert.equal((await stat(at('b.txt'))).mode & 0o777, 0o600);
      await mustRun('touch', ['-d', '2001-02-03 04:05:06.789', at('b.txt')]);
      assert.equal((await stat(at('b.txt'))).mtimeMs, Date.parse('2001-02-03T04:05:06.789'), 'utimens in milliseconds');
      await sh('printf "via the shell" > "$1" && cat "$1" > "$2"', [at('sh.txt'), at('sh2.txt')]);
      assert.equal(await readFile(at('sh2.txt'), 'utf8'), 'via the shell');
      await rename(at('sh2.txt'), at('moved', 'sh3.txt'));
      assert.deepEqual((await readdir(at('moved'))).sort(), ['d2', 'sh3.txt']);
      const xattr = await mustRun('python3', ['-c', `
import os, sys
f = sys.argv[1]
os.setxattr(f, 'user.color', b'blue')
print(os.getxattr(f, 'user.color').decode(), sorted(os.listxattr(f)))
os.removexattr(f, 'user.color')
try:
    os.getxattr(f, 'user.color')
except OSError as e:
    print(e.errno)`, at('a.txt')]);
      assert.equal(xattr, "blue ['user.color']\n61\n");
      assert.match(await mustRun('stat', ['-f', '-c', '%S %b', p.mnt]), /^4096 1000000\n$/);
      await mustRun('rm', ['-r', at('moved')]);
      await unlink(at('hard.txt'));
      await mustRun('rm', [at('sym'), at('copy.bin')]);
      assert.deepEqual((await readdir(p.mnt)).sort(), ['a.txt', 'b.txt', 'rand.bin', 'sh.txt']);
      await rm(at('rand.bin'));
      await mkdir(at('empty'));
      await rmdir(at('empty'));
    }));

    it('errno conventions: a positive errno, a throwing op (EIO, and it goes on), an op that never calls back (ETIMEDOUT)', T, () => withProgram('memory.cjs', transport, async (p) => {
      await expectErrno(stat(join(p.mnt, 'positive-eacces')), 'EACCES', 'cb(13)');
      await expectErrno(stat(join(p.mnt, 'throw')), 'EIO', 'getattr throws');
      await expectErrno(stat(join(p.mnt, 'throw')), 'EIO', 'and again');
      const t0 = Date.now();
      await expectErrno(stat(join(p.mnt, 'hang')), 'ETIMEDOUT', 'getattr never calls back (timeout 1 s)');
      assert.ok(Date.now() - t0 >= 900, 'after the timeout, not before');
      await writeFile(join(p.mnt, 'after'), 'still serving');
      assert.equal(await readFile(join(p.mnt, 'after'), 'utf8'), 'still serving');
      assert.match(p.stderr(), /a bug in getattr/, 'the throw is logged');
    }));

    it('a stat-heavy filesystem: 2,000 stats with every field, Dates and fractional milliseconds, symlinks', T, () => withProgram('stats.cjs', transport, async (p) => {
      const files = join(p.mnt, 'files');
      const names = await readdir(files);
      assert.equal(names.length, 2000);
      // stats.cjs: t = 1.5e12 + i × 1000.5 ms; mtime is a Date for even i (whole ms) and a number for odd i.
      const t = (i: number): number => 1500000000000 + i * 1000.5;
      const out = await mustRun('find', [files, '-type', 'f', '-printf', '%f %m %s %U %G %T@\\n']);
      const lines = out.trim().split('\n');
      assert.equal(lines.length, 2000);
      for (const line of lines) {
        const [name, mode, size, uid, gid, mtime] = line.split(' ');
        const i = Number(name!.slice(1));
        assert.equal(mode, ['644', '600', '755', '444'][i % 4], `${name} mode`);
        assert.equal(Number(size), i * 37, `${name} size`);
        assert.equal(Number(uid), 1000 + (i % 3), `${name} uid`);
        assert.equal(Number(gid), 2000 + (i % 5), `${name} gid`);
        assert.equal(Math.round(Number(mtime) * 1000 * 10) / 10, i % 2 === 0 ? Math.trunc(t(i)) : t(i), `${name} mtime`);
      }
      const ns = (ms: number): bigint => BigInt(Math.trunc(ms)) * 1_000_000n + BigInt(Math.round((ms % 1) * 1e6));
      const st = await stat(join(files, 'f7'), { bigint: true });
      assert.equal(st.mtimeNs, ns(t(7)), 'a fractional millisecond time keeps its fraction');
      assert.equal(st.atimeNs, ns(t(7) + 5));
      assert.equal(st.ctimeNs, ns(Math.trunc(t(7) + 10)), 'a Date is whole milliseconds');
      assert.equal(st.blocks, BigInt(Math.ceil((7 * 37) / 512)));
      assert.equal(await readFile(join(files, 'f3'), 'utf8'), 'a'.repeat(111));
      const ls = await mustRun('ls', ['-l', join(p.mnt, 'links')]);
      assert.equal(ls.split('\n').filter((l) => l.startsWith('l')).length, 100);
      assert.match(ls, /l42 -> \.\.\/files\/f42/);
      assert.equal(await readFile(join(p.mnt, 'links', 'l5'), 'utf8'), 'a'.repeat(5 * 37));
      const types = await mustRun('python3', ['-c', 'import os, sys\nprint(sorted({e.is_file(follow_symlinks=False) for e in os.scandir(sys.argv[1])}))', files]);
      assert.equal(types.trim(), '[True]', 'd_type from the stats readdir gave');
      const r = await runCmd('stat', ['-c', '%s', join(files, 'f2000')]);
      assert.notEqual(r.code, 0, 'past the last file: ENOENT');
    }));
  });
}
