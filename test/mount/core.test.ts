// The library serving MemFs through a real kernel mount, once over FUSE-over-io_uring and once
// over classic /dev/fuse. The daemon is a child process (test/fixtures/daemon.ts); this process
// is the client, through node:fs and through ordinary programs.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  appendFile, mkdir, open, readFile, readdir, rename, rmdir, stat, statfs, truncate, unlink, writeFile,
} from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { withDaemon, type Transport } from '../helpers/daemon.js';
import { expectErrno, inBatches, randomFile, withTempDir } from '../helpers/files.js';
import { cqTailSum, fdTarget, isMounted, mountEntry, possibleCpus, u32Delta, uringFds, uringSkipReason } from '../helpers/proc.js';
import { mustRun, runCmd, sh } from '../helpers/run.js';

const MiB = 1 << 20;
const FUSE_SUPER_MAGIC = 0x65735546;
const T = { timeout: 120_000 };

for (const transport of ['uring', 'dev'] as const satisfies readonly Transport[]) {
  const skip = transport === 'uring' ? uringSkipReason() : false;

  describe(`memfs over ${transport === 'uring' ? 'FUSE-over-io_uring' : 'classic /dev/fuse'}`, { skip }, () => {
    it('mounts with the transport it was asked for', T, () => withDaemon({ transport, queueDepth: 8 }, async (d) => {
      assert.equal(d.info.transport, transport);
      assert.ok(d.info.maxWrite >= 4096, `maxWrite ${d.info.maxWrite}`);
      const entry = await mountEntry(d.mnt);
      assert.ok(entry, `${d.mnt} is not in /proc/mounts`);
      assert.match(entry.fstype, /^fuse(\.|$)/, `fstype ${entry.fstype}`);
      if (transport === 'uring') {
        assert.equal(d.info.queues, possibleCpus(), 'one queue per possible CPU');
        assert.equal(d.info.queueDepth, 8, 'the queue depth asked for');
        assert.equal(await fdTarget(d.pid, d.info.ringFd), 'anon_inode:[io_uring]', `ringFd ${d.info.ringFd}`);
      } else {
        assert.equal(d.info.ringFd, -1);
        assert.deepEqual(await uringFds(d.pid), [], 'the /dev/fuse daemon holds no io_uring');
      }
    }));

    it('payload buffers are on transparent huge pages once the kernel copies into them', T, async (t) => {
      const thp = readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8');
      if (/\[never\]/.test(thp)) return t.skip(`transparent huge pages are off here (${thp.trim()})`);
      await withDaemon({ transport }, async (d) => {
        const huge = async () => Number(/AnonHugePages:\s+(\d+)/.exec(await readFile(`/proc/${d.pid}/smaps_rollup`, 'utf8'))![1]);
        // Only MADV_HUGEPAGE'd memory gets huge pages in "madvise" mode: the payloads are that.
        const before = await huge();
        // dd with O_DIRECT: each 1 MiB write is copied by the kernel into a payload buffer.
        await mustRun('dd', ['if=/dev/zero', `of=${join(d.mnt, 'big')}`, 'bs=1M', 'count=8', 'oflag=direct', 'status=none']);
        const after = await huge();
        assert.ok(after >= before + 2048, `AnonHugePages ${before} kB -> ${after} kB (THP: ${thp.trim()})`);
      });
    });

    it('creates, writes and reads back a file', T, () => withDaemon({ transport }, async (d) => {
      const f = join(d.mnt, 'hello.txt');
      await writeFile(f, 'hello, world\n');
      assert.equal(await readFile(f, 'utf8'), 'hello, world\n');
      const st = await stat(f);
      assert.ok(st.isFile());
      assert.equal(st.size, 13);
      const h = await open(f, 'r+');
      try {
        await h.write(Buffer.from('HELLO'), 0, 5, 0);
        await h.write(Buffer.from('!'), 0, 1, 13);
        const buf = Buffer.alloc(32);
        const { bytesRead } = await h.read(buf, 0, 32, 0);
        assert.equal(buf.subarray(0, bytesRead).toString(), 'HELLO, world\n!');
      } finally {
        await h.close();
      }
      await expectErrno(open(f, 'wx'), 'EEXIST', 'O_CREAT|O_EXCL of an existing file');
      await expectErrno(readFile(join(d.mnt, 'missing')), 'ENOENT', 'reading a missing file');
      await mustRun('cp', [f, join(d.mnt, 'copy.txt')]);
      await mustRun('cmp', [f, join(d.mnt, 'copy.txt')]);
      assert.equal((await mustRun('stat', ['-c', '%s %F', join(d.mnt, 'copy.txt')])).trim(), '14 regular file');
      assert.deepEqual((await readdir(d.mnt)).sort(), ['copy.txt', 'hello.txt']);
    }));

    it('appends with O_APPEND and with >>', T, () => withDaemon({ transport }, async (d) => {
      const f = join(d.mnt, 'log');
      await writeFile(f, 'a\n');
      await appendFile(f, 'b\n');
      const h = await open(f, 'a');
      try {
        await h.write(Buffer.from('c\n'), 0, 2, 0); // O_APPEND: the position is ignored on Linux
      } finally {
        await h.close();
      }
      await sh('printf "d\\n" >> "$1"; echo e >> "$1"', [f]);
      assert.equal(await readFile(f, 'utf8'), 'a\nb\nc\nd\ne\n');
      assert.equal((await mustRun('stat', ['-c', '%s', f])).trim(), '10');
    }));

    it('truncates: shrink and extend, by path, by fd and with truncate -s', T, () => withDaemon({ transport }, async (d) => {
      const f = join(d.mnt, 't');
      await writeFile(f, '0123456789');
      await truncate(f, 4);
      assert.equal(await readFile(f, 'utf8'), '0123');
      await truncate(f, 8);
      assert.deepEqual(await readFile(f), Buffer.from('0123\0\0\0\0'));
      const h = await open(f, 'r+');
      try {
        await h.truncate(2);
        assert.equal((await h.stat()).size, 2);
        await h.truncate(6);
        assert.deepEqual(await h.readFile(), Buffer.from('01\0\0\0\0'));
      } finally {
        await h.close();
      }
      await mustRun('truncate', ['-s', '1M', f]);
      const big = await readFile(f);
      assert.equal(big.length, MiB);
      assert.equal(big.subarray(0, 2).toString(), '01');
      assert.ok(big.subarray(2).every((b) => b === 0), 'the extension reads as zeros');
      await mustRun('truncate', ['-s', '0', f]);
      assert.equal((await stat(f)).size, 0);
      await writeFile(f, 'xy'); // O_TRUNC
      assert.equal(await readFile(f, 'utf8'), 'xy');
    }));

    it('renames a file, a directory, and over an existing file', T, () => withDaemon({ transport }, async (d) => {
      const p = (n: string) => join(d.mnt, n);
      await writeFile(p('a'), 'A');
      await rename(p('a'), p('b'));
      await expectErrno(stat(p('a')), 'ENOENT', 'the old name');
      assert.equal(await readFile(p('b'), 'utf8'), 'A');
      await mkdir(p('d1'));
      await writeFile(p('d1/inner'), 'inner');
      await mustRun('mv', [p('d1'), p('d2')]);
      await expectErrno(stat(p('d1')), 'ENOENT', 'the old directory name');
      assert.equal(await readFile(p('d2/inner'), 'utf8'), 'inner');
      await writeFile(p('new'), 'new contents');
      await writeFile(p('old'), 'old');
      await rename(p('new'), p('old'));
      assert.equal(await readFile(p('old'), 'utf8'), 'new contents');
      await expectErrno(stat(p('new')), 'ENOENT', 'the replaced source');
      await rename(p('d2/inner'), p('moved'));
      assert.deepEqual((await readdir(d.mnt)).sort(), ['b', 'd2', 'moved', 'old']);
      assert.deepEqual(await readdir(p('d2')), []);
      await mkdir(p('d3'));
      await writeFile(p('d3/x'), 'x');
      await assert.rejects(rename(p('d2'), p('d3')), (e: NodeJS.ErrnoException) => e.code === 'ENOTEMPTY' || e.code === 'EEXIST');
    }));

    it('makes and removes directories and files; rmdir of a non-empty directory is ENOTEMPTY', T, () => withDaemon({ transport }, async (d) => {
      const p = (n: string) => join(d.mnt, n);
      await mkdir(p('dir'));
      assert.ok((await stat(p('dir'))).isDirectory());
      await expectErrno(mkdir(p('dir')), 'EEXIST', 'mkdir of an existing name');
      await writeFile(p('dir/f'), 'f');
      await expectErrno(rmdir(p('dir')), 'ENOTEMPTY', 'rmdir of a non-empty directory');
      await expectErrno(rmdir(p('dir/f')), 'ENOTDIR', 'rmdir of a file');
      await expectErrno(unlink(p('dir')), 'EISDIR', 'unlink of a directory');
      await unlink(p('dir/f'));
      await expectErrno(stat(p('dir/f')), 'ENOENT', 'the unlinked file');
      await expectErrno(unlink(p('dir/f')), 'ENOENT', 'unlink of a missing file');
      await rmdir(p('dir'));
      await expectErrno(stat(p('dir')), 'ENOENT', 'the removed directory');
      await mustRun('mkdir', ['-p', p('a/b/c')]);
      await writeFile(p('a/b/c/leaf'), 'leaf');
      assert.ok((await stat(p('a/b/c'))).isDirectory());
      await mustRun('rm', ['-r', p('a')]);
      await expectErrno(stat(p('a')), 'ENOENT', 'a tree removed with rm -r');
      assert.deepEqual(await readdir(d.mnt), []);
    }));

    it('lists a directory of 1000 entries', T, () => withDaemon({ transport }, async (d) => {
      const dir = join(d.mnt, 'many');
      await mkdir(dir);
      // Names of varied lengths, so that entries straddle the kernel's readdir buffer boundaries.
      const names = Array.from({ length: 1000 }, (_, i) => `entry-${String(i).padStart(4, '0')}-${'x'.repeat(i % 97)}`);
      await inBatches(names, 25, (n) => writeFile(join(dir, n), n));
      assert.deepEqual((await readdir(dir)).sort(), [...names].sort());
      const typed = await readdir(dir, { withFileTypes: true });
      assert.equal(typed.filter((e) => e.isFile()).length, 1000, 'every entry is a regular file');
      assert.equal((await sh('ls "$1" | wc -l', [dir])).trim(), '1000');
      assert.equal((await sh('ls -l "$1" | grep -c "^-"', [dir])).trim(), '1000');
      const odd = names.filter((_, i) => i % 2 === 1);
      await inBatches(names.filter((_, i) => i % 2 === 0), 25, (n) => unlink(join(dir, n)));
      assert.deepEqual((await readdir(dir)).sort(), [...odd].sort());
      assert.equal(await readFile(join(dir, odd[0]!), 'utf8'), odd[0]);
    }));

    it('answers statfs', T, () => withDaemon({ transport }, async (d) => {
      const s = await statfs(d.mnt);
      assert.equal(s.type, FUSE_SUPER_MAGIC, 'statfs type is FUSE_SUPER_MAGIC');
      assert.ok(s.bsize > 0, `bsize ${s.bsize}`);
      assert.ok(s.blocks >= s.bfree && s.bfree >= s.bavail, `blocks ${s.blocks} bfree ${s.bfree} bavail ${s.bavail}`);
      assert.ok(s.files >= s.ffree, `files ${s.files} ffree ${s.ffree}`);
      const [type, bsize, blocks, bfree, bavail, files, ffree, namelen] =
        (await mustRun('stat', ['-f', '-c', '%t %s %b %f %a %c %d %l', d.mnt])).trim().split(' ');
      assert.equal(type, FUSE_SUPER_MAGIC.toString(16));
      assert.deepEqual([bsize, blocks, bfree, bavail, files, ffree].map(Number),
        [s.bsize, s.blocks, s.bfree, s.bavail, s.files, s.ffree], 'stat -f agrees with statfs(2)');
      assert.ok(Number(namelen) >= 255, `namelen ${namelen}`);
      await writeFile(join(d.mnt, 'fill'), Buffer.alloc(MiB, 1));
      const after = await statfs(d.mnt);
      assert.ok(after.bfree < s.bfree, `bfree ${s.bfree} → ${after.bfree} after writing 1 MiB`);
      assert.ok(after.ffree < s.ffree, `ffree ${s.ffree} → ${after.ffree} after creating a file`);
    }));

    it('copies a few MiB with dd bs=1M, byte for byte', T, () => withDaemon({ transport }, (d) => withTempDir(async (tmp) => {
      const src = join(tmp, 'random.bin');
      const data = await randomFile(src, 5 * MiB + 12345); // a partial last block too
      const big = join(d.mnt, 'big.bin');
      await mustRun('dd', [`if=${src}`, `of=${big}`, 'bs=1M', 'status=none']);
      await mustRun('cmp', [src, big]);
      assert.equal((await stat(big)).size, data.length);
      await mustRun('dd', [`if=${big}`, `of=${join(tmp, 'back.bin')}`, 'bs=1M', 'status=none']);
      await mustRun('cmp', [src, join(tmp, 'back.bin')]);
      // Overwrite MiB 2 in place with MiB 4 of the source: offsets must be honoured both ways.
      await mustRun('dd', [`if=${src}`, `of=${big}`, 'bs=1M', 'skip=4', 'seek=2', 'count=1', 'conv=notrunc', 'status=none']);
      const expected = Buffer.concat([data.subarray(0, 2 * MiB), data.subarray(4 * MiB, 5 * MiB), data.subarray(3 * MiB)]);
      assert.ok((await readFile(big)).equals(expected), 'the file after an in-place dd');
    })));

    it('copies a small tree with cp -r, identical by diff -r', T, () => withDaemon({ transport }, (d) => withTempDir(async (tmp) => {
      const tree = join(tmp, 'tree');
      await randomFile(join(tree, 'a.txt'), 100);
      await randomFile(join(tree, 'empty'), 0);
      await randomFile(join(tree, 'sub', 'b.bin'), 300_000);
      await randomFile(join(tree, 'sub', 'deeper', 'c.txt'), 4096);
      await mkdir(join(tree, 'emptydir'));
      await mustRun('cp', ['-r', tree, join(d.mnt, 'tree')]);
      await mustRun('diff', ['-r', tree, join(d.mnt, 'tree')]);
      await mustRun('cp', ['-r', join(d.mnt, 'tree'), join(tmp, 'back')]);
      await mustRun('diff', ['-r', tree, join(tmp, 'back')]);
      assert.deepEqual((await readdir(join(d.mnt, 'tree'))).sort(), ['a.txt', 'empty', 'emptydir', 'sub']);
    })));

    it(transport === 'uring' ? 'carries the requests over the io_uring' : 'serves the requests without a ring', T,
      () => withDaemon({ transport }, async (d) => {
        const N = 200;
        const before = transport === 'uring' ? await cqTailSum(d.pid) : 0;
        // Each stat of a new missing name is one LOOKUP that the kernel cannot answer from cache.
        for (let i = 0; i < N; i++) await expectErrno(stat(join(d.mnt, `missing-${i}`)), 'ENOENT', `stat missing-${i}`);
        if (transport === 'uring') {
          const after = await cqTailSum(d.pid);
          assert.ok(u32Delta(after, before) >= N, `CqTail grew by ${u32Delta(after, before)} (${before} → ${after}) for ${N} lookups`);
        } else {
          assert.equal(d.info.ringFd, -1);
          assert.deepEqual(await uringFds(d.pid), []);
        }
      }));

    it('serves concurrent clients', T, () => withDaemon({ transport, queueDepth: 4 }, async (d) => {
      // 16 shell jobs at once: more requests in flight than one queue has entries.
      await sh('i=0; while [ $i -lt 16 ]; do (head -c 200000 /dev/urandom > "$1/f$i" && cp "$1/f$i" "$1/g$i" && cmp "$1/f$i" "$1/g$i") & i=$((i+1)); done; wait',
        [d.mnt], { timeout: 60_000 });
      const names = await readdir(d.mnt);
      assert.equal(names.length, 32, names.join(' '));
      for (let i = 0; i < 16; i++) assert.ok((await readFile(join(d.mnt, `f${i}`))).equals(await readFile(join(d.mnt, `g${i}`))));
    }));

    it('ends the daemon cleanly when unmounted from outside', T, () => withDaemon({ transport }, async (d) => {
      await writeFile(join(d.mnt, 'x'), 'x');
      await mustRun('umount', [d.mnt]);
      assert.deepEqual(await d.waitExit(10_000), { code: 0, signal: null }, `stderr:\n${d.stderr()}`);
      assert.deepEqual(d.closed(), { event: 'closed', ok: true, destroyCalls: 1 });
      assert.equal(await isMounted(d.mnt), false);
    }));

    it('answers EIO when a handler throws, and keeps serving', T, () => withDaemon({ transport, fs: 'faulty' }, async (d) => {
      const p = (n: string) => join(d.mnt, n);
      await expectErrno(stat(p('boom')), 'EIO', 'stat boom (handler throws)');
      await expectErrno(stat(p('boom')), 'EIO', 'stat boom, again');
      await expectErrno(stat(p('boom-async')), 'EIO', 'stat boom-async (handler rejects)');
      await expectErrno(stat(p('other')), 'ENOENT', 'the next lookup');
      await writeFile(p('created-after'), 'still here');
      assert.equal(await readFile(p('created-after'), 'utf8'), 'still here');
      const r = await runCmd('stat', [p('boom')]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /Input\/output error/);
      // Logged, but once: the same failure three times is one line.
      assert.equal(d.stderr().split('\n').filter((l) => /\bboom\b(?!-)/.test(l)).length, 1, `stderr:\n${d.stderr()}`);
    }));

    it('answers a FuseError with its errno', T, () => withDaemon({ transport, fs: 'faulty' }, async (d) => {
      await expectErrno(stat(join(d.mnt, 'fuse-eacces')), 'EACCES', 'stat fuse-eacces');
      await expectErrno(writeFile(join(d.mnt, 'fuse-eacces'), 'x'), 'EACCES', 'create over fuse-eacces');
      await writeFile(join(d.mnt, 'fine'), 'fine');
      assert.deepEqual(await readdir(d.mnt), ['fine']);
    }));
  });
}
