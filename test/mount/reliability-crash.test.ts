// Daemon death (issue 6, item 1): a daemon mounted with -o auto_unmount and then SIGKILLed leaves
// a clean mount point within seconds — over both transports, mounted by mount(2) (root) or by
// fusermount3 (the user nobody) — thanks to the watcher process (src/watcher.ts). Without
// auto_unmount the dead mount is refused with what to do, and `--force` clears it.
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { chown, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Child, makeMountpoint, teardown } from '../helpers/child.js';
import { CLI, lines, mountedLine, runCli } from '../helpers/cli.js';
import { startDaemon, ROOT, type Transport } from '../helpers/daemon.js';
import { isMounted, mountEntry, uringSkipReason } from '../helpers/proc.js';
import { runCmd } from '../helpers/run.js';

const T = { timeout: 90_000 };
const NOBODY = 65534;
const asNobody = ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups'];
const nobodySkip = process.getuid?.() !== 0 ? 'needs root to switch to nobody'
  : (statSync('/dev/fuse').mode & 0o006) !== 0o006 ? '/dev/fuse is not 0666 (scripts/test-setup.js sets it)'
  : spawnSync('setpriv', [...asNobody, 'test', '-r', CLI], { timeout: 10_000 }).status !== 0 ? `nobody cannot read ${CLI}` : false;
const WATCHER_MAIN = join(ROOT, 'dist', 'src', 'watcher-main.js');
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

type Via = 'mount(2)' | 'fusermount3';

/** The CLI serving memfs on a fresh mount point, as root (mount(2)) or as nobody (fusermount3). */
async function startCliAs(via: Via, args: readonly string[], tag: string): Promise<Child> {
  const mnt = await makeMountpoint(tag);
  let child: Child;
  if (via === 'fusermount3') {
    await chown(mnt, NOBODY, NOBODY);
    child = new Child(`cli as nobody ${args.join(' ')}`, mnt, 'setpriv', [...asNobody, process.execPath, CLI, 'memfs', mnt, ...args]);
  } else {
    child = new Child(`cli ${args.join(' ')}`, mnt, process.execPath, [CLI, 'memfs', mnt, ...args]);
  }
  try {
    await child.waitFor('mounted line', () => (child.stderr().includes(mountedLine(mnt)) ? true : undefined), 20_000);
  } catch (e) {
    await teardown(child);
    throw e;
  }
  return child;
}

/** Runs a shell script as the user who owns the mount (root cannot enter nobody's mount). */
function shAs(via: Via, script: string, args: readonly string[]) {
  const sh = ['sh', '-c', script, 'sh', ...args];
  return via === 'fusermount3' ? runCmd('setpriv', [...asNobody, ...sh], { timeout: 20_000 }) : runCmd(sh[0]!, sh.slice(1), { timeout: 20_000 });
}

/** The pids whose parent is `ppid` and whose command line contains `needle`. */
function childrenOf(ppid: number, needle: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const st = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = st.slice(st.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== ppid) continue;
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(needle)) out.push(Number(name));
    } catch { /* gone */ }
  }
  return out;
}

/** What the fds of `pid` point at. */
function fdTargets(pid: number): string[] {
  const out: string[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try { out.push(readlinkSync(`/proc/${pid}/fd/${fd}`)); } catch { /* closed meanwhile */ }
  }
  return out;
}

