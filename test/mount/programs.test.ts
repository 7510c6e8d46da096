// Real programs on a real mount, for every filesystem the fixture serves (memfs; mirror with and
// without FUSE passthrough once the fixture has them) over both transports: tar create/extract
// of a tree with symlinks, hard links and 255-byte names in both directions; cp -a of a real
// tree; mmap MAP_SHARED against read() and write(); concurrent O_APPEND writers; rename-over
// while a reader holds the old file. git and sqlite3 are in programs-git.test.ts. Helpers:
// test/helpers/programs.ts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, lchown, lutimes, chown, mkdir, readFile, readdir, symlink, link, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { uringSkipReason } from '../helpers/proc.js';
import { mustRun, runCmd } from '../helpers/run.js';
import {
  FILESYSTEMS, TRANSPORTS, assertSameTree, fsLabel, opts, py, snapshotTree, transportName, withFs, type FsMount,
} from '../helpers/programs.js';

const T = { timeout: 200_000 };
const MiB = 1 << 20;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A 255-byte name of two-byte characters (127 × 'é' + 'x'): NAME_MAX counts bytes. */
const NAME_255_UTF8 = `${'é'.repeat(127)}x`;
const NAME_255 = 'n'.repeat(255);

/**
 * The tree the tar test archives: regular files of several sizes and modes (setuid, read-only,
 * private, executable), owners other than root, an empty file and an empty directory, a sticky
 * directory, hard links within and across directories, relative/absolute/dangling/directory
 * symlinks, 255-byte names (ASCII and UTF-8, for a file, a directory and a symlink), a name with
 * spaces, fixed old mtimes on files, a directory and a symlink.
 */
async function buildTree(root: string): Promise<void> {
  const p = (rel: string) => join(root, rel);
  for (const d of ['bin', 'nested/a/b/c', 'links', 'empty-dir', 'sticky', NAME_255_UTF8, 'with space']) {
    await mkdir(p(d), { recursive: true });
  }
  await writeFile(p('README'), 'a tree for tar\n'.repeat(50));
  await writeFile(p('bin/tool'), '#!/bin/sh\necho tool\n');
  await chmod(p('bin/tool'), 0o755);
  await writeFile(p('bin/setuid'), '#!/bin/sh\n');
  await chmod(p('bin/setuid'), 0o4755);
  await writeFile(p('secret'), 'private\n');
  await chmod(p('secret'), 0o600);
  await writeFile(p('ro'), 'read only\n');
  await chmod(p('ro'), 0o444);
  await writeFile(p('big.bin'), randomBytes(3 * MiB + 12345));
  await writeFile(p('empty-file'), '');
  await chmod(p('empty-dir'), 0o700);
  await chmod(p('sticky'), 0o1777);
  await writeFile(p('nested/a/b/c/deep.txt'), 'deep\n');
  await writeFile(p('nested/hard-1'), 'one inode, three names\n');
  await link(p('nested/hard-1'), p('nested/a/hard-2'));
  await link(p('nested/hard-1'), p('hard-3'));
  await symlink('../README', p('links/rel'));
  await symlink('/nonexistent/absolute/target', p('links/abs-dangling'));
  await symlink('missing', p('links/dangling'));
  await symlink('../nested/a', p('links/dir'));
  await writeFile(p(NAME_255), 'a 255-byte name\n');
  await writeFile(p(`${NAME_255_UTF8}/${NAME_255}`), 'a 255-byte name in a 255-byte directory\n');
  await symlink(NAME_255, p(`links/${'s'.repeat(255)}`));
  await writeFile(p('with space/file with  spaces'), 'spaces\n');
  await writeFile(p('owned'), 'not root\n');
  await chown(p('owned'), 1234, 5678);
  await lchown(p('links/rel'), 4321, 8765);
  const old = new Date('2001-02-03T04:05:06Z');
  await utimes(p('README'), old, old);
  await lutimes(p('links/rel'), old, old);
  await utimes(p('empty-dir'), old, old);
}

