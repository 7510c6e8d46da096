// Data durability through the mirror, over both transports, with passthrough, with userspace I/O,
// and with userspace I/O under the kernel's writeback cache. A client process writes files in
// every way programs make data durable (fsync, fdatasync, O_SYNC, O_DSYNC, msync, write + fsync
// + rename + fsync of the directory, …), says so, and keeps them open; the test then checks on
// the source itself that the sync reached it (cachestat(2): no dirty or writeback pages left in
// the source file's page cache), SIGKILLs the daemon, clears the dead mount with `umount -l`, and
// compares every byte of the source files with what was written. Data that was only close()d is
// in the source as well: the mirror keeps no data of its own.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { uringSkipReason } from '../helpers/proc.js';
import { runCmd } from '../helpers/run.js';
import { withTempDir } from '../helpers/files.js';
import { PYTHON, withMirror } from '../fixtures/mirror-mount.js';

const T = { timeout: 180_000 };
const MiB = 1 << 20;

/**
 * The client. argv: the mount point and a JSON list of cases {name, how, data (a file with the
 * bytes to write), offset}. Phase 1 opens and writes every file, prints {"phase":"written"};
 * on "sync" from stdin phase 2 syncs each as its `how` says, prints {"phase":"synced"}; then it
 * waits for its end with every file that was not closed still open (and mapped).
 */
const CLIENT = String.raw`
import json, mmap, os, sys
mnt, cases = sys.argv[1], json.loads(sys.argv[2])
state = {}
def chunks(b, n=256 * 1024):
    return [b[i:i + n] for i in range(0, len(b), n)]
def writeall(fd, b):
    for c in chunks(b):
        view = memoryview(c)
        while view:
            view = view[os.write(fd, view):]
try:
    for c in cases:
        p, how = os.path.join(mnt, c['name']), c['how']
        data = open(c['data'], 'rb').read()
        base = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        if how in ('fsync', 'fdatasync', 'close', 'nosync'):
            fd = os.open(p, base, 0o644); writeall(fd, data)
        elif how == 'osync':
            fd = os.open(p, base | os.O_SYNC, 0o644); writeall(fd, data)
        elif how == 'odsync':
            fd = os.open(p, base | os.O_DSYNC, 0o644); writeall(fd, data)
        elif how == 'append':
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            for part in chunks(data, len(data) // 3 + 1): os.write(fd, part)
        elif how == 'overwrite':
            fd = os.open(p, os.O_RDWR); os.pwrite(fd, data, c['offset'])
        elif how == 'mmap':
            fd = os.open(p, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644); os.ftruncate(fd, len(data))
            m = mmap.mmap(fd, len(data), mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE); m[:] = data
            state[c['name'] + ':map'] = m
        elif how == 'rename':
            fd = os.open(p + '.tmp', base, 0o644); writeall(fd, data)
        else:
            raise SystemExit('unknown how ' + how)
        state[c['name']] = fd
    print(json.dumps({'phase': 'written'}), flush=True)
    if sys.stdin.readline().strip() != 'sync': raise SystemExit('expected sync')
    for c in cases:
        p, how, fd = os.path.join(mnt, c['name']), c['how'], state[c['name']]
        if how in ('fsync', 'append', 'overwrite'): os.fsync(fd)
        elif how == 'fdatasync': os.fdatasync(fd)
        elif how == 'close': os.close(fd)
        elif how == 'mmap': state[c['name'] + ':map'].flush()
        elif how == 'rename':
            os.fsync(fd); os.close(fd); os.rename(p + '.tmp', p)
            d = os.open(os.path.dirname(p), os.O_RDONLY | os.O_DIRECTORY); os.fsync(d); os.close(d)
    print(json.dumps({'phase': 'synced'}), flush=True)
    sys.stdin.readline()
except BaseException as e:
    print(json.dumps({'error': repr(e)}), flush=True)
    raise
`;

/** cachestat(2) (Linux 6.5+) of whole files: pages cached, dirty, under writeback. */
const CACHESTAT = String.raw`
import ctypes, json, os, sys
libc = ctypes.CDLL(None, use_errno=True)
class Range(ctypes.Structure): _fields_ = [('off', ctypes.c_uint64), ('len', ctypes.c_uint64)]
class Stat(ctypes.Structure): _fields_ = [(n, ctypes.c_uint64) for n in ('cache', 'dirty', 'writeback', 'evicted', 'recently_evicted')]
out = {}
for p in sys.argv[1:]:
    fd = os.open(p, os.O_RDONLY)
    r, s = Range(0, 0), Stat()
    rc = libc.syscall(451, fd, ctypes.byref(r), ctypes.byref(s), 0)
    os.close(fd)
    out[p] = {'errno': ctypes.get_errno()} if rc != 0 else {'cache': s.cache, 'dirty': s.dirty, 'writeback': s.writeback}
print(json.dumps(out))
`;

type PageState = { cache: number; dirty: number; writeback: number } | { errno: number };

