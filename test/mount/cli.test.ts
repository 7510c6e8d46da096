// The CLI as a user runs it: `node dist/src/cli.js memfs <mnt> [options]`.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { chown, mkdir, readFile, readdir, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { makeMountpoint, withDeadline } from '../helpers/child.js';
import { CLI, lines, mountedLine, runCli, startCli, watchForMount, type CliMount } from '../helpers/cli.js';
import { expectErrno, withTempDir } from '../helpers/files.js';
import { enableUring, isMounted, mountEntry, uringFds, uringSkipReason } from '../helpers/proc.js';
import { mustRun, runCmd, type RunResult } from '../helpers/run.js';

const T = { timeout: 60_000 };

/** Runs `body` on a mounted CLI, then always tears it down and checks nothing is left mounted. */
async function withCli(args: readonly string[], body: (c: CliMount) => Promise<void>): Promise<void> {
  const c = await startCli(args);
  try {
    await withDeadline(`test body on ${c.mnt}`, 45_000, body(c), c.stop);
  } catch (e) {
    await c.stop();
    if (e instanceof Error) e.message += `\n--- cli stderr ---\n${c.child.stderr()}`;
    throw e;
  }
  const report = await c.stop();
  const why = `teardown ${JSON.stringify(report)}; stderr:\n${c.child.stderr()}`;
  assert.ok(report.stoppedInTime && !report.leftMounted, `the CLI did not unmount and exit within 5 s of SIGTERM; ${why}`);
  assert.deepEqual(report.exit, { code: 0, signal: null }, why);
  assert.equal(await isMounted(c.mnt), false, `${c.mnt} is still mounted after the teardown`);
}

/** Write, read back and list through the mount: the CLI really serves a MemFs. */
async function exercise(mnt: string): Promise<void> {
  await writeFile(join(mnt, 'f'), 'contents');
  assert.equal(await readFile(join(mnt, 'f'), 'utf8'), 'contents');
  assert.deepEqual(await readdir(mnt), ['f']);
}

