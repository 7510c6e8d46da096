// MemFs's POSIX operations through a real kernel mount, over FUSE-over-io_uring and over classic
// /dev/fuse: symlinks, hard links, FIFOs, device nodes and sockets, xattrs, flock and fcntl
// locks, fallocate, SEEK_DATA/SEEK_HOLE, copy_file_range, O_TMPFILE, statx, syncfs, access. The
// clients are the ordinary programs (coreutils, util-linux, attr) and python3 for the syscalls
// no program exposes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { access, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withDaemon, type Transport } from '../helpers/daemon.js';
import { uringSkipReason } from '../helpers/proc.js';
import { mustRun, runCmd, sh } from '../helpers/run.js';

// The locks must be served by memfs, not kept by the kernel: mount with posix_locks and flock_locks.
const LOCKS = 'posixLocks,flockLocks';

const T = { timeout: 120_000 };
const KiB = 1024, MiB = 1024 * 1024;

/** python3 -c `script` with `args` as sys.argv[1:]; returns stdout (asserts exit 0). */
const py = (script: string, ...args: string[]) => mustRun('python3', ['-c', script, ...args], { timeout: 60_000 });

/** st_blocks (512-byte units) and st_size as stat(1) reports them. */
async function blocksAndSize(path: string): Promise<{ blocks: number; size: number }> {
  const [b, s] = (await mustRun('stat', ['-c', '%b %s', path])).trim().split(' ').map(Number);
  return { blocks: b!, size: s! };
}

/**
 * True when the kernel itself lists a lock on `path` in /proc/locks ("… MAJ:MIN:INO …", major
 * and minor in hex). Locks served by the filesystem (posix_locks, flock_locks) are not there.
 */
async function kernelListsLock(path: string): Promise<boolean> {
  const st = await stat(path);
  const major = Math.floor(st.dev / 256) & 0xfff, minor = (st.dev & 0xff) | ((st.dev >> 12) & 0xfff00);
  const id = `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}:${st.ino}`;
  return (await readFile('/proc/locks', 'utf8')).split('\n').some((l) => l.split(/\s+/).includes(id));
}