/** True once `pid` has exited (gone, or a zombie waiting for init). */
function exited(pid: number): boolean {
  try {
    return /^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms: number, step = 10): Promise<number> {
  const t0 = Date.now();
  while (!(await ok())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(step);
  }
  return Date.now() - t0;
}

for (const transport of ['uring', 'dev'] as const satisfies readonly Transport[]) {
  const uringSkip = transport === 'uring' ? uringSkipReason() : false;
  for (const via of ['mount(2)', 'fusermount3'] as const) {
    const skip = uringSkip || (via === 'fusermount3' ? nobodySkip : false);
    describe(`auto_unmount over ${transport}, mounted by ${via}`, { skip }, () => {
      it('after SIGKILL of the daemon, with a file open in the mount, the mount point is clean within seconds', T, async (t: TestContext) => {
        const cli = await startCliAs(via, ['--transport', transport, '-o', 'auto_unmount'], `crash-${transport}-${via === 'mount(2)' ? 'mount' : 'fusermount'}`);
        const mnt = cli.mnt;
        let holder: Child | undefined;
        try {
          const entry = await mountEntry(mnt);
          assert.match(entry?.options ?? '', via === 'fusermount3' ? /user_id=65534/ : /user_id=0/);
          assert.equal((await shAs(via, 'echo before > "$1/f" && cat "$1/f"', [mnt])).stdout, 'before\n');
          // A client holding a file open in the mount while the daemon dies.
          const hold = ['sh', '-c', 'exec 3<"$1/f"; echo open; exec sleep 60', 'sh', mnt];
          holder = via === 'fusermount3'
            ? new Child('holder', mnt, 'setpriv', [...asNobody, ...hold])
            : new Child('holder', mnt, hold[0]!, hold.slice(1));
          await holder.waitFor('the file open', () => (holder!.stdout().includes('open') ? true : undefined), 10_000);

          const watchers = childrenOf(cli.pid, 'fuse-uring-watcher');
          assert.equal(watchers.length, 1, 'one watcher process, started by the daemon');
          const watcher = watchers[0]!;
          const fds = fdTargets(watcher);
          assert.ok(!fds.some((f) => f === '/dev/fuse' || f.includes('io_uring')), `the watcher holds no FUSE fd: ${fds.join(', ')}`);

          const t0 = Date.now();
          cli.signal('SIGKILL');
          await until(`${mnt} to leave /proc/mounts`, async () => !(await isMounted(mnt)), 10_000);
          const ms = Date.now() - t0;
          t.diagnostic(`mount point clean ${ms} ms after SIGKILL`);
          assert.ok(ms < 5000, `took ${ms} ms`);
          assert.deepEqual((await cli.waitExit(10_000)).signal, 'SIGKILL');
          await until('the watcher to exit', () => exited(watcher), 10_000);
          assert.match(cli.stderr(), new RegExp(`the daemon \\(pid ${cli.pid}\\) serving ${mnt} is gone: connection \\d+ aborted and ${mnt} unmounted`));
          // The mount point is an ordinary empty directory again.
          assert.ok((await stat(mnt)).isDirectory());
          assert.deepEqual(await readdir(mnt), []);
        } finally {
          if (holder) await teardown(holder);
          await teardown(cli);
        }
      });

      it('a clean stop (SIGTERM) ends the watcher without it acting', T, async () => {
        const cli = await startCliAs(via, ['--transport', transport, '-o', 'auto_unmount'], `clean-${transport}`);
        try {
          const [watcher] = childrenOf(cli.pid, 'fuse-uring-watcher');
          assert.ok(watcher, 'a watcher runs');
          cli.signal('SIGTERM');
          assert.deepEqual(await cli.waitExit(10_000), { code: 0, signal: null }, cli.stderr());
          await until('the watcher to exit', () => exited(watcher), 5000);
          assert.equal(await isMounted(cli.mnt), false);
          assert.doesNotMatch(cli.stderr(), /is gone/);
        } finally {
          await teardown(cli);
        }
      });
    });
  }

  describe(`a dead mount over ${transport} without auto_unmount`, { skip: uringSkip }, () => {
    it('is refused with one line naming --force and `fuse-uring unmount`; --force clears it and mounts', T, async () => {
      const d = await startDaemon({ transport });
      let cli: Child | undefined;
      try {
        await writeFile(join(d.mnt, 'f'), 'x');
        process.kill(d.pid, 'SIGKILL');
        await d.waitExit(10_000);
        await until('the mount to go dead', async () => {
          try { await stat(d.mnt); return false; } catch (e) { return ['ENOTCONN', 'ECONNABORTED'].includes((e as NodeJS.ErrnoException).code!); }
        }, 10_000, 50);
        const r = await runCli(['memfs', d.mnt, '--transport', transport]);
        assert.equal(r.code, 1, r.stderr);
        assert.equal(lines(r.stderr).length, 1, r.stderr);
        assert.match(r.stderr, /is a dead FUSE mount \(its daemon is gone\): clear it with `fuse-uring unmount .*`, or mount with --force/);

        cli = new Child('cli --force', d.mnt, process.execPath, [CLI, 'memfs', d.mnt, '--transport', transport, '--force']);
        await cli.waitFor('mounted line', () => (cli!.stderr().includes(mountedLine(d.mnt)) ? true : undefined), 20_000);
        assert.match(cli.stderr(), new RegExp(`cleared a dead FUSE mount at ${d.mnt} \\(--force\\)`));
        await writeFile(join(d.mnt, 'g'), 'served again');
        assert.equal(await readFile(join(d.mnt, 'g'), 'utf8'), 'served again');
        assert.deepEqual(await readdir(d.mnt), ['g'], 'a fresh memfs, not the dead one');
        cli.signal('SIGTERM');
        assert.deepEqual(await cli.waitExit(10_000), { code: 0, signal: null }, cli.stderr());
        assert.equal(await isMounted(d.mnt), false, 'no mount left, the dead one included');
      } finally {
        if (cli) await teardown(cli);
        await d.stop();
      }
    });
  });
}

for (const transport of ['uring', 'dev'] as const satisfies readonly Transport[]) {
  describe(`a mount whose daemon stopped answering over ${transport}`, { skip: transport === 'uring' ? uringSkipReason() : false }, () => {
    it('is refused after 3 s as not answering; --force aborts it, takes it off and mounts', T, async () => {
      const d = await startDaemon({ transport });
      let cli: Child | undefined;
      try {
        await writeFile(join(d.mnt, 'f'), 'x');
        process.kill(d.pid, 'SIGSTOP');
        const r = await runCli(['memfs', d.mnt, '--transport', transport]);
        assert.equal(r.code, 1, r.stderr);
        assert.equal(lines(r.stderr).length, 1, r.stderr);
        assert.match(r.stderr, /does not answer \(a hung FUSE daemon there\?\): clear it with `fuse-uring unmount .*`, or mount with --force/);
        cli = new Child('cli --force', d.mnt, process.execPath, [CLI, 'memfs', d.mnt, '--transport', transport, '--force']);
        await cli.waitFor('mounted line', () => (cli!.stderr().includes(mountedLine(d.mnt)) ? true : undefined), 20_000);
        assert.match(cli.stderr(), new RegExp(`cleared a FUSE mount that did not answer at ${d.mnt} \\(--force\\)`));
        await writeFile(join(d.mnt, 'g'), 'new');
        assert.deepEqual(await readdir(d.mnt), ['g']);
        cli.signal('SIGTERM');
        assert.deepEqual(await cli.waitExit(10_000), { code: 0, signal: null }, cli.stderr());
        // The stopped daemon, continued, finds its connection aborted and ends.
        process.kill(d.pid, 'SIGCONT');
        const exit = await d.waitExit(10_000);
        assert.equal(exit.code, 0, d.stderr());
        assert.equal(await isMounted(d.mnt), false);
      } finally {
        try { process.kill(d.pid, 'SIGCONT'); } catch { /* gone */ }
        if (cli) await teardown(cli);
        await d.stop();
      }
    });
  });
}

describe('the watcher acts only on the mount it watched', () => {
  it('a mount at the same path with another mount id or device is left alone', T, async () => {
    const d = await startDaemon({ transport: 'dev' });
    try {
      const info = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === d.mnt)!;
      const [mountId, , dev] = info.split(' ');
      for (const target of [{ dev, mountId: Number(mountId) + 100000 }, { dev: '0:99999', mountId: Number(mountId) }]) {
        const r = await runCmd(process.execPath, [WATCHER_MAIN, JSON.stringify({ mountpoint: d.mnt, pid: 1, ...target })], { timeout: 20_000 });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stderr, '', 'it says nothing: nothing to do');
        assert.equal(await isMounted(d.mnt), true, `it left the mount alone for ${JSON.stringify(target)}`);
      }
      await writeFile(join(d.mnt, 'still'), 'served');
      assert.equal(await readFile(join(d.mnt, 'still'), 'utf8'), 'served');
    } finally {
      await d.stop();
    }
  });
});