/** The mount-independent checks on an extracted copy of buildTree's tree. */
async function checkSpecials(tree: string): Promise<void> {
  const st = (rel: string) => mustRun('stat', ['-c', '%h|%F|%i', join(tree, rel)]).then((s) => s.trim().split('|'));
  const [h1, type1, ino1] = await st('nested/hard-1');
  assert.equal(h1, '3', 'nested/hard-1 has three links');
  assert.equal(type1, 'regular file');
  for (const other of ['nested/a/hard-2', 'hard-3']) {
    const [h, , ino] = await st(other);
    assert.equal(h, '3', `${other}: link count`);
    assert.equal(ino, ino1, `${other} is the same inode as nested/hard-1`);
  }
  assert.equal((await mustRun('stat', ['-c', '%F', join(tree, 'links/rel')])).trim(), 'symbolic link');
  assert.equal((await mustRun('readlink', [join(tree, 'links/rel')])).trim(), '../README');
  assert.equal((await mustRun('readlink', [join(tree, 'links/abs-dangling')])).trim(), '/nonexistent/absolute/target');
  assert.equal((await mustRun('stat', ['-c', '%a %u %g', join(tree, 'bin/setuid')])).trim(), '4755 0 0');
  assert.equal((await mustRun('stat', ['-c', '%a %u %g', join(tree, 'owned')])).trim(), '644 1234 5678');
  assert.equal((await mustRun('stat', ['-c', '%u %g', join(tree, 'links/rel')])).trim(), '4321 8765', 'symlink owner');
  assert.equal((await mustRun('stat', ['-c', '%a', join(tree, 'sticky')])).trim(), '1777');
  assert.equal(await readFile(join(tree, NAME_255_UTF8, NAME_255), 'utf8'), 'a 255-byte name in a 255-byte directory\n');
  assert.deepEqual(await readdir(join(tree, 'empty-dir')), []);
}

/** diff -r that compares symlinks as links (some are dangling) and asserts no difference. */
async function diffTrees(a: string, b: string): Promise<void> {
  const r = await runCmd('diff', ['-r', '--no-dereference', a, b], { timeout: 60_000 });
  assert.equal(r.code, 0, `diff -r ${a} ${b} (exit ${r.code}):\n${r.stdout.slice(0, 4000)}${r.stderr}`);
}

/** mkdir, then the path (for arguments built inline). */
async function mkdirAnd(dir: string): Promise<string> {
  await mkdir(dir);
  return dir;
}

/** sha256sum(1) of a file (read by a program, not by the test process). */
async function hashOf(m: FsMount, path: string): Promise<string> {
  return (await mustRun('sha256sum', [path], opts(m))).split(' ')[0]!;
}

// The mmap tests' python3 programs. Each prints one result line.
/** argv: path size. Creates, ftruncates, fills a MAP_SHARED mapping back to front, msyncs. */
const MMAP_WRITE = `
import hashlib, mmap, os, sys
path, size = sys.argv[1], int(sys.argv[2])
data = os.urandom(size)
fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
os.ftruncate(fd, size)
m = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
page = mmap.PAGESIZE
for off in reversed(range(0, size, page)):
    m[off:off + page] = data[off:off + page]
m.flush()
m.close()
os.close(fd)
print(hashlib.sha256(data).hexdigest())
`;
/** argv: path. read() in odd-sized chunks, then O_DIRECT (the filesystem's bytes, not the page cache). */
const READ_BOTH = `
import hashlib, mmap, os, sys
path = sys.argv[1]
fd = os.open(path, os.O_RDONLY)
h = hashlib.sha256()
n = 0
while True:
    b = os.read(fd, 7777)
    if not b: break
    h.update(b); n += len(b)
os.close(fd)
fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
buf = mmap.mmap(-1, 1 << 20)
d = hashlib.sha256()
off = 0
while True:
    k = os.preadv(fd, [buf], off)
    if k <= 0: break
    d.update(buf[:k]); off += k
os.close(fd)
print(n, h.hexdigest(), off, d.hexdigest())
`;
/** argv: path. Maps the existing file MAP_SHARED, changes three bytes (first, middle, last), msyncs. */
const MMAP_POKE = `
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
size = os.fstat(fd).st_size
m = mmap.mmap(fd, size, mmap.MAP_SHARED)
for off in (0, size // 2, size - 1):
    m[off] = (m[off] + 1) % 256
m.flush()
m.close()
os.close(fd)
print(size)
`;
/** argv: path size. write() in odd-sized chunks. */
const WRITE_PLAIN = `
import hashlib, os, sys
path, size = sys.argv[1], int(sys.argv[2])
data = os.urandom(size)
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
off = 0
while off < size:
    off += os.write(fd, data[off:off + 100003])
os.close(fd)
print(hashlib.sha256(data).hexdigest())
`;
/** argv: path. Maps the whole file MAP_SHARED read-only and hashes the mapping. */
const MMAP_READ = `
import hashlib, mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
size = os.fstat(fd).st_size
m = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ)
print(size, hashlib.sha256(m[:]).hexdigest())
m.close()
os.close(fd)
`;
/**
 * argv: path. Keeps a MAP_SHARED mapping; on each stdin line "OFF LEN" prints the mapped bytes
 * there as hex (so another process's write() must show through a mapping made before it).
 */