async function cachestat(paths: string[]): Promise<Record<string, PageState>> {
  const r = await runCmd(PYTHON, ['-c', CACHESTAT, ...paths], { timeout: 20_000 });
  assert.equal(r.code, 0, `cachestat: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, PageState>;
}

const unsynced = (s: PageState | undefined): number => (s && 'dirty' in s ? s.dirty + s.writeback : -1);

interface Case { name: string; how: string; data: string; offset?: number; expected: Buffer }

/** The client process, driven line by line. */
class Client {
  private out = '';
  private err = '';
  readonly proc: ChildProcess;
  constructor(mnt: string, cases: Case[]) {
    const list = cases.map(({ name, how, data, offset }) => ({ name, how, data, offset: offset ?? 0 }));
    this.proc = spawn(PYTHON, ['-c', CLIENT, mnt, JSON.stringify(list)], { stdio: ['pipe', 'pipe', 'pipe'], cwd: '/' });
    this.proc.stdout!.setEncoding('utf8').on('data', (s: string) => { this.out += s; });
    this.proc.stderr!.setEncoding('utf8').on('data', (s: string) => { this.err += s; });
  }

  async phase(name: string, ms = 60_000): Promise<void> {
    const end = Date.now() + ms;
    for (;;) {
      if (this.out.includes(`"phase": "${name}"`)) return;
      if (this.out.includes('"error"') || this.proc.exitCode !== null || Date.now() > end) {
        throw new Error(`client: no "${name}" phase: ${this.out} ${this.err}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  send(line: string): void { this.proc.stdin!.write(`${line}\n`); }

  /** SIGKILL by its own pid (it may hold files of a dead mount). */
  async kill(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const gone = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGKILL');
    await Promise.race([gone, new Promise((r) => setTimeout(r, 10_000))]);
  }
}

const MODES = [
  { name: 'passthrough', args: [] as string[], writeback: false },
  { name: 'userspace I/O', args: ['--no-passthrough'], writeback: false },
  { name: 'userspace I/O with the writeback cache', args: ['--no-passthrough', '--opt', 'writeback'], writeback: true },
];

const notRoot = process.geteuid?.() !== 0 ? 'the mirror mount tests need root' : false;

for (const transport of ['uring', 'dev'] as const) {
  const skip = notRoot || (transport === 'uring' ? uringSkipReason() : false);
  describe(`mirror durability over ${transport}`, { skip }, () => {
    for (const mode of MODES) {
      it(`${mode.name}: synced data reaches the source file and survives a SIGKILL of the daemon`, T, async (t) => {
        await withTempDir(async (scratch) => {
          const src = join(scratch, 'src');
          const blobs = join(scratch, 'blobs');
          mkdirSync(join(src, 'sub'), { recursive: true, mode: 0o755 });
          mkdirSync(blobs);
          const cases: Case[] = [];
          const add = (name: string, how: string, size: number, extra: Partial<Case> = {}) => {
            const bytes = randomBytes(size);
            const data = join(blobs, name.replace('/', '_'));
            writeFileSync(data, bytes);
            cases.push({ name, how, data, expected: bytes, ...extra });
          };
          for (const how of ['fsync', 'fdatasync', 'osync', 'odsync', 'append', 'mmap', 'close', 'nosync']) add(how, how, 3 * MiB + 123);
          add('sub/renamed', 'rename', MiB + 7);
          // An existing file patched in the middle: the rest must stay as it was.
          const pre = randomBytes(4 * MiB);
          writeFileSync(join(src, 'overwrite'), pre);
          const patch = randomBytes(MiB + 5);
          const patched = Buffer.from(pre);
          patch.copy(patched, 1_000_003);
          add('overwrite', 'overwrite', 0, { offset: 1_000_003 });
          writeFileSync(cases[cases.length - 1]!.data, patch);
          cases[cases.length - 1]!.expected = patched;

          await withMirror(transport, src, mode.args, async (m) => {
            if (mode.name === 'passthrough' && !m.ready.passthrough) t.diagnostic('passthrough not negotiated: this run is userspace I/O');
            if (mode.writeback) assert.ok(m.ready.flagNames.includes('WRITEBACK_CACHE'), `writeback cache not negotiated: ${m.ready.flagNames}`);
            const client = new Client(m.mnt, cases);
            try {
              await client.phase('written');
              const srcOf = (c: Case) => join(src, c.name);
              const before = await cachestat(cases.filter((c) => c.how !== 'rename').map(srcOf));
              const haveCachestat = !Object.values(before).some((s) => 'errno' in s);
              if (!haveCachestat) t.diagnostic(`cachestat(2) unavailable: ${JSON.stringify(before)}`);
              if (haveCachestat) {
                // O_SYNC / O_DSYNC writes are durable when write() returns, whatever the mode.
                for (const how of ['osync', 'odsync']) {
                  assert.equal(unsynced(before[join(src, how)]), 0, `${how}: dirty source pages after write(): ${JSON.stringify(before)}`);
                }
                // Without the writeback cache every write(2) reached the source when it returned,
                // and the pages are dirty there until something syncs them: what makes the
                // checks after "sync" mean something. (Only a note when they are not: a sync(2)
                // by someone else on the machine writes them back too.)
                if (!mode.writeback) {
                  const clean = ['fsync', 'fdatasync', 'append', 'overwrite', 'nosync'].filter((how) => unsynced(before[join(src, how)]) <= 0);
                  if (clean.length > 0) t.diagnostic(`already written back before the sync (someone ran sync?), checks inconclusive for: ${clean.join(', ')}`);
                }
              }
              client.send('sync');
              await client.phase('synced');
              const after = await cachestat(cases.map(srcOf));
              if (haveCachestat) {
                for (const c of cases.filter((x) => x.how !== 'close' && x.how !== 'nosync')) {
                  assert.equal(unsynced(after[srcOf(c)]), 0, `${c.how}: the sync left dirty pages in the source file: ${JSON.stringify(after[srcOf(c)])}`);
                }
              }
              const s = (await m.stats()).mirror;
              t.diagnostic(`FSYNC ${s.fsyncs}, FSYNC(datasync) ${s.fdatasyncs}, FSYNCDIR ${s.fsyncdirs}, FLUSH ${s.flushes}; `
                + `WRITE ${s.writes}; dirty pages left by close() alone: ${unsynced(after[join(src, 'close')])}`);
              assert.ok(s.fsyncs >= 4, `fsync, append, overwrite and rename each sent FSYNC: ${JSON.stringify(s)}`);
              // With passthrough the mapping is the source file's own: msync syncs it in the kernel, no FSYNC.
              assert.ok(s.fdatasyncs >= (m.ready.passthrough ? 1 : 2), `fdatasync (and msync) sent FSYNC with datasync: ${JSON.stringify(s)}`);
              assert.ok(s.fsyncdirs >= 1, `the directory fsync sent FSYNCDIR: ${JSON.stringify(s)}`);
              await m.kill();
            } finally {
              await client.kill();
            }
            for (const c of cases) {
              const got = await readFile(join(src, c.name));
              if (c.how === 'nosync' && mode.writeback) {
                // Written but never synced nor closed, with the kernel caching writes: what the
                // kernel had not yet sent when the daemon died is lost, as documented.
                t.diagnostic(`writeback cache, never synced: ${got.length} of ${c.expected.length} bytes reached the source`);
                continue;
              }
              assert.equal(got.length, c.expected.length, `${c.name} (${c.how}): size`);
              assert.ok(got.equals(c.expected), `${c.name} (${c.how}): the bytes differ`);
            }
            assert.equal((await readFile(join(src, 'sub', 'renamed'))).length, MiB + 7);
          });
        });
      });
    }

    it('syncfs(2) on the mount: the kernel writes its cached pages back to the daemon, and SYNCFS reaches it only if the kernel sends it', T, async (t) => {
      await withTempDir(async (scratch) => {
        const src = join(scratch, 'src');
        mkdirSync(src, { mode: 0o755 });
        const bytes = randomBytes(2 * MiB);
        writeFileSync(join(scratch, 'blob'), bytes);
        await withMirror(transport, src, ['--no-passthrough', '--opt', 'writeback'], async (m) => {
          const script = 'import ctypes, os, sys\n'
            + 'libc = ctypes.CDLL(None, use_errno=True)\n'
            + "fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644); os.write(fd, open(sys.argv[2], 'rb').read())\n"
            + 'r = libc.syncfs(fd); print(r if r == 0 else os.strerror(ctypes.get_errno())); sys.stdout.flush(); sys.stdin.readline()\n';
          const client = spawn(PYTHON, ['-c', script, join(m.mnt, 'f'), join(scratch, 'blob')], { stdio: ['pipe', 'pipe', 'pipe'] });
          let out = '';
          client.stdout.setEncoding('utf8').on('data', (x: string) => { out += x; });
          try {
            for (let i = 0; !out.includes('\n'); i++) {
              assert.ok(i < 1000 && client.exitCode === null, `client: ${out}`);
              await new Promise((r) => setTimeout(r, 20));
            }
            assert.equal(out.trim(), '0', 'syncfs succeeded');
            // The file is still open and was never fsync'ed: what is in the source came from syncfs.
            assert.ok((await readFile(join(src, 'f'))).equals(bytes), 'syncfs wrote the kernel\'s cached pages back');
            const s = (await m.stats()).mirror;
            const st = (await cachestat([join(src, 'f')]))[join(src, 'f')];
            t.diagnostic(`SYNCFS requests: ${s.syncfs}; dirty source pages after syncfs: ${unsynced(st)}`);
            if (s.syncfs > 0) assert.equal(unsynced(st), 0, 'SYNCFS reached the daemon: the source is synced');
          } finally {
            // Gone (its close() answered) before the daemon is stopped.
            const gone = new Promise((r) => client.once('exit', r));
            if (client.exitCode === null && client.signalCode === null) client.kill('SIGKILL');
            await Promise.race([gone, new Promise((r) => setTimeout(r, 10_000))]);
          }
        });
      });
    });
  });
}
