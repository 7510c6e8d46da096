// The mirror cannot be made to read or write outside its source root, through real mounts over
// both transports. The attacker is nobody (65534) on a mount made by root with allow_other and
// default_permissions; the place it is after, `outside`, sits beside the source in a scratch
// directory only root may enter, so whatever nobody reaches there it reached through the daemon
// (which runs as root). An inotify watch on `outside` sees every open, read, write or new name
// there, by anyone, during each attack.
//
// Symlinks of the source are returned as symlinks and followed by the client in its own namespace
// (with its own permissions); a directory swapped for a symlink under the mount's feet, again and
// again while nobody works in it; CREATE racing a root-owned file into existence; hard links, device
// nodes and set-uid files; and (documented, not prevented) a directory moved out of the source
// from outside while a client sits in it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { lstat, readdir, rename, rm, stat, symlink, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { mountEntry, uringSkipReason } from '../helpers/proc.js';
import { runCmd } from '../helpers/run.js';
import { withTempDir } from '../helpers/files.js';
import { PYTHON, withMirror } from '../fixtures/mirror-mount.js';

const T = { timeout: 180_000 };
const NOBODY = ['--reuid', '65534', '--regid', '65534', '--clear-groups'];
const SECRET = 'SECRET outside the root';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Runs a python script as nobody (cwd /); returns its parsed JSON stdout. */
async function asNobody<T>(script: string, args: readonly string[], timeout = 60_000): Promise<T> {
  const r = await runCmd('setpriv', [...NOBODY, PYTHON, '-c', script, ...args], { timeout, cwd: '/' });
  assert.equal(r.code, 0, `python as nobody exited ${r.code ?? r.signal}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** Every open, access, change or new name in the watched directories (inotify), until stopped. */
const WATCHER = String.raw`
import ctypes, json, os, select, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init1(os.O_NONBLOCK)
MASK = 0x1 | 0x2 | 0x4 | 0x8 | 0x20 | 0x40 | 0x80 | 0x100 | 0x200 | 0x400 | 0x800
wds = {libc.inotify_add_watch(fd, p.encode(), MASK): p for p in sys.argv[1:]}
assert all(w >= 0 for w in wds), 'inotify_add_watch failed'
print('ready', flush=True)
events = []
def drain():
    try: buf = os.read(fd, 65536)
    except BlockingIOError: return
    i = 0
    while i < len(buf):
        wd, mask, cookie, n = struct.unpack_from('iIII', buf, i)
        events.append([wds.get(wd), hex(mask), buf[i + 16:i + 16 + n].rstrip(b'\0').decode('utf8', 'replace')])
        i += 16 + n
while True:
    r, _, _ = select.select([fd, sys.stdin], [], [])
    if fd in r: drain()
    if sys.stdin in r:
        sys.stdin.readline(); drain(); break
print(json.dumps(events), flush=True)
`;

/** Starts the watcher on `paths`; stop() returns the events seen. */
async function watch(paths: string[]): Promise<{ stop(): Promise<unknown[]> }> {
  const p = spawn(PYTHON, ['-c', WATCHER, ...paths], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.setEncoding('utf8').on('data', (s: string) => { out += s; });
  p.stderr.setEncoding('utf8').on('data', (s: string) => { err += s; });
  for (let i = 0; !out.startsWith('ready'); i++) {
    if (i > 500 || p.exitCode !== null) throw new Error(`inotify watcher: ${err}`);
    await sleep(10);
  }
  return {
    async stop() {
      p.stdin.write('stop\n');
      for (let i = 0; !out.trimEnd().endsWith(']'); i++) {
        if (i > 500) { p.kill('SIGKILL'); throw new Error(`inotify watcher did not stop: ${out} ${err}`); }
        await sleep(10);
      }
      return JSON.parse(out.slice(out.indexOf('\n') + 1)) as unknown[];
    },
  };
}

/**
 * scratch (0700, root's) holds src (the source) and outside (SECRET, a subdirectory). In the
 * source: pub (1777), where nobody works.
 */
async function withScene(body: (src: string, outside: string, scratch: string) => Promise<void>): Promise<void> {
  await withTempDir(async (scratch) => {
    chmodSync(scratch, 0o700);
    const src = join(scratch, 'src');
    const outside = join(scratch, 'outside');
    mkdirSync(src, { mode: 0o755 });
    mkdirSync(join(src, 'pub'));
    chmodSync(join(src, 'pub'), 0o1777);
    mkdirSync(join(outside, 'sub'), { recursive: true });
    writeFileSync(join(outside, 'secret'), SECRET, { mode: 0o666 });
    chmodSync(outside, 0o777);
    await body(src, outside, scratch);
  });
}

function snapshot(dir: string): string {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = statSync(p);
      out.push(`${p} ${st.mode.toString(8)} ${st.uid} ${st.size} ${st.mtimeMs}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.join('\n');
}

/** nobody's side of the swap storm: every way to use mnt/pub/d while d keeps changing. */
const STORM = String.raw`
import errno, json, os, sys, time
d, secret, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
counts, escapes = {}, []
def note(op, f):
    try:
        r = f(); counts[op + ':ok'] = counts.get(op + ':ok', 0) + 1; return r
    except OSError as e:
        k = op + ':' + errno.errorcode.get(e.errno, str(e.errno)); counts[k] = counts.get(k, 0) + 1
def readf(p, **kw):
    fd = os.open(p, os.O_RDONLY, **kw)
    try: data = os.read(fd, 4096).decode('utf8', 'replace')
    finally: os.close(fd)
    if data == secret: escapes.append('read the secret via ' + p)
    return data
def create(p, **kw):
    fd = os.open(p, os.O_WRONLY | os.O_CREAT, 0o644, **kw); os.write(fd, b'nobody'); os.close(fd)
def listing(p):
    names = os.listdir(p)
    if 'secret' in names: escapes.append('listed the outside directory via ' + str(p))
    return names
# A cwd and an open directory fd taken while d is the real directory (the daemon holds its inode).
while True:
    try:
        if not os.path.islink(d):
            os.chdir(d); dfd = os.open('.', os.O_RDONLY | os.O_DIRECTORY); break
    except OSError: pass
    time.sleep(0.001)
end, i = time.time() + seconds, 0
while time.time() < end:
    i += 1
    note('read', lambda: readf(os.path.join(d, 'secret')))
    note('read-inside', lambda: readf(os.path.join(d, 'inside')))
    note('create', lambda: create(os.path.join(d, 'new-%d' % i)))
    note('mkdir', lambda: os.mkdir(os.path.join(d, 'dir-%d' % i)))
    note('list', lambda: listing(d))
    note('unlink', lambda: os.unlink(os.path.join(d, 'secret')))
    note('rename', lambda: os.rename(os.path.join(d, 'new-%d' % i), os.path.join(d, 'moved-%d' % i)))
    note('symlink', lambda: os.symlink('/etc/passwd', os.path.join(d, 'sub', 'l-%d' % i)))
    note('cwd-read', lambda: readf('secret'))
    note('cwd-create', lambda: create('cwd-%d' % i))
    note('cwd-list', lambda: listing('.'))
    note('fd-read', lambda: readf('secret', dir_fd=dfd))
    note('fd-create', lambda: create('fd-%d' % i, dir_fd=dfd))
    note('fd-list', lambda: listing(dfd))
print(json.dumps({'rounds': i, 'counts': counts, 'escapes': escapes}))
`;

/** nobody opening (O_CREAT without O_EXCL) a name that root keeps creating (0600) and removing. */
const CREATE_RACE = String.raw`
import json, os, sys, time
p, seconds = sys.argv[1], float(sys.argv[2])
end, tries, opened, foreign = time.time() + seconds, 0, 0, []
while time.time() < end:
    tries += 1
    try: fd = os.open(p, os.O_WRONLY | os.O_CREAT, 0o644)
    except OSError: continue
    opened += 1
    st = os.fstat(fd)
    if st.st_uid != 65534: foreign.append(st.st_uid)
    os.close(fd)
    if st.st_uid == 65534:
        try: os.unlink(p)
        except OSError: pass
print(json.dumps({'tries': tries, 'opened': opened, 'foreign': foreign[:5], 'nforeign': len(foreign)}))
`;
const ROOT_CREATOR = String.raw`
import os, sys, time
p, seconds = sys.argv[1], float(sys.argv[2])
end = time.time() + seconds
while time.time() < end:
    try:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600); os.write(fd, b'ROOT'); os.close(fd)
    except OSError: pass
    time.sleep(0.0005)
    try:
        if os.stat(p).st_uid == 0: os.unlink(p)
    except OSError: pass
print('done')
`;

const notRoot = process.geteuid?.() !== 0 ? 'needs root (to mount for nobody and switch users)' : false;

for (const transport of ['uring', 'dev'] as const) {
  const skip = notRoot || (transport === 'uring' ? uringSkipReason() : false);
  describe(`mirror security over ${transport}`, { skip }, () => {
    it('symlinks to outside (absolute and ../../) come back as symlinks; following them is the client\'s walk, with its permissions', T, async () => {
      await withScene(async (src, outside) => {
        symlinkSync(outside, join(src, 'pub', 'abs'));
        symlinkSync('../../outside', join(src, 'pub', 'rel'));
        symlinkSync('../../../../../../../../../outside', join(src, 'pub', 'deep'));
        symlinkSync(join(outside, 'secret'), join(src, 'pub', 'file'));
        await withMirror(transport, src, ['--opt', 'allowOther,defaultPermissions'], async (m) => {
          const before = snapshot(outside);
          const w = await watch([outside, join(outside, 'sub')]);
          const pub = join(m.mnt, 'pub');
          const r = await asNobody<Record<string, string>>(String.raw`
import errno, json, os, sys
pub, out = sys.argv[1], {}
def t(k, f):
    try: out[k] = str(f())
    except OSError as e: out[k] = errno.errorcode[e.errno]
for l in ('abs', 'rel', 'deep', 'file'):
    t(l + ':readlink', lambda: os.readlink(os.path.join(pub, l)))
    t(l + ':lstat-is-link', lambda: os.path.islink(os.path.join(pub, l)))
for l in ('abs', 'rel', 'deep'):
    t(l + ':read', lambda: open(os.path.join(pub, l, 'secret')).read())
    t(l + ':list', lambda: sorted(os.listdir(os.path.join(pub, l))))
    t(l + ':create', lambda: os.close(os.open(os.path.join(pub, l, 'planted'), os.O_CREAT | os.O_WRONLY, 0o644)))
    t(l + ':mkdir', lambda: os.mkdir(os.path.join(pub, l, 'sub', 'planted')))
    t(l + ':unlink', lambda: os.unlink(os.path.join(pub, l, 'secret')))
t('file:read', lambda: open(os.path.join(pub, 'file')).read())
t('file:write', lambda: open(os.path.join(pub, 'file'), 'w').write('x'))
print(json.dumps(out))
`, [pub]);
          const events = await w.stop();
          assert.deepEqual(r, {
            'abs:readlink': outside, 'abs:lstat-is-link': 'True',
            'rel:readlink': '../../outside', 'rel:lstat-is-link': 'True',
            'deep:readlink': '../../../../../../../../../outside', 'deep:lstat-is-link': 'True',
            'file:readlink': join(outside, 'secret'), 'file:lstat-is-link': 'True',
            // nobody follows the absolute link itself and may not enter root's scratch directory.
            'abs:read': 'EACCES', 'abs:list': 'EACCES', 'abs:create': 'EACCES', 'abs:mkdir': 'EACCES', 'abs:unlink': 'EACCES',
            // ../../outside, walked by the client from mnt/pub, is <dir of mnt>/outside: not there.
            'rel:read': 'ENOENT', 'rel:list': 'ENOENT', 'rel:create': 'ENOENT', 'rel:mkdir': 'ENOENT', 'rel:unlink': 'ENOENT',
            // ../ past / stays at /: /outside, not there either.
            'deep:read': 'ENOENT', 'deep:list': 'ENOENT', 'deep:create': 'ENOENT', 'deep:mkdir': 'ENOENT', 'deep:unlink': 'ENOENT',
            'file:read': 'EACCES', 'file:write': 'EACCES',
          });
          assert.deepEqual(events, [], 'nothing outside the root was opened, read or changed');
          assert.equal(snapshot(outside), before);
        });
      });
    });

    for (const fdCache of [undefined, 1]) {
      it(`a directory swapped with a symlink to outside, over and over, while nobody works in it${fdCache ? ' (one-fd cache: every use re-resolves)' : ''}`, T, async (t) => {
        await withScene(async (src, outside) => {
          const d = join(src, 'pub', 'd');
          mkdirSync(join(d, 'sub'), { recursive: true });
          writeFileSync(join(d, 'inside'), 'INSIDE');
          chownSync(d, 65534, 65534);
          chownSync(join(d, 'sub'), 65534, 65534);
          const extra = ['--opt', 'allowOther,defaultPermissions', ...(fdCache ? ['--fd-cache', String(fdCache)] : [])];
          await withMirror(transport, src, extra, async (m) => {
            const before = snapshot(outside);
            const w = await watch([outside, join(outside, 'sub')]);
            let swapping = true;
            let swaps = 0;
            const swapper = (async () => {
              const targets = [outside, '../../outside', '../outside/../../outside'];
              while (swapping) {
                await rename(d, `${d}.real`);
                await symlink(targets[swaps++ % targets.length]!, d);
                await sleep(swaps % 3);
                await unlink(d);
                await rename(`${d}.real`, d);
                await sleep(swaps % 2);
              }
            })();
            let r: { rounds: number; counts: Record<string, number>; escapes: string[] };
            try {
              r = await asNobody(STORM, [join(m.mnt, 'pub', 'd'), SECRET, '4'], 90_000);
            } finally {
              swapping = false;
              await swapper;
            }
            const events = await w.stop();
            t.diagnostic(`${swaps} swaps, ${r.rounds} rounds: ${JSON.stringify(r.counts)}`);
            assert.deepEqual(r.escapes, [], 'nobody saw the outside directory through the mount');
            assert.deepEqual(events, [], 'nothing outside the root was opened, read or changed');
            assert.equal(snapshot(outside), before);
            assert.ok(r.counts['create:ok']! > 0 && r.counts['cwd-create:ok']! > 0, 'the work itself went on');
            // Everything nobody made is in the source, in the directory it meant.
            const made = readdirSync(d);
            assert.ok(made.some((n) => n.startsWith('cwd-')) && made.some((n) => n.startsWith('fd-')), made.join(' '));
            // And the mount still serves the directory once the kernel's entry (1 s) expires.
            await sleep(1100);
            assert.ok((await readdir(join(m.mnt, 'pub', 'd'))).includes('inside'));
          });
        });
      });
    }

    it('CREATE racing a root-owned file into existence never opens that file for nobody', T, async (t) => {
      await withScene(async (src) => {
        await withMirror(transport, src, ['--opt', 'allowOther,defaultPermissions'], async (m) => {
          const victim = join(src, 'pub', 'victim');
          const root = runCmd(PYTHON, ['-c', ROOT_CREATOR, victim, '4'], { timeout: 60_000 });
          const r = await asNobody<{ tries: number; opened: number; foreign: number[]; nforeign: number }>(
            CREATE_RACE, [join(m.mnt, 'pub', 'victim'), '4'], 60_000);
          await root;
          t.diagnostic(`${r.tries} opens with O_CREAT, ${r.opened} succeeded (nobody's own file each time)`);
          assert.equal(r.nforeign, 0, `nobody got ${r.nforeign} fds on root's 0600 file (uids ${r.foreign})`);
          const left = await lstat(victim).catch(() => undefined);
          if (left && left.uid === 0) assert.equal(readFileSync(victim, 'utf8'), 'ROOT', 'root\'s file was never truncated or written');
        });
      });
    });

    it('hard links: nobody cannot link root\'s file (protected_hardlinks), nobody can link outside the mount (EXDEV)', T, async () => {
      await withScene(async (src) => {
        writeFileSync(join(src, 'rootfile'), 'root', { mode: 0o600 });
        writeFileSync(join(src, 'pub', 'mine'), 'nobody');
        chownSync(join(src, 'pub', 'mine'), 65534, 65534);
        const protectedLinks = readFileSync('/proc/sys/fs/protected_hardlinks', 'utf8').trim() === '1';
        await withMirror(transport, src, ['--opt', 'allowOther,defaultPermissions'], async (m) => {
          const r = await asNobody<Record<string, string>>(String.raw`
import errno, json, os, sys
mnt, out = sys.argv[1], {}
def t(k, f):
    try: f(); out[k] = 'OK'
    except OSError as e: out[k] = errno.errorcode[e.errno]
t('link root file', lambda: os.link(os.path.join(mnt, 'rootfile'), os.path.join(mnt, 'pub', 'stolen')))
t('link own file', lambda: os.link(os.path.join(mnt, 'pub', 'mine'), os.path.join(mnt, 'pub', 'mine2')))
t('link out of the mount', lambda: os.link(os.path.join(mnt, 'pub', 'mine'), '/tmp/fuse-uring-never-%d' % os.getpid()))
print(json.dumps(out))
`, [m.mnt]);
          // fs.protected_hardlinks (the kernel's check at the mount, before any LINK is sent).
          assert.deepEqual(r, { 'link root file': protectedLinks ? 'EPERM' : 'OK', 'link own file': 'OK', 'link out of the mount': 'EXDEV' });
          assert.equal(statSync(join(src, 'pub', 'mine')).nlink, 2);
          assert.equal(statSync(join(src, 'rootfile')).nlink, protectedLinks ? 1 : 2);
        });
      });
    });

    it('device nodes and set-uid files: the mount is nodev,nosuid; mknod needs CAP_MKNOD; a write clears set-uid', T, async () => {
      await withScene(async (src) => {
        copyFileSync('/usr/bin/id', join(src, 'suid-id'));
        chmodSync(join(src, 'suid-id'), 0o4755);
        writeFileSync(join(src, 'pub', 'ww'), 'world-writable set-uid root');
        chmodSync(join(src, 'pub', 'ww'), 0o4777);
        await withMirror(transport, src, ['--opt', 'allowOther,defaultPermissions'], async (m) => {
          const entry = await mountEntry(m.mnt);
          assert.match(entry!.options, /\bnosuid\b/);
          assert.match(entry!.options, /\bnodev\b/);
          // root makes a device node through the mount: it is made in the source, owned by root…
          const mk = await runCmd('mknod', [join(m.mnt, 'null'), 'c', '1', '3'], { timeout: 20_000 });
          assert.equal(mk.code, 0, mk.stderr);
          const dev = statSync(join(src, 'null'));
          assert.ok(dev.isCharacterDevice());
          assert.deepEqual([dev.rdev, dev.uid], [(1 << 8) | 3, 0]);
          // …but nodev: nobody, root included, opens a device through the mount.
          const open = await runCmd('sh', ['-c', 'echo x > "$1"', 'sh', join(m.mnt, 'null')], { timeout: 20_000 });
          assert.notEqual(open.code, 0);
          assert.match(open.stderr, /Permission denied/);
          chmodSync(join(src, 'null'), 0o666);
          const r = await asNobody<Record<string, string>>(String.raw`
import errno, json, os, subprocess, sys
mnt, out = sys.argv[1], {}
def t(k, f):
    try: r = f(); out[k] = 'OK' if r is None else str(r)
    except OSError as e: out[k] = errno.errorcode[e.errno]
pub = os.path.join(mnt, 'pub')
t('mknod char', lambda: os.mknod(os.path.join(pub, 'null2'), 0o20666, os.makedev(1, 3)))
t('mknod fifo', lambda: os.mknod(os.path.join(pub, 'fifo'), 0o10644))
t('open device', lambda: os.close(os.open(os.path.join(mnt, 'null'), os.O_RDWR)))
t('run set-uid id', lambda: subprocess.run([os.path.join(mnt, 'suid-id'), '-u'], capture_output=True, check=True).stdout.decode().strip())
t('write set-uid file', lambda: open(os.path.join(pub, 'ww'), 'a').write('!') and None)
t('own file', lambda: os.close(os.open(os.path.join(pub, 'mine'), os.O_CREAT | os.O_WRONLY, 0o755)))
t('chmod own set-uid', lambda: os.chmod(os.path.join(pub, 'mine'), 0o4755))
t('chown own to root', lambda: os.chown(os.path.join(pub, 'mine'), 0, 0))
t('chmod root set-uid', lambda: os.chmod(os.path.join(mnt, 'suid-id'), 0o755))
print(json.dumps(out))
`, [m.mnt]);
          assert.deepEqual(r, {
            'mknod char': 'EPERM', 'mknod fifo': 'OK', 'open device': 'EACCES',
            'run set-uid id': '65534', // nosuid: runs as nobody
            'write set-uid file': 'OK', 'own file': 'OK', 'chmod own set-uid': 'OK', 'chown own to root': 'EPERM', 'chmod root set-uid': 'EPERM',
          });
          assert.equal(statSync(join(src, 'pub', 'ww')).mode & 0o7777, 0o777, 'the write by nobody cleared set-uid on the source');
          const mine = statSync(join(src, 'pub', 'mine'));
          assert.deepEqual([mine.uid, mine.mode & 0o7777], [65534, 0o4755]);
          assert.equal(statSync(join(src, 'suid-id')).mode & 0o7777, 0o4755);
          assert.equal((await stat(join(src, 'pub', 'fifo'))).isFIFO(), true);
        });
      });
    });

    for (const fdCache of [undefined, 1]) {
      it(`a directory moved out of the source from outside while a client works in it (${fdCache ? 'fd evicted' : 'fd held'}): documented`, T, async (t) => {
        await withScene(async (src, outside, scratch) => {
          mkdirSync(join(src, 'work'));
          mkdirSync(join(src, 'other'));
          writeFileSync(join(src, 'work', 'inside'), 'in');
          const extra = fdCache ? ['--fd-cache', String(fdCache)] : [];
          await withMirror(transport, src, extra, async (m) => {
            const script = 'import errno, json, os, sys\n'
              + 'os.chdir(sys.argv[1]); open("inside").read(); print("ready", flush=True); sys.stdin.readline(); out = {}\n'
              + 'def t(k, f):\n'
              + '    try: r = f(); out[k] = "OK" if r is None else r\n'
              + '    except OSError as e: out[k] = errno.errorcode[e.errno]\n'
              + 't("create", lambda: open("created", "w").write("x") and None)\n'
              + 't("list", lambda: sorted(os.listdir(".")))\n'
              + 't("parent", lambda: sorted(os.listdir("..")))\n'
              + 'print(json.dumps(out), flush=True)\n';
            const client = spawn(PYTHON, ['-c', script, join(m.mnt, 'work')], { stdio: ['pipe', 'pipe', 'pipe'] });
            let out = '';
            client.stdout.setEncoding('utf8').on('data', (s: string) => { out += s; });
            try {
              for (let i = 0; !out.startsWith('ready'); i++) { assert.ok(i < 1000 && client.exitCode === null, out); await sleep(10); }
              await rename(join(src, 'work'), join(scratch, 'away'));
              if (fdCache) { await readdir(join(m.mnt, 'other')); await stat(join(m.mnt, 'other')); }
              client.stdin.write('go\n');
              for (let i = 0; !out.includes('}'); i++) { assert.ok(i < 2000, out); await sleep(10); }
            } finally {
              client.kill('SIGKILL');
            }
            const r = JSON.parse(out.slice(out.indexOf('{'))) as Record<string, unknown>;
            t.diagnostic(`after \`mv src/work ../away\`: ${JSON.stringify(r)}`);
            if (fdCache) {
              // Evicted: found again by name from its parent, and it is not there: ESTALE.
              assert.deepEqual([r.create, r.list], ['ESTALE', 'ESTALE']);
            } else {
              // Held: the daemon keeps working on the directory it holds, wherever it now is, as a
              // bind mount or a process's cwd would. Moving it needed write access outside the root.
              assert.deepEqual([r.create, r.list], ['OK', ['created', 'inside']]);
              assert.equal(readFileSync(join(scratch, 'away', 'created'), 'utf8'), 'x');
            }
            // ".." is the kernel's own: the mount's root, never the source's parent.
            assert.deepEqual(r.parent, ['other', 'pub']);
            assert.equal(snapshot(outside).includes('created'), false);
            await rm(join(scratch, 'away'), { recursive: true });
          });
        });
      });
    }
  });
}