const MMAP_WATCH = `
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
m = mmap.mmap(fd, os.fstat(fd).st_size, mmap.MAP_SHARED, mmap.PROT_READ)
print("mapped", flush=True)
for line in sys.stdin:
    off, n = map(int, line.split())
    print("bytes", m[off:off + n].hex(), flush=True)
`;

/** argv: path tag count gofile. Appends count 100-byte records through one O_APPEND descriptor. */
const APPENDER = `
import os, sys, time
path, tag, count, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
print("open", flush=True)
while not os.path.exists(go):
    time.sleep(0.001)
for i in range(count):
    rec = ("%s %06d " % (tag, i)).encode()
    rec += b"." * (99 - len(rec)) + b"\\n"
    assert os.write(fd, rec) == 100
os.close(fd)
`;

/**
 * argv: path first. Opens, reads the first \`first\` bytes, says so, waits for a line on stdin,
 * reads on to EOF through the same descriptor, prints total size, hash and fstat's link count.
 */
const HOLDING_READER = `
import hashlib, os, sys
path, first = sys.argv[1], int(sys.argv[2])
fd = os.open(path, os.O_RDONLY)
h = hashlib.sha256()
n = 0
while n < first:
    b = os.read(fd, min(65536, first - n))
    if not b: break
    h.update(b); n += len(b)
print("partial", n, flush=True)
sys.stdin.readline()
while True:
    b = os.read(fd, 100001)
    if not b: break
    h.update(b); n += len(b)
st = os.fstat(fd)
os.close(fd)
print("done", n, h.hexdigest(), st.st_nlink, flush=True)
`;

async function appendersTest(m: FsMount): Promise<void> {
  const f = join(m.mnt, 'log');
  const go = join(m.scratch, 'go');
  const N = 2000;
  const tags = ['AAAA', 'BBBB'];
  const writers = tags.map((tag) => m.start(`appender ${tag}`, 'python3', ['-c', APPENDER, f, tag, String(N), go]));
  for (const w of writers) await w.until('open\n', 30_000);
  await writeFile(go, '');
  for (const w of writers) await w.mustExit0(90_000);
  const data = await readFile(f);
  assert.equal(data.length, tags.length * N * 100, `the file has ${data.length} bytes, expected ${tags.length * N * 100} (lost or extra records)`);
  const seen = new Map<string, number[]>(tags.map((t) => [t, []]));
  const bad: string[] = [];
  const lines = data.toString('latin1').split('\n');
  assert.equal(lines.pop(), '', 'the file ends with a newline');
  for (const [i, line] of lines.entries()) {
    const mm = /^(AAAA|BBBB) (\d{6}) \.+$/.exec(line);
    if (!mm || line.length !== 99) { bad.push(`line ${i + 1}: ${JSON.stringify(line.slice(0, 120))}`); continue; }
    seen.get(mm[1]!)!.push(Number(mm[2]));
  }
  assert.deepEqual(bad.slice(0, 10), [], `${bad.length} torn or foreign lines`);
  for (const [tag, seqs] of seen) {
    // One writer's records come out in its order, each exactly once.
    assert.deepEqual(seqs, Array.from({ length: N }, (_, i) => i), `${tag}: every record once, in order`);
  }
}

