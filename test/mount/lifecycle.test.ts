// How a session ends, whoever ends it: an abort through fusectl, fusermount3 -u, a crash that
// leaves a dead mount behind (refused with a clear message, then cleared by `fuse-uring unmount`),
// and auto_unmount (its watcher; SIGKILL itself is in reliability-crash.test.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, withDaemon, type Transport } from '../helpers/daemon.js';
import { runCli, startCli } from '../helpers/cli.js';
import { isMounted, uringSkipReason } from '../helpers/proc.js';
import { mustRun, runCmd } from '../helpers/run.js';

const T = { timeout: 120_000 };
const FUSECTL = '/sys/fs/fuse/connections';

async function waitFor(what: string, ok: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

for (const transport of ['uring', 'dev'] as const satisfies readonly Transport[]) {
  const skip = transport === 'uring' ? uringSkipReason() : false;

  describe(`session end over ${transport}`, { skip }, () => {
    it('an abort through fusectl ends the session, runs destroy once and leaves no mount', {
      ...T, skip: existsSync(join(FUSECTL, 'version')) || existsSync(FUSECTL) ? false : 'fusectl is not mounted',
    }, async () => {
      const d = await startDaemon({ transport });
      try {
        await writeFile(join(d.mnt, 'f'), 'data');
        assert.ok(existsSync(join(FUSECTL, String(d.info.id))), `fusectl has no connection ${d.info.id}`);
        await writeFile(join(FUSECTL, String(d.info.id), 'abort'), '1');
        const exit = await d.waitExit(10_000);
        assert.deepEqual(exit, { code: 0, signal: null }, d.stderr());
        assert.equal(d.closed()?.ok, true);
        assert.equal(d.closed()?.destroyCalls, 1);
        assert.equal((d.closed() as { aborted?: boolean } | undefined)?.aborted, true, 'session.aborted tells an abort from an unmount');
        assert.equal(await isMounted(d.mnt), false, 'the daemon takes its dead mount off after an abort');
      } finally {
        await d.stop();
      }
    });

    it('fusermount3 -u from outside ends the session', T, () => withDaemon({ transport }, async (d) => {
      await writeFile(join(d.mnt, 'f'), 'x');
      await mustRun('fusermount3', ['-u', d.mnt]);
      assert.deepEqual(await d.waitExit(10_000), { code: 0, signal: null });
      assert.equal(d.closed()?.ok, true);
      assert.equal((d.closed() as { aborted?: boolean } | undefined)?.aborted, undefined, 'an unmount is not an abort');
    }));

    it('auto_unmount as root mounts with mount(2), starts a watcher, and serves requests', T, () => withDaemon({ transport, autoUnmount: true }, async (d) => {
      assert.equal(d.info.mountedVia, process.getuid?.() === 0 ? 'mount' : 'fusermount3');
      assert.equal(d.info.transport, transport);
      const watcherPid = (d.info as unknown as { watcherPid: number }).watcherPid;
      assert.ok(watcherPid > 0 && existsSync(`/proc/${watcherPid}`), 'the watcher runs');
      await writeFile(join(d.mnt, 'via-fusermount'), 'hello');
      assert.equal(await readFile(join(d.mnt, 'via-fusermount'), 'utf8'), 'hello');
      const opts = (await readFile('/proc/mounts', 'utf8')).split('\n').find((l) => l.split(' ')[1] === d.mnt) ?? '';
      assert.match(opts, /fuse/);
    }));

    it('a dead mount left by a crashed daemon is refused with what to do, and `fuse-uring unmount` clears it', T, async () => {
      const d = await startDaemon({ transport });
      try {
        await writeFile(join(d.mnt, 'f'), 'x');
        process.kill(d.pid, 'SIGKILL');
        await d.waitExit(10_000);
        await waitFor('the mount to go dead', async () => {
          try { await stat(d.mnt); return false; } catch (e) { return ['ENOTCONN', 'ECONNABORTED'].includes((e as NodeJS.ErrnoException).code!); }
        });
        const r = await runCli(['memfs', d.mnt, '--transport', transport]);
        assert.notEqual(r.code, 0);
        const msg = r.stderr.trim().split('\n');
        assert.equal(msg.length, 1, r.stderr);
        assert.match(msg[0]!, /dead FUSE mount .*fuse-uring unmount.*--force/);
        const u = await runCli(['unmount', d.mnt]);
        assert.equal(u.code, 0, u.stderr);
        assert.equal(await isMounted(d.mnt), false);
        // The mount point is usable again.
        const cli = await startCli(['--transport', transport], 'after-dead');
        try {
          await writeFile(join(cli.mnt, 'ok'), 'ok');
        } finally {
          await cli.stop();
        }
      } finally {
        await d.stop();
        await runCmd('umount', ['-l', d.mnt], { timeout: 10_000 }).catch(() => undefined);
      }
    });
  });
}
