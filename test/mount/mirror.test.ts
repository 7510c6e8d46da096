// The mirror filesystem through real mounts, over both transports (root only: the daemon creates
// as the caller, passthrough needs CAP_SYS_ADMIN). The daemon is test/fixtures/daemon.ts with
// --fs mirror --source <dir>, a child process; this process is the client. SIGUSR2 makes the
// daemon print its counters ({"event":"stats",…}): READ/WRITE requests that reached it, its fds.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import {
  chmod, link, lstat, mkdir, readFile, readdir, readlink, realpath, rename, rm, stat, symlink, unlink, writeFile,
} from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Child, assertCleanStop, makeMountpoint, parseJsonLines, runMounted, teardown, type TeardownReport } from '../helpers/child.js';
import { ROOT } from '../helpers/daemon.js';
import { uringSkipReason } from '../helpers/proc.js';
import { mustRun, runCmd, sh } from '../helpers/run.js';
import { randomFile, withTempDir } from '../helpers/files.js';
import type { MirrorStats } from '../../src/fs/mirror/index.js';

const FIXTURE = join(ROOT, 'dist', 'test', 'fixtures', 'daemon.js');
const T = { timeout: 180_000 };
const MiB = 1 << 20;

type Event = { event: string; [k: string]: unknown };
interface Ready extends Event { pid: number; transport: string; passthrough: boolean; offeredPassthrough: boolean; flagNames: string[] }
interface Stats extends Event { seq: number; mirror: MirrorStats; fds: number; session: { requests: number } }

const parseEvents = (stdout: string): Event[] => parseJsonLines<Event>(stdout);

interface Mirror {
  readonly mnt: string;
  readonly pid: number;
  readonly ready: Ready;
  /** The daemon's counters, fresh (SIGUSR2 → one stats line). */
  stats(): Promise<Stats>;
  /** Open fds of the daemon, read from /proc by this process. */
  fdCount(): number;
  stderr(): string;
}

/**
 * Mounts a mirror of `source` (extra fixture args: --no-passthrough, --fd-cache N, --opt …), runs
 * `body`, and always tears down; unless the body failed, asserts the clean stop: unmounted by
 * SIGTERM, "closed ok", destroy() once, exit 0, nothing left mounted.
 */
async function withMirror(transport: 'uring' | 'dev', source: string, extra: readonly string[],
  body: (m: Mirror) => Promise<void>, timeoutMs = 150_000): Promise<void> {
  const mnt = await makeMountpoint(`mirror-${transport}`);
  const child = new Child(`mirror(${transport})`, mnt, process.execPath,
    [FIXTURE, '--transport', transport, '--mnt', mnt, '--fs', 'mirror', '--source', source, ...extra]);
  let stopping: Promise<TeardownReport> | undefined;
  const stop = () => (stopping ??= teardown(child));
  let ready: Ready;
  try {
    ready = await child.waitFor('ready line', () => parseEvents(child.stdout()).find((e): e is Ready => e.event === 'ready'), 20_000);
  } catch (e) {
    await stop();
    throw e;
  }
  let seq = 0;
  const m: Mirror = {
    mnt, pid: child.pid, ready,
    stats: () => {
      const want = ++seq;
      child.signal('SIGUSR2');
      return child.waitFor('stats line', () => parseEvents(child.stdout()).find((e): e is Stats => e.event === 'stats' && e.seq === want), 10_000);
    },
    fdCount: () => readdirSync(`/proc/${child.pid}/fd`).length,
    stderr: () => child.stderr(),
  };
  const report = await runMounted('daemon', mnt, timeoutMs, body(m), stop, () => child.stderr());
  const closed = parseEvents(child.stdout()).find((e) => e.event === 'closed');
  const why = `teardown ${JSON.stringify(report)}; closed ${JSON.stringify(closed)}; stderr:\n${child.stderr()}`;
  await assertCleanStop('daemon', mnt, report, closed, why);
  // A handler that threw something other than a FuseError answered EIO and was logged: a bug.
  assert.doesNotMatch(child.stderr(), /handler failed/, why);
}

/** A source directory (mode 0755) inside a scratch directory; `body` gets both. */
async function withSource(body: (src: string, scratch: string) => Promise<void>): Promise<void> {
  await withTempDir(async (scratch) => {
    const src = join(scratch, 'src');
    mkdirSync(src, { mode: 0o755 });
    await body(src, scratch);
  });
}