describe('fuse-uring CLI', () => {
  for (const args of [['--help'], ['memfs', '--help']]) {
    it(`\`${args.join(' ')}\` exits 0 and lists the options`, T, async () => {
      const r = await runCli(args);
      const text = r.stdout + r.stderr;
      assert.equal(r.code, 0, text);
      for (const word of ['memfs', '--transport', '--queue-depth', '-o', '--debug', '--help']) {
        assert.ok(text.includes(word), `the help does not mention ${word}:\n${text}`);
      }
    });
  }

  it('refuses a missing mount point with one line naming it', T, async () => {
    const parent = await makeMountpoint('cli-missing');
    try {
      const missing = join(parent, 'no-such-dir');
      const r = await runCli(['memfs', missing]);
      assert.ok(r.code !== 0 && r.code !== null, `exit ${r.code ?? r.signal}`);
      assert.equal(lines(r.stderr).length, 1, `stderr:\n${r.stderr}`);
      assert.ok(r.stderr.includes(missing), `stderr does not name ${missing}:\n${r.stderr}`);
      await expectErrno(stat(missing), 'ENOENT', 'the CLI must not create the mount point');
    } finally {
      await rmdir(parent);
    }
  });

  it('refuses to run without a mount point', T, async () => {
    const r = await runCli(['memfs']);
    assert.ok(r.code !== 0 && r.code !== null, `exit ${r.code ?? r.signal}`);
    assert.equal(lines(r.stderr).length, 1, `stderr:\n${r.stderr}`);
  });

  const pagesLimit = Number(readFileSync('/proc/sys/fs/fuse/max_pages_limit', 'utf8'));
  const bad: Array<{ args: string[]; names: string | RegExp }> = [
    { args: ['--queue-depth', '0'], names: /queue-?depth/i },
    { args: ['--queue-depth', 'many'], names: /queue-?depth/i },
    { args: ['-o', 'nonsense'], names: 'nonsense' },
    { args: ['-o', 'ro,nonsense'], names: 'nonsense' },
    { args: ['--transport', 'carrier-pigeon'], names: 'carrier-pigeon' },
    { args: ['--no-such-flag'], names: 'no-such-flag' },
    { args: ['-o', 'max_write=1024'], names: /-o max_write: must be an integer from 4096/ },
    { args: ['-o', 'time_gran=3'], names: /-o time_gran: must be a power of ten/ },
    { args: ['-o', 'fsname=a b'], names: /-o fsname: must be a non-empty string without commas, spaces/ },
    { args: ['-o', 'passthrough,writeback_cache'], names: /passthrough and writeback exclude each other/ },
    { args: ['-o', 'max_background=5,congestion_threshold=10'], names: /congestionThreshold \(10\) must not be above maxBackground \(5\)/ },
    { args: ['-o', 'request_timeout=5'], names: /-o request_timeout: must be an integer from 10/ },
    { args: ['--request-timeout', '5ms'], names: /--request-timeout must be from 10ms to 24h/ },
    { args: ['--request-timeout', 'soon'], names: /--request-timeout needs a duration like 500ms/ },
    { args: ['--size', '0'], names: /--size must be from 4K/ },
    ...(pagesLimit * 4096 * 2 <= 16 * 2 ** 20
      ? [{ args: ['-o', `max_write=${pagesLimit * 4096 * 2}`], names: /above this kernel's limit .*max_pages_limit/ }] : []),
  ];
  for (const { args, names } of bad) {
    it(`\`${args.join(' ')}\` exits non-zero before mounting`, T, async () => {
      const mnt = await makeMountpoint('cli-bad');
      try {
        const everMounted = watchForMount(mnt);
        const r = await runCli(['memfs', mnt, ...args]);
        assert.equal(await everMounted(), false, 'a mount appeared on the mount point');
        assert.ok(r.code !== 0 && r.code !== null, `exit ${r.code ?? r.signal}; stderr:\n${r.stderr}`);
        assert.ok(!r.stderr.includes(mountedLine(mnt)), `it said it mounted:\n${r.stderr}`);
        assert.equal(lines(r.stderr).length, 1, `want one line on stderr:\n${r.stderr}`);
        assert.ok(typeof names === 'string' ? r.stderr.includes(names) : names.test(r.stderr), `stderr does not name ${names}:\n${r.stderr}`);
      } finally {
        if (await isMounted(mnt)) await mustRun('umount', ['-l', mnt]);
        await rmdir(mnt);
      }
    });
  }

  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    it(`${sig} unmounts cleanly and exits 0`, T, () => withCli([], async (c) => {
      const entry = await mountEntry(c.mnt);
      assert.ok(entry, 'mounted');
      assert.match(entry.fstype, /^fuse(\.|$)/);
      await exercise(c.mnt);
      assert.deepEqual(lines(c.child.stderr()), [lines(c.child.stderr())[0]], 'one line on stderr while serving');
      assert.ok(lines(c.child.stderr())[0]!.startsWith(mountedLine(c.mnt)));
      c.child.signal(sig);
      assert.deepEqual(await c.child.waitExit(10_000), { code: 0, signal: null }, c.child.stderr());
      assert.equal(await isMounted(c.mnt), false, 'the mount is gone');
    }));
  }

  const outside: Array<[string, (mnt: string) => Promise<unknown>]> = [
    ['umount', (mnt) => mustRun('umount', [mnt])],
    ['fuse-uring unmount', (mnt) => runCli(['unmount', mnt]).then((r) => assert.equal(r.code, 0, r.stderr))],
  ];
  for (const [how, unmount] of outside) {
    it(`exits 0 when unmounted from outside (${how})`, T, () => withCli([], async (c) => {
      await exercise(c.mnt);
      await unmount(c.mnt);
      assert.deepEqual(await c.child.waitExit(10_000), { code: 0, signal: null }, c.child.stderr());
      assert.equal(await isMounted(c.mnt), false);
    }));
  }

  it('--debug traces requests by opcode name', T, () => withCli(['--debug'], async (c) => {
    await stat(c.mnt);
    await expectErrno(stat(join(c.mnt, 'traced-missing-name')), 'ENOENT', 'stat of a missing name');
    await exercise(c.mnt);
    await c.child.waitFor('LOOKUP and GETATTR in the trace',
      () => (/\bLOOKUP\b/.test(c.child.stderr()) && /\bGETATTR\b/.test(c.child.stderr()) ? true : undefined), 5000);
    assert.match(c.child.stderr(), /LOOKUP.*traced-missing-name/, 'the LOOKUP trace line shows the name');
    for (const op of ['CREATE', 'WRITE', 'READ']) {
      assert.match(c.child.stderr(), new RegExp(`\\b${op}\\b`), `no ${op} in the trace`);
    }
    assert.ok(lines(c.child.stderr()).length >= 10, `a line per request and reply:\n${c.child.stderr()}`);
    c.child.signal('SIGTERM');
    assert.deepEqual(await c.child.waitExit(10_000), { code: 0, signal: null });
  }));

  const cases: Array<{ args: string[]; ring: boolean; skip: string | false }> = [
    { args: ['--transport', 'uring', '--queue-depth', '4'], ring: true, skip: uringSkipReason() },
    { args: ['--transport', 'dev'], ring: false, skip: false },
    { args: [], ring: enableUring() === 'Y', skip: false }, // auto: the ring whenever the kernel offers it
  ];
  for (const { args, ring, skip } of cases) {
    it(`serves with ${args.length ? args.join(' ') : 'the default transport'} (${ring ? 'io_uring' : '/dev/fuse'})`, { ...T, skip },
      () => withCli(args, async (c) => {
        await exercise(c.mnt);
        const rings = await uringFds(c.child.pid);
        if (ring) assert.ok(rings.length >= 1, 'the CLI holds an io_uring');
        else assert.deepEqual(rings, [], 'the CLI holds no io_uring');
        c.child.signal('SIGTERM');
        assert.deepEqual(await c.child.waitExit(10_000), { code: 0, signal: null }, c.child.stderr());
      }));
  }

  it('-o ro mounts read-only', T, () => withCli(['-o', 'ro'], async (c) => {
    const entry = await mountEntry(c.mnt);
    assert.ok(entry?.options.split(',').includes('ro'), `options ${entry?.options}`);
    await expectErrno(writeFile(join(c.mnt, 'f'), 'x'), 'EROFS', 'a write on a read-only mount');
    assert.deepEqual(await readdir(c.mnt), []);
  }));

  it('--size caps memfs: a write past it fails with ENOSPC', T, () => withCli(['--size', '1M'], async (c) => {
    await writeFile(join(c.mnt, 'small'), Buffer.alloc(256 * 1024));
    await expectErrno(writeFile(join(c.mnt, 'big'), Buffer.alloc(2 * 1024 * 1024)), 'ENOSPC', 'writing 2 MiB into 1 MiB');
    assert.equal((await readFile(join(c.mnt, 'small'))).length, 256 * 1024, 'the earlier file is intact');
  }));
});

/** A CLI invocation that must fail before mounting: asserts no mount appeared and one line on stderr. */
async function refusedBeforeMounting(mnt: string, run: () => Promise<RunResult>, names: RegExp): Promise<void> {
  const everMounted = watchForMount(mnt);
  const r = await run();
  assert.equal(await everMounted(), false, 'a mount appeared on the mount point');
  assert.ok(r.code !== 0 && r.code !== null, `exit ${r.code ?? r.signal}; stderr:\n${r.stderr}`);
  assert.equal(lines(r.stderr).length, 1, `want one line on stderr:\n${r.stderr}`);
  assert.match(r.stderr, names);
}

describe('fuse-uring mirror refuses what would deadlock or contradict itself', () => {
  it('a mount point inside the source (the mirror would look up its own mount)', T, () => withTempDir(async (src) => {
    const mnt = join(src, 'inside');
    await mkdir(mnt);
    await refusedBeforeMounting(mnt, () => runCli(['mirror', src, mnt]), /the mount point .*inside is inside the source .*: the mirror would look up its own mount and deadlock/);
  }));

  it('-o writeback_cache with passthrough (on by default as root)', { ...T, skip: process.getuid?.() !== 0 ? 'needs root' : false }, () => withTempDir(async (src) => {
    const mnt = await makeMountpoint('cli-wb');
    try {
      await refusedBeforeMounting(mnt, () => runCli(['mirror', src, mnt, '-o', 'writeback_cache']), /-o writeback_cache needs --no-passthrough/);
    } finally {
      await rmdir(mnt);
    }
  }));
});

const NOBODY = 65534;
const asNobody = ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups'];
const nobodySkip = process.getuid?.() !== 0 ? 'needs root to switch to nobody'
  : (statSync('/dev/fuse').mode & 0o006) !== 0o006 ? '/dev/fuse is not 0666 (scripts/test-setup.js sets it)'
  : spawnSync('setpriv', [...asNobody, 'test', '-r', CLI], { timeout: 10_000 }).status !== 0 ? `nobody cannot read ${CLI}` : false;
const fuseConf = (() => { try { return readFileSync('/etc/fuse.conf', 'utf8'); } catch { return ''; } })();

describe('fuse-uring as a user who is not root', { skip: nobodySkip }, () => {
  /** The CLI as nobody on a fresh mount point nobody owns; `env` entries go before node. */
  async function asUser(args: readonly string[], names: RegExp, env: string[] = [], owner = NOBODY): Promise<void> {
    const mnt = await makeMountpoint('cli-user');
    try {
      await chown(mnt, owner, owner);
      await refusedBeforeMounting(mnt, () => runCmd('setpriv', [...asNobody, 'env', ...env, process.execPath, CLI, 'memfs', mnt, ...args], { timeout: 20_000 }), names);
    } finally {
      await rm(mnt, { recursive: true, force: true });
    }
  }

  it('without fusermount3 on PATH: says to install fuse3 or run as root', T,
    () => asUser(['--transport', 'dev'], /mounting as a non-root user needs fusermount3 \(Debian\/Ubuntu: apt-get install fuse3\), or run as root/, ['PATH=/nonexistent']));

  it('-o allow_other without user_allow_other in /etc/fuse.conf: says where to add it', {
    ...T, skip: /^\s*user_allow_other\s*$/m.test(fuseConf) ? '/etc/fuse.conf has user_allow_other' : false,
  }, () => asUser(['-o', 'allow_other'], /allow_other for a non-root user needs `user_allow_other` in \/etc\/fuse\.conf/));

  it('-o passthrough: says it needs root', T, () => asUser(['-o', 'passthrough'], /passthrough needs root/));

  it('a mount point the user cannot write to: says to use one it owns', T,
    () => asUser([], /you \(uid 65534\) cannot write to the mount point .*: use a directory you own/, [], 0));
});