for (const fsKind of FILESYSTEMS) {
  for (const transport of TRANSPORTS) {
    const skip = transport === 'uring' ? uringSkipReason() : false;

    describe(`real programs on ${fsLabel(fsKind)} over ${transportName(transport)}`, { skip }, () => {
      it('tar: a tree with symlinks, hard links, 255-byte names and modes, into the mount and back out', T, () =>
        withFs(fsKind, transport, async (m) => {
          const orig = join(m.scratch, 'orig');
          await buildTree(join(orig, 'tree'));
          const want = await snapshotTree(join(orig, 'tree'), 's');

          // Created into the mount: byte for byte the archive tar writes outside it.
          const tarball = join(m.mnt, 'tree.tar');
          await mustRun('tar', ['-cf', join(m.scratch, 'ref.tar'), '-C', orig, 'tree'], opts(m));
          await mustRun('tar', ['-cf', tarball, '-C', orig, 'tree'], opts(m));
          await mustRun('cmp', [join(m.scratch, 'ref.tar'), tarball], opts(m));
          assert.equal(await mustRun('tar', ['-tvf', tarball], opts(m)),
            await mustRun('tar', ['-tvf', join(m.scratch, 'ref.tar')], opts(m)), 'tar -tv lists the same archive');

          // Extracted in the mount.
          const x = join(m.mnt, 'x');
          await mkdir(x);
          await mustRun('tar', ['-xpf', tarball, '-C', x], opts(m));
          await diffTrees(join(orig, 'tree'), join(x, 'tree'));
          assertSameTree(want, await snapshotTree(join(x, 'tree'), 's'), 'extracted in the mount vs the original');
          await checkSpecials(join(x, 'tree'));

          // And back: archived from the mount (tar must not see files change as it reads them),
          // extracted outside.
          const back = join(m.scratch, 'back');
          await mkdir(back);
          await mustRun('tar', ['-cf', join(m.scratch, 'back.tar'), '-C', x, 'tree'], opts(m));
          await mustRun('tar', ['-xpf', join(m.scratch, 'back.tar'), '-C', back], opts(m));
          await diffTrees(join(orig, 'tree'), join(back, 'tree'));
          assertSameTree(want, await snapshotTree(join(back, 'tree'), 's'), 'archived from the mount, extracted outside');
          await checkSpecials(join(back, 'tree'));
          // A stream through a pipe, extracted in the mount from the mount.
          await mustRun('sh', ['-c', 'tar -cf - -C "$1" tree | tar -xpf - -C "$2"', 'sh', x, await mkdirAnd(join(m.mnt, 'y'))], opts(m));
          assertSameTree(want, await snapshotTree(join(m.mnt, 'y', 'tree'), 's'), 'tar | tar within the mount');
        }));

      it('cp -a of a real tree (/usr/include/linux) in and out: contents, modes, owners, mtimes', T, () =>
        withFs(fsKind, transport, async (m) => {
          const src = '/usr/include/linux';
          assert.ok(existsSync(src), `${src} is missing (Debian package linux-libc-dev)`);
          const want = await snapshotTree(src, 'ns');
          assert.ok(want.size > 100, `${src} has ${want.size} entries`);
          const dst = join(m.mnt, 'linux');
          await mustRun('cp', ['-a', src, dst], opts(m, 90_000));
          await diffTrees(src, dst);
          assertSameTree(want, await snapshotTree(dst, 'ns'), `cp -a ${src} into the mount`);
          // stat(1) on a sample, as a user would check.
          const sample = [...want.keys()].filter((k) => want.get(k)!.type === 'file').filter((_, i) => i % 50 === 0);
          sample.push('');
          for (const rel of sample) {
            assert.equal(await mustRun('stat', ['-c', '%a %u %g %Y', join(dst, rel)], opts(m)),
              await mustRun('stat', ['-c', '%a %u %g %Y', join(src, rel)], opts(m)), `stat of ${rel || '.'}`);
          }
          const out = join(m.scratch, 'linux');
          await mustRun('cp', ['-a', dst, out], opts(m, 90_000));
          await diffTrees(src, out);
          assertSameTree(want, await snapshotTree(out, 'ns'), 'cp -a back out of the mount');

          // A tree owned by root alone proves little about owners: the tar test's tree too, with
          // other owners (of a symlink too), set-id and sticky bits, hard links, old mtimes in ns.
          const made = join(m.scratch, 'made');
          await buildTree(made);
          const wantMade = await snapshotTree(made, 'ns');
          await mustRun('cp', ['-a', made, join(m.mnt, 'made')], opts(m, 60_000));
          await diffTrees(made, join(m.mnt, 'made'));
          assertSameTree(wantMade, await snapshotTree(join(m.mnt, 'made'), 'ns'), 'cp -a of the synthetic tree into the mount');
          await checkSpecials(join(m.mnt, 'made'));
        }));

      it('mmap MAP_SHARED writes are read back with read(), write() is read back through mmap', T, () =>
        withFs(fsKind, transport, async (m) => {
          const f = join(m.mnt, 'mapped');
          const size = MiB + 123; // the last page is partial
          const written = (await py(MMAP_WRITE, [f, String(size)], opts(m))).trim();
          const [n, viaRead, nd, viaDirect] = (await py(READ_BOTH, [f], opts(m))).trim().split(' ');
          assert.equal(Number(n), size, 'read() sees the ftruncated size');
          assert.equal(viaRead, written, 'read() in another process returns what was written through the mapping');
          assert.equal(Number(nd), size, 'O_DIRECT read sees the size');
          assert.equal(viaDirect, written, 'O_DIRECT read (the filesystem itself) returns what was written through the mapping');
          if (m.source) assert.equal(await hashOf(m, join(m.source, 'mapped')), written, 'mirror: the source file has the mapped writes');

          // Three single-byte changes through a new mapping of the existing file.
          const before = await readFile(f);
          assert.equal(Number((await py(MMAP_POKE, [f], opts(m))).trim()), size);
          for (const off of [0, size >> 1, size - 1]) before[off] = (before[off]! + 1) % 256;
          const [, pokedRead, , pokedDirect] = (await py(READ_BOTH, [f], opts(m))).trim().split(' ');
          assert.equal(pokedRead, sha256(before), 'read() after the poke');
          assert.equal(pokedDirect, sha256(before), 'O_DIRECT read after the poke');

          // write(), then a MAP_SHARED read-only mapping in another process.
          const g = join(m.mnt, 'written');
          const gsize = 2 * MiB + 77;
          const wrote = (await py(WRITE_PLAIN, [g, String(gsize)], opts(m))).trim();
          assert.equal((await py(MMAP_READ, [g], opts(m))).trim(), `${gsize} ${wrote}`, 'the mapping shows what write() wrote');

          // A live mapping sees a later write() from another process.
          const watcher = m.start('mmap watcher', 'python3', ['-c', MMAP_WATCH, g]);
          await watcher.until('mapped\n', 30_000);
          const off = MiB + 5;
          await py('import os,sys\nfd=os.open(sys.argv[1],os.O_WRONLY)\nos.pwrite(fd,b"LIVE-MAPPING",int(sys.argv[2]))\nos.close(fd)', [g, String(off)], opts(m));
          watcher.send(`${off} 12\n`);
          await watcher.until('bytes ', 30_000);
          assert.equal(Buffer.from((await watcher.until('\n', 30_000)).trim(), 'hex').toString(), 'LIVE-MAPPING',
            'a mapping made before a pwrite() in another process shows the new bytes');
          watcher.end();
          await watcher.mustExit0(30_000);
        }));

      it('O_APPEND: two processes appending 2000 records each lose nothing and tear nothing', T, () =>
        withFs(fsKind, transport, appendersTest));

      // (Kernel passthrough and the writeback cache exclude each other: mount refuses the pair.)
      it('O_APPEND: the same with the writeback cache', fsKind === 'mirror' ? { ...T, skip: 'passthrough excludes the writeback cache' } : T, () =>
        withFs(fsKind, transport, appendersTest, { opt: 'writeback' }));

      it('rename-over while a reader holds the old file: the reader reads the old content to the end', T, () =>
        withFs(fsKind, transport, async (m) => {
          const a = join(m.mnt, 'A');
          const oldData = randomBytes(8 * MiB + 4321);
          const newData = randomBytes(3 * MiB + 17);
          await writeFile(join(m.scratch, 'old'), oldData);
          await writeFile(join(m.scratch, 'new'), newData);
          await mustRun('cp', [join(m.scratch, 'old'), a], opts(m));
          const reader = m.start('holding reader', 'python3', ['-c', HOLDING_READER, a, String(256 * 1024)]);
          assert.equal((await reader.until('\n', 30_000)).trim(), `partial ${256 * 1024}`);

          // Another process writes B and renames it over A.
          await mustRun('sh', ['-c', 'cp "$1" "$2/B" && mv -f "$2/B" "$2/A"', 'sh', join(m.scratch, 'new'), m.mnt], opts(m));
          assert.deepEqual((await readdir(m.mnt)).sort(), ['A'], 'only A is listed');
          assert.equal(await hashOf(m, a), sha256(newData), 'a new open of A sees the new content');

          reader.send('go on\n');
          const [word, n, hash, nlink] = (await reader.until('\n', 60_000)).trim().split(' ');
          assert.equal(word, 'done');
          assert.equal(Number(n), oldData.length, 'the reader read the old file to its old end');
          assert.equal(hash, sha256(oldData), 'the reader read the old content');
          assert.equal(Number(nlink), 0, 'fstat on the replaced file: no links left');
          await reader.mustExit0(30_000);
          assert.equal(await hashOf(m, a), sha256(newData), 'A still has the new content');
          assert.equal((await mustRun('stat', ['-c', '%s %h', a], opts(m))).trim(), `${newData.length} 1`);
        }));
    });
  }
}