async function exists(p: string | Buffer): Promise<boolean> {
  return lstat(p).then(() => true, () => false);
}

async function waitFor(what: string, ok: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const sorted = (a: string[]) => [...a].sort();
const python = (await runCmd('python3', ['-c', 'import ctypes, os; ctypes.CDLL(None).renameat2']).catch(() => undefined))?.code === 0;

const notRoot = process.geteuid?.() !== 0 ? 'the mirror tests need root (creations as the caller, passthrough, mknod)' : false;

for (const transport of ['uring', 'dev'] as const) {
  const skip = notRoot || (transport === 'uring' ? uringSkipReason() : false);

  describe(`mirror over ${transport}`, { skip }, () => {
    it('files, directories, symlinks, hard links, FIFOs and device nodes are made in the source', T, async () => {
      await withSource(async (src) => withMirror(transport, src, ['--opt', 'defaultPermissions'], async ({ mnt }) => {
        await writeFile(join(mnt, 'f.txt'), 'hello');
        assert.equal(await readFile(join(src, 'f.txt'), 'utf8'), 'hello');
        await mkdir(join(mnt, 'd', 'e'), { recursive: true });
        assert.ok((await stat(join(src, 'd', 'e'))).isDirectory());
        writeFileSync(join(src, 'd', 'direct'), 'made in the source');
        assert.equal(await readFile(join(mnt, 'd', 'direct'), 'utf8'), 'made in the source');
        await symlink('f.txt', join(mnt, 'l'));
        assert.equal(await readlink(join(src, 'l')), 'f.txt');
        assert.equal(await readFile(join(mnt, 'l'), 'utf8'), 'hello');
        await link(join(mnt, 'f.txt'), join(mnt, 'hard'));
        const [a, b] = [await stat(join(src, 'f.txt')), await stat(join(src, 'hard'))];
        assert.equal(a.ino, b.ino);
        assert.equal(a.nlink, 2);
        assert.equal((await stat(join(mnt, 'hard'))).ino, a.ino, 'the mount shows the source inode numbers');
        await sh('mkfifo "$1" && mknod "$2" c 1 3', [join(mnt, 'fifo'), join(mnt, 'null')]);
        assert.ok((await lstat(join(src, 'fifo'))).isFIFO());
        const dev = await lstat(join(src, 'null'));
        assert.ok(dev.isCharacterDevice());
        assert.equal(dev.rdev, (1 << 8) | 3);
        assert.equal((await lstat(join(mnt, 'null'))).rdev, dev.rdev);
        assert.deepEqual(sorted(await readdir(mnt)), sorted(await readdir(src)));
        await unlink(join(mnt, 'hard'));
        await rm(join(mnt, 'd'), { recursive: true });
        assert.equal(await exists(join(src, 'd')), false);
        assert.equal((await stat(join(src, 'f.txt'))).nlink, 1);
        await rename(join(mnt, 'f.txt'), join(mnt, 'g.txt'));
        assert.equal(await readFile(join(src, 'g.txt'), 'utf8'), 'hello');
      }));
    });

    it('xattrs, chmod, chown, truncate and times go through to the source', T, async () => {
      await withSource(async (src) => withMirror(transport, src, ['--opt', 'defaultPermissions'], async ({ mnt }) => {
        const f = join(mnt, 'f');
        const l = join(mnt, 'l');
        await writeFile(f, 'hello world');
        await symlink('f', l);
        await sh('setfattr -n user.color -v blue "$1" && setfattr -h -n trusted.t -v onlink "$2"', [f, l]);
        assert.equal(await mustRun('getfattr', ['--only-values', '-n', 'user.color', join(src, 'f')]), 'blue');
        assert.equal(await mustRun('getfattr', ['-h', '--only-values', '-n', 'trusted.t', join(src, 'l')]), 'onlink');
        assert.match(await mustRun('getfattr', ['-d', f]), /user\.color="blue"/);
        await sh('setfattr -x user.color "$1"', [f]);
        assert.doesNotMatch(await mustRun('getfattr', ['-d', join(src, 'f')]), /color/);

        await chmod(f, 0o4751);
        assert.equal((await stat(join(src, 'f'))).mode & 0o7777, 0o4751);
        await sh('chown 1234:5678 "$1" && chown -h 11:22 "$2"', [f, l]);
        const s = await stat(join(src, 'f'));
        assert.deepEqual([s.uid, s.gid], [1234, 5678]);
        const ls = await lstat(join(src, 'l'));
        assert.deepEqual([ls.uid, ls.gid], [11, 22], 'chown -h changed the symlink itself');

        await sh('truncate -s 5 "$1"', [f]);
        assert.equal(await readFile(join(src, 'f'), 'utf8'), 'hello');
        const before = await stat(join(src, 'f'), { bigint: true });
        await sh('touch -a -d @1000000000 "$1"', [f]); // mtime: UTIME_OMIT
        let t = await stat(join(src, 'f'), { bigint: true });
        assert.equal(t.atimeNs, 1_000_000_000_000_000_000n);
        assert.equal(t.mtimeNs, before.mtimeNs, 'mtime untouched (UTIME_OMIT)');
        await sh('touch -m -d @1500000000.123456789 "$1"', [f]);
        t = await stat(join(src, 'f'), { bigint: true });
        assert.equal(t.mtimeNs, 1_500_000_000_123_456_789n, 'nanoseconds kept');
        assert.equal(t.atimeNs, 1_000_000_000_000_000_000n);
        await sh('touch "$1"', [f]); // both UTIME_NOW
        t = await stat(join(src, 'f'), { bigint: true });
        assert.ok(t.mtimeNs > 1_500_000_000_123_456_789n && t.atimeNs > 1_000_000_000_000_000_000n);

        await sh('fallocate -l 1048576 "$1"', [join(mnt, 'fa')]);
        assert.equal((await stat(join(src, 'fa'))).size, MiB);
      }));
    });

    it('rename: plain, RENAME_NOREPLACE and RENAME_EXCHANGE', { ...T, skip: !python && 'python3 with ctypes is needed to call renameat2' }, async () => {
      await withSource(async (src) => withMirror(transport, src, [], async ({ mnt }) => {
        await writeFile(join(mnt, 'a'), 'A');
        await writeFile(join(mnt, 'b'), 'B');
        const script = 'import ctypes, os, sys\n'
          + 'libc = ctypes.CDLL(None, use_errno=True)\n'
          + 'r = libc.renameat2(-100, sys.argv[1].encode(), -100, sys.argv[2].encode(), int(sys.argv[3]))\n'
          + 'print(0 if r == 0 else os.strerror(ctypes.get_errno()))\n';
        const rn = (a: string, b: string, flags: number) => mustRun('python3', ['-c', script, join(mnt, a), join(mnt, b), String(flags)]);
        assert.match(await rn('a', 'b', 1), /File exists/);
        assert.equal(await readFile(join(src, 'b'), 'utf8'), 'B');
        assert.equal((await rn('a', 'b', 2)).trim(), '0');
        assert.equal(await readFile(join(src, 'a'), 'utf8'), 'B');
        assert.equal(await readFile(join(src, 'b'), 'utf8'), 'A');
        assert.equal((await rn('a', 'c', 1)).trim(), '0');
        assert.deepEqual(sorted(readdirSync(src)), ['b', 'c']);
      }));
    });

    it('O_TMPFILE, SEEK_DATA/SEEK_HOLE, copy_file_range, fsync, fdatasync, statx birth time', { ...T, skip: !python && 'python3 is needed' }, async () => {
      await withSource(async (src) => withMirror(transport, src, ['--opt', 'defaultPermissions'], async ({ mnt }) => {
        writeFileSync(join(src, 'orig'), 'tmpdata');
        // (linkat of an O_TMPFILE fd into a FUSE mount fails with EXDEV in the kernel itself, on
        // memfs too: the LINK never reaches the daemon; MirrorFs.link is covered by the unit tests.)
        const script = [
          'import os, sys, json',
          'mnt = sys.argv[1]; out = {}',
          'fd = os.open(mnt, os.O_TMPFILE | os.O_RDWR, 0o640)',
          "os.write(fd, b'unnamed data'); out['tmp'] = os.pread(fd, 100, 0).decode(); out['tmpmode'] = os.fstat(fd).st_mode & 0o777",
          "out['names'] = sorted(os.listdir(mnt))",
          'os.close(fd)',
          "fd = os.open(os.path.join(mnt, 'sparse'), os.O_CREAT | os.O_RDWR, 0o644)",
          "os.pwrite(fd, b'x' * 4096, 1 << 20)",
          "out['data'] = os.lseek(fd, 0, os.SEEK_DATA); out['hole'] = os.lseek(fd, 0, os.SEEK_HOLE)",
          'os.fsync(fd); os.fdatasync(fd); os.close(fd)',
          "a = os.open(os.path.join(mnt, 'orig'), os.O_RDONLY)",
          "b = os.open(os.path.join(mnt, 'copied'), os.O_CREAT | os.O_WRONLY, 0o644)",
          "out['copied'] = os.copy_file_range(a, b, 7); os.close(a); os.close(b)",
          'd = os.open(mnt, os.O_RDONLY | os.O_DIRECTORY); os.fsync(d); os.close(d)',
          'print(json.dumps(out))',
        ].join('\n');
        const out = JSON.parse(await mustRun('python3', ['-c', script, mnt])) as Record<string, unknown>;
        assert.deepEqual(out, { tmp: 'unnamed data', tmpmode: 0o640, names: ['orig'], data: 1 << 20, hole: 0, copied: 7 });
        assert.equal(await readFile(join(src, 'copied'), 'utf8'), 'tmpdata');
        const birth = async (p: string) => (await mustRun('stat', ['-c', '%W', p])).trim();
        assert.equal(await birth(join(mnt, 'copied')), await birth(join(src, 'copied')), 'statx birth time');
        assert.notEqual(await birth(join(mnt, 'copied')), '0');
      }));
    });

    it('without default_permissions, access(2) is answered from the source inode for the caller', T, async () => {
      await withSource(async (src) => {
        writeFileSync(join(src, 'secret'), 's', { mode: 0o600 });
        writeFileSync(join(src, 'public'), 'p', { mode: 0o644 });
        await withMirror(transport, src, ['--opt', 'allowOther'], async ({ mnt }) => {
          const r = await runCmd('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', 'sh', '-c',
            'test -r "$1/public" && echo public-readable; test -r "$1/secret" || echo secret-refused; test -w "$1/public" || echo public-not-writable',
            'sh', mnt]);
          assert.equal(r.code, 0, r.stderr);
          assert.deepEqual(r.stdout.trim().split('\n'), ['public-readable', 'secret-refused', 'public-not-writable']);
        });
      });
    });

    it('names with bytes that are not UTF-8 round-trip both ways', T, async () => {
      await withSource(async (src) => withMirror(transport, src, [], async ({ mnt }) => {
        const p = (dir: string, ...names: Buffer[]) => Buffer.concat([Buffer.from(dir), ...names.flatMap((n) => [Buffer.from('/'), n])]);
        const made = Buffer.from([0x6e, 0xff, 0xfe, 0x2e, 0x74]); // "n\xff\xfe.t"
        const dirName = Buffer.from([0x64, 0xe9]); // latin-1 "dé"
        await writeFile(p(mnt, made), 'through the mount');
        await mkdir(p(mnt, dirName));
        await writeFile(p(mnt, dirName, made), 'nested');
        const onSource = readdirSync(Buffer.from(src), { encoding: 'buffer' });
        assert.ok(onSource.some((b) => b.equals(made)), 'the exact bytes reach the source');
        assert.equal(await readFile(p(src, dirName, made), 'utf8'), 'nested');
        const direct = Buffer.from([0xc3, 0x28, 0x41]); // an invalid UTF-8 sequence
        writeFileSync(p(src, direct), 'made in the source');
        const listed = await readdir(Buffer.from(mnt), { encoding: 'buffer' });
        assert.ok(listed.some((b) => b.equals(direct)));
        assert.equal(await readFile(p(mnt, direct), 'utf8'), 'made in the source');
      }));
    });

    it('a 64 MiB file written and read through the mirror is byte-identical (cmp)', T, async () => {
      await withSource(async (src, scratch) => withMirror(transport, src, [], async ({ mnt }) => {
        const orig = join(scratch, 'orig.bin');
        await randomFile(orig, 64 * MiB);
        await mustRun('cp', [orig, join(mnt, 'big.bin')], { timeout: 120_000 });
        await mustRun('cmp', [orig, join(src, 'big.bin')], { timeout: 60_000 });
        await mustRun('cmp', [orig, join(mnt, 'big.bin')], { timeout: 60_000 });
        // Overwrite a range in the middle through the mount, unaligned.
        await sh('dd if="$1" of="$2" bs=1000 count=777 skip=5 seek=12345 conv=notrunc status=none', [orig, join(mnt, 'big.bin')]);
        await sh('dd if="$1" of="$1.expected" bs=1M status=none && dd if="$1" of="$1.expected" bs=1000 count=777 skip=5 seek=12345 conv=notrunc status=none', [orig]);
        await mustRun('cmp', [`${orig}.expected`, join(src, 'big.bin')], { timeout: 60_000 });
      }));
    });

    it('statfs reports the source filesystem', T, async () => {
      await withSource(async (src) => withMirror(transport, src, [], async ({ mnt }) => {
        const fields = async (p: string) => (await mustRun('stat', ['-f', '-c', '%b %S %s %l %c', p])).trim().split(' ').map(Number);
        const [m, s] = [await fields(mnt), await fields(src)];
        assert.deepEqual(m, s, 'total blocks, fundamental and preferred block size, name length, total inodes');
        const free = async (p: string) => Number((await mustRun('stat', ['-f', '-c', '%f', p])).trim());
        const [fm, fs] = [await free(mnt), await free(src)];
        assert.ok(Math.abs(fm - fs) < 64 * 1024, `free blocks ${fm} vs ${fs}`);
      }));
    });

    it('a symlink to /etc/passwd reads as a symlink; following it is the client\'s own walk', T, async () => {
      await withSource(async (src) => {
        symlinkSync('/etc/passwd', join(src, 'pw'));
        symlinkSync('../../../../../../../../etc/hostname', join(src, 'rel'));
        await withMirror(transport, src, [], async ({ mnt }) => {
          assert.ok((await lstat(join(mnt, 'pw'))).isSymbolicLink());
          assert.equal(await readlink(join(mnt, 'pw')), '/etc/passwd');
          assert.equal(await readlink(join(mnt, 'rel')), '../../../../../../../../etc/hostname');
          // cat follows it in this process's namespace, as for any symlink: /etc/passwd of the client.
          assert.equal(await readFile(join(mnt, 'pw'), 'utf8'), await readFile('/etc/passwd', 'utf8'));
          assert.equal((await lstat(join(mnt, 'pw'))).size, '/etc/passwd'.length);
        });
      });
    });

    for (const variant of [{ name: 'held', args: [] as string[] }, { name: 'evicted', args: ['--fd-cache', '1'] }]) {
      it(`a directory swapped for a symlink to outside between operations (fd ${variant.name}): the daemon never works outside the root`, T, async (t) => {
        await withSource(async (src, scratch) => {
          const outside = join(scratch, 'outside');
          const ctl = join(scratch, 'ctl');
          mkdirSync(outside);
          mkdirSync(ctl);
          mkdirSync(join(src, 'work'));
          mkdirSync(join(src, 'other'));
          writeFileSync(join(src, 'work', 'inside'), 'in');
          writeFileSync(join(outside, 'inside'), 'OUTSIDE');
          await withMirror(transport, src, variant.args, async (m) => {
            // A shell whose cwd is mnt/work; it reads a file there (the daemon now holds work's fd),
            // waits while the source is rearranged behind the mount, then creates a file in its cwd.
            const script = 'cd "$1" || exit 3; cat inside > "$2/seen1"; : > "$2/ready"; i=0; '
              + 'while [ ! -e "$2/go" ]; do sleep 0.05; i=$((i+1)); [ $i -gt 600 ] && exit 4; done; '
              + 'if { echo data > created; } 2> "$2/err"; then echo ok > "$2/result"; else echo fail > "$2/result"; fi; '
              + 'cat inside > "$2/seen2" 2>> "$2/err"; exit 0';
            const shell = runCmd('sh', ['-c', script, 'sh', join(m.mnt, 'work'), ctl], { timeout: 60_000 });
            await waitFor('the shell to be ready', () => exists(join(ctl, 'ready')));
            assert.equal(await readFile(join(ctl, 'seen1'), 'utf8'), 'in');
            // The swap, done directly in the source: work moves away, a symlink to outside takes its name.
            await rename(join(src, 'work'), join(src, 'work.moved'));
            await symlink(outside, join(src, 'work'));
            // Give the daemon other directories to work in (with a one-fd cache, work's fd goes).
            await readdir(join(m.mnt, 'other'));
            await stat(join(m.mnt, 'other'));
            writeFileSync(join(ctl, 'go'), '');
            const r = await shell;
            assert.equal(r.code, 0, `shell: ${r.stderr}`);
            const result = (await readFile(join(ctl, 'result'), 'utf8')).trim();
            t.diagnostic(`create in the swapped-out cwd: ${result === 'ok' ? 'landed in the moved directory' : (await readFile(join(ctl, 'err'), 'utf8')).trim()}`);
            assert.equal(await exists(join(outside, 'created')), false, 'nothing was created outside the root');
            assert.equal(await readFile(join(outside, 'inside'), 'utf8'), 'OUTSIDE');
            if (result === 'ok') {
              assert.equal(await readFile(join(src, 'work.moved', 'created'), 'utf8'), 'data\n', 'created in the directory the cwd is');
              assert.equal(await readFile(join(ctl, 'seen2'), 'utf8'), 'in');
            } else {
              assert.equal(variant.name, 'evicted', `the held fd must keep working: ${await readFile(join(ctl, 'err'), 'utf8')}`);
              assert.match(await readFile(join(ctl, 'err'), 'utf8'), /[Ss]tale file handle/);
              assert.equal(await exists(join(src, 'work.moved', 'created')), false);
              assert.ok((await m.stats()).mirror.stale >= 1);
            }
            if (variant.name === 'held') assert.equal(result, 'ok');
            // Once the kernel's cached entry expires (1 s), the name is the symlink it now is.
            await waitFor('the new name to show', async () => (await lstat(join(m.mnt, 'work'))).isSymbolicLink(), 5000);
            assert.equal(await readlink(join(m.mnt, 'work')), outside);
          });
        });
      });
    }

    it('".." at the root is the mount point\'s parent, never the source\'s', T, async () => {
      await withTempDir(async (scratch) => {
        const src = join(scratch, 'deep', 'src');
        mkdirSync(src, { recursive: true, mode: 0o755 });
        writeFileSync(join(scratch, 'deep', 'sibling-of-source'), 'S');
        await withMirror(transport, src, [], async ({ mnt }) => {
          await mkdir(join(mnt, 'sub'));
          assert.equal(await realpath(join(mnt, '..')), dirname(mnt));
          assert.equal(await realpath(join(mnt, 'sub', '..', '..')), dirname(mnt));
          assert.equal((await stat(join(mnt, '..'))).ino, (await stat(dirname(mnt))).ino);
          assert.equal(await exists(join(mnt, '..', 'sibling-of-source')), false);
          assert.ok((await mustRun('ls', ['-a', mnt])).split('\n').includes('..'));
        });
      });
    });

    it('files made by another user belong to that user, with the modes it asked for (allow_other)', T, async () => {
      await withSource(async (src) => {
        mkdirSync(join(src, 'pub'), { mode: 0o777 });
        await chmod(join(src, 'pub'), 0o1777);
        await withMirror(transport, src, ['--opt', 'defaultPermissions,allowOther'], async ({ mnt }) => {
          const asNobody = (script: string) => runCmd('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups',
            'sh', '-c', script, 'sh', mnt]);
          const r = await asNobody('umask 022; echo x > "$1/pub/u.txt" && mkdir "$1/pub/ud" && ln -s t "$1/pub/ul" && mkfifo "$1/pub/up" '
            + '&& umask 077 && echo y > "$1/pub/private"');
          assert.equal(r.code, 0, r.stderr);
          for (const [name, mode] of [['u.txt', 0o100644], ['ud', 0o40755], ['ul', 0o120777], ['up', 0o10644], ['private', 0o100600]] as const) {
            const st = await lstat(join(src, 'pub', name));
            assert.deepEqual([st.uid, st.gid, st.mode], [65534, 65534, mode], name);
          }
          // default_permissions: the kernel refuses what the user may not do; the daemon is not asked.
          const denied = await asNobody('echo no > "$1/denied"');
          assert.notEqual(denied.code, 0);
          assert.match(denied.stderr, /Permission denied/);
          assert.equal(await exists(join(src, 'denied')), false);
        });
      });
    });

    it('passthrough: reads and writes of a large file never reach the daemon; with --no-passthrough they do', T, async (t) => {
      await withSource(async (src, scratch) => {
        const orig = join(scratch, 'orig.bin');
        await randomFile(orig, 32 * MiB);
        await mustRun('cp', [orig, join(src, 'in.bin')]);
        let skipped: string | undefined;
        await withMirror(transport, src, [], async (m) => {
          if (!m.ready.passthrough) {
            skipped = m.ready.offeredPassthrough ? `passthrough offered but not negotiated: ${m.ready.flagNames.join(',')}` : 'the kernel does not offer FUSE_PASSTHROUGH';
            return;
          }
          await mustRun('cmp', [orig, join(m.mnt, 'in.bin')], { timeout: 60_000 });
          await mustRun('cp', [orig, join(m.mnt, 'out.bin')], { timeout: 60_000 });
          await mustRun('cmp', [orig, join(src, 'out.bin')], { timeout: 60_000 });
          await mustRun('cmp', [orig, join(m.mnt, 'out.bin')], { timeout: 60_000 });
          let s = (await m.stats()).mirror;
          await waitFor('the releases', async () => (s = (await m.stats()).mirror).openFiles === 0, 5000);
          assert.equal(s.passthroughRefused, 0, JSON.stringify(s));
          assert.ok(s.passthroughOpens >= 3, JSON.stringify(s));
          assert.equal(s.reads, 0, `READ requests reached the daemon: ${JSON.stringify(s)}`);
          assert.equal(s.writes, 0, `WRITE requests reached the daemon: ${JSON.stringify(s)}`);
        });
        if (skipped) t.diagnostic(`passthrough half skipped: ${skipped}`);
        await rm(join(src, 'out.bin'));
        await withMirror(transport, src, ['--no-passthrough'], async (m) => {
          assert.equal(m.ready.passthrough, false);
          await mustRun('cmp', [orig, join(m.mnt, 'in.bin')], { timeout: 60_000 });
          await mustRun('cp', [orig, join(m.mnt, 'out.bin')], { timeout: 60_000 });
          await mustRun('cmp', [orig, join(src, 'out.bin')], { timeout: 60_000 });
          const s = (await m.stats()).mirror;
          assert.equal(s.passthroughOpens, 0);
          assert.ok(s.reads >= 32 && s.bytesRead >= 32 * MiB, `userspace reads: ${JSON.stringify(s)}`);
          assert.ok(s.writes >= 32 && s.bytesWritten >= 32 * MiB, `userspace writes: ${JSON.stringify(s)}`);
          t.diagnostic(`no passthrough: ${s.reads} READ and ${s.writes} WRITE requests for 32 MiB each way`);
        });
      });
    });

    it('a tree of 30,000 files (3,000 directories) listed and stat\'ed keeps the daemon\'s fds bounded', T, async (t) => {
      await withSource(async (src) => {
        for (let d = 0; d < 3000; d++) {
          const dir = join(src, `d${d}`);
          mkdirSync(dir);
          for (let f = 0; f < 10; f++) writeFileSync(join(dir, `f${f}`), '');
        }
        await withMirror(transport, src, [], async (m) => {
          const base = m.fdCount();
          let max = base;
          const timer = setInterval(() => { try { max = Math.max(max, m.fdCount()); } catch { /* exiting */ } }, 20);
          try {
            const files = await mustRun('find', [m.mnt, '-type', 'f', '-printf', '%s %U\n'], { timeout: 120_000 });
            assert.equal(files.split('\n').filter((l) => l !== '').length, 30_000);
            const dirs = await mustRun('find', [m.mnt, '-mindepth', '1', '-type', 'd'], { timeout: 120_000 });
            assert.equal(dirs.split('\n').filter((l) => l !== '').length, 3000);
          } finally {
            clearInterval(timer);
          }
          const s = await m.stats();
          max = Math.max(max, s.fds);
          t.diagnostic(`fds: ${base} at mount, at most ${max} during the walk; cache ${s.mirror.cachedFds}/${s.mirror.maxCachedFds}, `
            + `${s.mirror.nodes} nodes, ${s.mirror.resolutions} resolutions, ${s.mirror.evictions} evictions`);
          assert.ok(s.mirror.cachedFds <= s.mirror.maxCachedFds, JSON.stringify(s.mirror));
          assert.ok(max <= base + s.mirror.maxCachedFds + 64, `the daemon held ${max} fds (${base} at mount)`);
          assert.ok(s.mirror.evictions > 0, 'the walk needed more fds than the cache holds: some were evicted');
        }, 170_000);
      });
    });
  });
}