/** Polls until `path` exists (a child process signalling that it got somewhere). */
async function waitForFile(path: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try { await access(path); return; } catch { /* not yet */ }
    if (Date.now() > deadline) throw new Error(`${path} did not appear within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const transport of ['uring', 'dev'] as const satisfies readonly Transport[]) {
  const skip = transport === 'uring' ? uringSkipReason() : false;

  describe(`memfs POSIX operations over ${transport === 'uring' ? 'FUSE-over-io_uring' : 'classic /dev/fuse'}`, { skip }, () => {
    it('ln -s makes a symlink that readlink reads back and paths follow', T, () => withDaemon({ transport, opt: LOCKS }, async (d) => {
      const p = (n: string) => join(d.mnt, n);
      await writeFile(p('target'), 'via the link\n');
      await mustRun('ln', ['-s', 'target', p('rel')]);
      await mustRun('ln', ['-s', '/no/such/place', p('dangling')]);
      assert.equal((await mustRun('readlink', [p('rel')])).trim(), 'target');
      assert.equal((await mustRun('readlink', [p('dangling')])).trim(), '/no/such/place');
      assert.equal((await mustRun('stat', ['-c', '%F %s %a', p('rel')])).trim(), 'symbolic link 6 777');
      assert.equal(await readFile(p('rel'), 'utf8'), 'via the link\n');
      assert.equal((await mustRun('cat', [p('rel')])), 'via the link\n');
      const r = await runCmd('cat', [p('dangling')]);
      assert.notEqual(r.code, 0, 'a dangling link does not open');
      await mkdir(p('dir'));
      await mustRun('ln', ['-s', '../target', p('dir/up')]);
      assert.equal(await readFile(p('dir/up'), 'utf8'), 'via the link\n');
      assert.match(await mustRun('ls', ['-l', d.mnt]), /rel -> target/);
      await mustRun('rm', [p('rel')]);
      assert.equal(await readFile(p('target'), 'utf8'), 'via the link\n', 'removing the link leaves the target');
    }));

    it('ln makes hard links: stat %h counts them across ln, mv and rm; directories are EPERM', T, () => withDaemon({ transport, opt: LOCKS }, async (d) => {
      const p = (n: string) => join(d.mnt, n);
      await writeFile(p('a'), 'shared');
      await mkdir(p('sub'));
      await mustRun('ln', [p('a'), p('sub/b')]);
      await mustRun('ln', [p('a'), p('c')]);
      const nlink = async (n: string) => (await mustRun('stat', ['-c', '%h', p(n)])).trim();
      assert.equal(await nlink('a'), '3');
      assert.equal(await nlink('sub/b'), '3');
      assert.equal((await mustRun('stat', ['-c', '%i', p('a')])).trim(), (await mustRun('stat', ['-c', '%i', p('sub/b')])).trim());
      await writeFile(p('sub/b'), 'changed through b');
      assert.equal(await readFile(p('a'), 'utf8'), 'changed through b');
      await writeFile(p('other'), 'other');
      await mustRun('mv', [p('other'), p('c')]); // replaces one name of the three
      assert.equal(await nlink('a'), '2');
      await mustRun('rm', [p('sub/b')]);
      assert.equal(await nlink('a'), '1');
      const r = await runCmd('python3', ['-c', 'import os,sys\ntry: os.link(sys.argv[1], sys.argv[2])\nexcept OSError as e: print(e.errno)', p('sub'), p('sub2')]);
      assert.equal(r.stdout.trim(), '1', 'link(2) of a directory is EPERM');
    }));

    it('mkfifo, mknod and sockets: the types and rdev, and a FIFO carries data between two processes', T, () => withDaemon({ transport, opt: LOCKS }, async (d) => {
      const p = (n: string) => join(d.mnt, n);
      await mustRun('mkfifo', ['-m', '0640', p('fifo')]);
      await mustRun('mknod', [p('chr'), 'c', '1', '3']);
      await mustRun('mknod', [p('blk'), 'b', '8', '17']);
      await mustRun('mknod', [p('fifo2'), 'p']);
      assert.equal((await mustRun('stat', ['-c', '%F %a', p('fifo')])).trim(), 'fifo 640');
      assert.equal((await mustRun('stat', ['-c', '%F %t %T', p('chr')])).trim(), 'character special file 1 3');
      assert.equal((await mustRun('stat', ['-c', '%F %t %T', p('blk')])).trim(), 'block special file 8 11');
      assert.equal((await mustRun('stat', ['-c', '%F', p('fifo2')])).trim(), 'fifo');
      assert.match(await mustRun('ls', ['-l', d.mnt]), /^crw.* 1, +3 .*chr$/m);
      // A reader and a writer, two processes meeting at the FIFO.
      const message = 'through the fifo\n'.repeat(1000);
      const [read] = await Promise.all([
        mustRun('cat', [p('fifo')]),
        sh('printf "%s" "$2" > "$1"', [p('fifo'), message]),
      ]);
      assert.equal(read, message);
      // A Unix socket bound in the mount (mknod S_IFSOCK), and a connection through it.
      const out = await py(`
import os, socket, sys
path = sys.argv[1]
srv = socket.socket(socket.AF_UNIX); srv.bind(path); srv.listen(1)
cli = socket.socket(socket.AF_UNIX); cli.connect(path); cli.sendall(b'ping')
conn, _ = srv.accept(); print(conn.recv(4).decode(), oct(os.stat(path).st_mode >> 12))`, p('sock'));
      assert.equal(out.trim(), 'ping 0o14');
      assert.equal((await mustRun('stat', ['-c', '%F', p('sock')])).trim(), 'socket');
    }));

    it('setfattr and getfattr: user, trusted and security names; flags and limits through python', T, () => withDaemon({ transport, opt: LOCKS }, async (d) => {
      const f = join(d.mnt, 'f');
      await writeFile(f, 'x');
      await mustRun('setfattr', ['-n', 'user.color', '-v', 'blue', f]);
      await mustRun('setfattr', ['-n', 'user.empty', f]);
      await mustRun('setfattr', ['-n', 'trusted.t', '-v', '0x00ff', f]);
      await mustRun('setfattr', ['-n', 'security.s', '-v', 'label', f]);
      assert.equal(await mustRun('getfattr', ['--only-values', '-n', 'user.color', f]), 'blue');
      const dump = await mustRun('getfattr', ['-d', '-m', '-', '-e', 'hex', f]);
      for (const line of ['user.color=0x626c7565', 'trusted.t=0x00ff', 'security.s=0x6c6162656c']) {
        assert.ok(dump.includes(line), `${line} in:\n${dump}`);
      }
      assert.match(dump, /^user\.empty=0x$/m, 'an empty value');
      await mustRun('setfattr', ['-x', 'user.color', f]);
      const gone = await runCmd('getfattr', ['-n', 'user.color', f]);
      assert.equal(gone.code, 1);
      assert.match(gone.stderr, /No such attribute/);
      // XATTR_CREATE / XATTR_REPLACE, a 64 KiB value, a directory, a symlink.
      await mkdir(join(d.mnt, 'dir'));
      await mustRun('ln', ['-s', 'f', join(d.mnt, 'link')]);
      const out = await py(`
import os, sys, errno
f, dr, ln = sys.argv[1:4]
res = []
def attempt(fn):
    try: fn(); res.append('ok')
    except OSError as e: res.append(errno.errorcode[e.errno])
attempt(lambda: os.setxattr(f, 'user.new', b'1', os.XATTR_CREATE))
attempt(lambda: os.setxattr(f, 'user.new', b'2', os.XATTR_CREATE))
attempt(lambda: os.setxattr(f, 'user.absent', b'3', os.XATTR_REPLACE))
attempt(lambda: os.setxattr(f, 'user.new', b'4', os.XATTR_REPLACE))
attempt(lambda: os.setxattr(f, 'user.big', b'v' * 65536))
attempt(lambda: os.setxattr(f, 'user.bigger', b'v' * 65537))
attempt(lambda: os.setxattr(dr, 'user.on-dir', b'd'))
attempt(lambda: os.setxattr(ln, 'user.on-link', b'l', follow_symlinks=False))
attempt(lambda: os.removexattr(f, 'user.absent'))
print(' '.join(res))
print(os.getxattr(f, 'user.new').decode(), len(os.getxattr(f, 'user.big')), os.getxattr(dr, 'user.on-dir').decode())
print(','.join(sorted(os.listxattr(f))))`, f, join(d.mnt, 'dir'), join(d.mnt, 'link'));
      const [results, values, names] = out.trim().split('\n');
      assert.equal(results, 'ok EEXIST ENODATA ok ok E2BIG ok EPERM ENODATA');
      assert.equal(values, '4 65536 d');
      assert.equal(names, 'security.s,trusted.t,user.big,user.empty,user.new');
    }));

    it('flock: an exclusive lock held by one process keeps others out until it is released', T, () => withDaemon({ transport, opt: LOCKS }, async (d) => {
      const f = join(d.mnt, 'lockfile');
      const held = join(d.mnt, 'held');
      await writeFile(f, '');
      const holder = sh('exec 9>>"$1"; flock -x 9; : > "$2"; sleep 3', [f, held], { timeout: 30_000 });
      await waitForFile(held);
      assert.equal(await kernelListsLock(f), false, 'the lock is memfs\'s (flock_locks), not the kernel\'s');
      assert.equal((await runCmd('flock', ['-n', '-x', f, 'true'])).code, 1, 'LOCK_EX|LOCK_NB is refused');
      assert.equal((await runCmd('flock', ['-n', '-s', f, 'true'])).code, 1, 'LOCK_SH|LOCK_NB is refused');
      // A blocking request that times out: flock -w arms an alarm, the kernel interrupts the request.
      const t0 = Date.now();
      assert.equal((await runCmd('flock', ['-w', '0.5', '-x', f, 'true'])).code, 1, 'flock -w gives up');
      assert.ok(Date.now() - t0 < 2500, 'the interrupted wait ended at the alarm, not with the holder');
      // A blocking request waits for the holder's exit (its close releases the lock).
      const waited = await mustRun('flock', ['-x', f, 'sh', '-c', 'echo got it'], { timeout: 30_000 });
      assert.equal(waited.trim(), 'got it');
      await holder;
      assert.ok(Date.now() - t0 >= 1500, 'the blocking flock waited for the holder');
      // Shared locks coexist.
      await sh('exec 8>>"$1"; flock -s 8; flock -n -s "$1" true', [f]);
      assert.equal((await runCmd('sh', ['-c', 'exec 8>>"$1"; flock -s 8; flock -n -x "$1" true', 'sh', f])).code, 1);
    }));

    it('fcntl POSIX locks: a conflict from another process, F_GETLK names the holder, SETLKW waits and can be interrupted', T, () => withDaemon({ transport, opt: LOCKS }, async (d) => {
      const f = join(d.mnt, 'records');
      await writeFile(f, Buffer.alloc(4096));
      const out = await py(`
import errno, fcntl, json, os, signal, struct, sys, time
path = sys.argv[1]
st = os.stat(path)
lockid = '%02x:%02x:%d' % (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
fd = os.open(path, os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX, 100, 0)          # bytes [0, 100)
go_r, go_w = os.pipe()
res_r, res_w = os.pipe()
pid = os.fork()
if pid == 0:
    res = {}
    fd2 = os.open(path, os.O_RDWR)
    try:
        fcntl.lockf(fd2, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 50); res['nb'] = 'granted'
    except OSError as e:
        res['nb'] = errno.errorcode[e.errno]
    fcntl.lockf(fd2, fcntl.LOCK_SH | fcntl.LOCK_NB, 100, 100); res['beside'] = 'granted'
    t, _, start, length, holder = struct.unpack('hhqqi', fcntl.fcntl(fd2, fcntl.F_GETLK, struct.pack('hhqqi', fcntl.F_WRLCK, 0, 0, 0, 0)))
    res['getlk'] = [t, start, length, holder == os.getppid()]
    res['kernel_lists'] = any(lockid in line.split() for line in open('/proc/locks'))
    def alarm(*_): raise TimeoutError()
    signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    t0 = time.time()
    try:
        fcntl.lockf(fd2, fcntl.LOCK_EX, 10, 50); res['interrupted'] = 'granted'
    except TimeoutError:
        res['interrupted'] = round(time.time() - t0, 1)
    os.write(go_w, b'1')                          # the parent may close now
    t0 = time.time()
    fcntl.lockf(fd2, fcntl.LOCK_EX, 10, 50)
    res['waited'] = round(time.time() - t0, 1)
    os.write(res_w, json.dumps(res).encode())
    os._exit(0)
os.read(go_r, 1)
time.sleep(1)
os.close(fd)                                      # close(2) drops this process's locks (FLUSH)
_, status = os.waitpid(pid, 0)
print(os.read(res_r, 4096).decode())
sys.exit(status)`, f);
      const res = JSON.parse(out) as Record<string, unknown>;
      assert.equal(res.nb, 'EAGAIN', 'a conflicting F_SETLK fails');
      assert.equal(res.beside, 'granted', 'a range beside the lock is free');
      assert.deepEqual(res.getlk, [1, 0, 100, true], 'F_GETLK: F_WRLCK over [0, 100) held by the parent');
      assert.equal(res.kernel_lists, false, 'the lock is memfs\'s (posix_locks), not the kernel\'s');
      assert.equal(typeof res.interrupted, 'number', `the interrupted F_SETLKW gave up (${String(res.interrupted)})`);
      assert.ok((res.waited as number) >= 0.5, `F_SETLKW waited for the close (${String(res.waited)} s)`);
    }));

    it('fallocate: -l allocates (stat %b, du), -n keeps the size, --punch-hole frees, -z zeros', T, () => withDaemon({ transport, opt: LOCKS }, async (d) => {
      const f = join(d.mnt, 'f');
      await mustRun('fallocate', ['-l', '1M', f]);
      assert.deepEqual(await blocksAndSize(f), { blocks: 2048, size: MiB });
      assert.equal((await mustRun('du', ['-k', f])).split('\t')[0], '1024');
      await mustRun('fallocate', ['-n', '-o', '1M', '-l', '1M', f]);
      assert.deepEqual(await blocksAndSize(f), { blocks: 4096, size: MiB }, '-n (KEEP_SIZE) allocates past the end');
      await writeFile(f, Buffer.alloc(MiB, 0xab));
      await mustRun('fallocate', ['--punch-hole', '-o', '256K', '-l', '512K', f]);
      assert.deepEqual(await blocksAndSize(f), { blocks: 1024, size: MiB }, 'the punched 512 KiB are freed');
      const data = await readFile(f);
      assert.ok(data.subarray(0, 256 * KiB).every((b) => b === 0xab));
      assert.ok(data.subarray(256 * KiB, 768 * KiB).every((b) => b === 0), 'the hole reads as zeros');
      assert.ok(data.subarray(768 * KiB).every((b) => b === 0xab));
      await mustRun('fallocate', ['-z', '-o', '1000', '-l', '3000', f]);
      const z = await readFile(f);
      assert.ok(z.subarray(1000, 4000).every((b) => b === 0) && z[999] === 0xab && z[4000] === 0xab, '-z zeros exactly the range');
      await mustRun('fallocate', ['-z', '-o', '1M', '-l', '4K', f]);
      assert.equal((await blocksAndSize(f)).size, MiB + 4 * KiB, 'ZERO_RANGE extends the size');
      const collapse = await runCmd('fallocate', ['-c', '-o', '0', '-l', '4K', f]);
      assert.notEqual(collapse.code, 0);
      assert.match(collapse.stderr, /not supported/i);
    }));

    it('SEEK_DATA and SEEK_HOLE find the written regions of a sparse file', T, () => withDaemon({ transport, opt: LOCKS }, async (d) => {
      const out = await py(`
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
os.pwrite(fd, b'a' * 65536, 0)
os.pwrite(fd, b'b' * 65536, 1 << 20)
os.ftruncate(fd, 3 << 20)
r = [os.lseek(fd, 0, os.SEEK_DATA), os.lseek(fd, 0, os.SEEK_HOLE), os.lseek(fd, 65536, os.SEEK_DATA),
     os.lseek(fd, (1 << 20) + 5, os.SEEK_HOLE), os.lseek(fd, (2 << 20), os.SEEK_HOLE)]
for off in ((1 << 20) + 65536, 3 << 20):
    try: r.append(os.lseek(fd, off, os.SEEK_DATA))
    except OSError as e: r.append(-e.errno)
print(*r)`, join(d.mnt, 'sparse'));
      const ENXIO = 6;
      assert.deepEqual(out.trim().split(' ').map(Number),
        [0, 65536, MiB, MiB + 65536, 2 * MiB, -ENXIO, -ENXIO]);
    }));

    it('copy_file_range copies inside the mount, keeping holes', T, () => withDaemon({ transport, opt: LOCKS }, async (d) => {
      const src = join(d.mnt, 'src'), dst = join(d.mnt, 'dst');
      const out = await py(`
import os, sys
s = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
os.pwrite(s, b'head' * 1000, 0)
os.pwrite(s, b'tail' * 1000, 8 << 20)
t = os.open(sys.argv[2], os.O_RDWR | os.O_CREAT, 0o644)
n = 0
size = os.fstat(s).st_size
while n < size:
    k = os.copy_file_range(s, t, size - n, n, n)
    if k == 0: break
    n += k
part = os.copy_file_range(s, t, 4, 0, size)      # 'head' again, after the end of dst
print(n, part, os.fstat(t).st_size)`, src, dst);
      const size = 8 * MiB + 4000;
      assert.equal(out.trim(), `${size} 4 ${size + 4}`);
      const a = await readFile(src), b = await readFile(dst);
      assert.ok(b.subarray(0, size).equals(a), 'the copy is byte for byte');
      assert.equal(b.subarray(size).toString(), 'head');
      const { blocks } = await blocksAndSize(dst);
      assert.ok(blocks * 512 < MiB, `the 8 MiB hole stayed a hole (${blocks} blocks): memfs did the copy, not a read/write fallback`);
    }));

    it('O_TMPFILE: an unnamed file that reads back, stays out of readdir, and linkat can name', T, () => withDaemon({ transport, opt: LOCKS }, async (d) => {
      const dir = join(d.mnt, 'dir');
      await mkdir(dir);
      const out = await py(`
import ctypes, os, sys
d = sys.argv[1]
fd = os.open(d, os.O_TMPFILE | os.O_RDWR, 0o600)
os.write(fd, b'scratch data')
print(os.pread(fd, 100, 0).decode(), os.fstat(fd).st_nlink, len(os.listdir(d)))
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, AT_EMPTY_PATH = -100, 0x1000
if libc.linkat(fd, b'', AT_FDCWD, os.path.join(d, 'named').encode(), AT_EMPTY_PATH) != 0:
    raise OSError(ctypes.get_errno(), 'linkat')
print(os.fstat(fd).st_nlink, os.listdir(d))`, dir);
      const [first, second] = out.trim().split('\n');
      assert.equal(first, 'scratch data 0 0');
      assert.equal(second, "1 ['named']");
      assert.equal(await readFile(join(dir, 'named'), 'utf8'), 'scratch data');
      assert.deepEqual(await readdir(dir), ['named']);
    }));

    it('stat shows a birth time (statx) that later changes leave alone; sync -f and access(2) work', T, () => withDaemon({ transport, opt: LOCKS }, async (d) => {
      const f = join(d.mnt, 'f');
      const before = Math.floor(Date.now() / 1000);
      await writeFile(f, 'born');
      const [w, z] = (await mustRun('stat', ['-c', '%W %Z', f])).trim().split(' ').map(Number);
      assert.ok(w! >= before - 1 && w! <= Math.ceil(Date.now() / 1000), `birth ${w} near now (${before})`);
      assert.ok(w! <= z! && z! - w! <= 1, `born (${w}) just before the write changed it (${z})`);
      assert.notEqual((await mustRun('stat', ['-c', '%w', f])).trim(), '-');
      await mustRun('touch', ['-d', '2001-02-03 04:05:06', f]);
      await writeFile(f, 'changed');
      const [w2, y2] = (await mustRun('stat', ['-c', '%W %Y', f])).trim().split(' ').map(Number);
      assert.equal(w2, w, 'birth time does not move');
      assert.ok(y2! >= before);
      assert.ok(Number((await mustRun('stat', ['-c', '%W', d.mnt])).trim()) > 0, 'the root has a birth time too');
      await mustRun('sync', ['-f', f]);
      await mustRun('sync', ['-f', d.mnt]);
      await mustRun('chmod', ['644', f]);
      const acc = await py(`
import os, sys
f = sys.argv[1]
r = [os.access(f, os.X_OK), os.access(f, os.R_OK | os.W_OK)]
os.chmod(f, 0o744); r.append(os.access(f, os.X_OK))
os.chmod(f, 0); r.append(os.access(f, os.R_OK | os.W_OK))
print(*r)`, f);
      assert.equal(acc.trim(), 'False True True True', 'root: x needs an x bit, r/w always');
    }));
  });
}
