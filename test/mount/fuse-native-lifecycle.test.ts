// fuse-native's mount lifecycle, as its own tests pin it, over both transports: a mount point
// that is missing or not a directory, mkdir, "in use" with and without force, no second mount of
// an unmounted Fuse, Fuse.unmount(mnt), and force clearing a dead mount left by a program that
// exited without unmounting. Each scenario runs in a child (test/fixtures/fuse-native/scenario.cjs).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { makeMountpoint, parseJsonLines, teardown, type Child } from '../helpers/child.js';
import { spawnProgram, type ProgramEvent, type Transport } from '../helpers/fuse-native.js';
import { isMounted, mountEntry, uringSkipReason } from '../helpers/proc.js';
import { runCmd } from '../helpers/run.js';

const T = { timeout: 120_000 };

type Step = { event: 'step'; name: string; error: string | null };
const steps = (c: Child): Record<string, string | null> =>
  Object.fromEntries(parseJsonLines<ProgramEvent>(c.stdout()).filter((e): e is Step => e.event === 'step').map((e) => [e.name, e.error]));

/** Runs a scenario that ends by itself; returns its steps. */
async function runToEnd(scenario: string, mnt: string, transport: Transport): Promise<Record<string, string | null>> {
  const c = spawnProgram(`scenario ${scenario}`, mnt, 'scenario.cjs', [scenario, mnt], transport);
  try {
    const exit = await c.waitExit(30_000);
    assert.deepEqual(exit, { code: 0, signal: null }, `scenario ${scenario}: ${c.stderr()}`);
    return steps(c);
  } finally {
    // Not teardown(): what a scenario leaves mounted (abandon) is the next step's business.
    if (c.alive) {
      c.signal('SIGKILL');
      await c.waitExit(5000).catch(() => undefined);
    }
  }
}

/** Starts a scenario that stays mounted; resolves once it printed "ready". */
async function runMounted(scenario: string, mnt: string, transport: Transport): Promise<Child> {
  const c = spawnProgram(`scenario ${scenario}`, mnt, 'scenario.cjs', [scenario, mnt], transport);
  await c.waitFor('ready', () => parseJsonLines<ProgramEvent>(c.stdout()).find((e) => e.event === 'ready'), 20_000).catch(async (e: Error) => {
    await teardown(c);
    throw e;
  });
  return c;
}

for (const transport of ['uring', 'dev'] as const satisfies readonly Transport[]) {
  const skip = transport === 'uring' ? uringSkipReason() : false;

  describe(`fuse-native's mount lifecycle over ${transport === 'uring' ? 'FUSE-over-io_uring' : 'classic /dev/fuse'}`, { skip }, () => {
    it('refuses a missing mount point and one that is not a directory, with fuse-native\'s messages', T, async () => {
      const dir = await makeMountpoint(`fuse-native-errors-${transport}`);
      try {
        const s = await runToEnd('errors', dir, transport);
        assert.deepEqual(s, { missing: 'Mountpoint does not exist', 'not-dir': 'Mountpoint is not a directory' });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('in use with and without force, no remount after unmount, a fresh Fuse, static Fuse.unmount', T, async () => {
      const mnt = await makeMountpoint(`fuse-native-lifecycle-${transport}`);
      try {
        const s = await runToEnd('lifecycle', mnt, transport);
        assert.deepEqual(s, {
          mount: null,
          'second-without-force': 'Mountpoint in use',
          'second-with-force': 'Mountpoint in use',
          unmount: null,
          'mount-again': 'Resource is closed: a Fuse cannot be mounted again after unmount',
          'fresh-mount': null,
          'static-unmount': null,
          'unmount-after-static': null,
        });
        assert.equal(await isMounted(mnt), false);
      } finally {
        if (await isMounted(mnt)) await runCmd('umount', ['-l', mnt]);
        await rm(mnt, { recursive: true, force: true });
      }
    });

    it('mkdir: true creates the mount point', T, async () => {
      const base = await makeMountpoint(`fuse-native-mkdir-${transport}`);
      const mnt = join(base, 'made', 'by', 'mkdir');
      let c: Child | undefined;
      try {
        c = await runMounted('mkdir', mnt, transport);
        assert.ok(await mountEntry(mnt), 'mounted on the new directory');
        assert.ok((await stat(mnt)).isDirectory());
      } finally {
        if (c) await teardown(c);
        if (await isMounted(mnt)) await runCmd('umount', ['-l', mnt]);
        await rm(base, { recursive: true, force: true });
      }
      assert.equal(parseJsonLines<ProgramEvent>(c!.stdout()).find((e) => e.event === 'closed')?.ok, true);
    });

    it('force: true mounts over a dead mount left by a program that exited without unmounting', T, async () => {
      const mnt = await makeMountpoint(`fuse-native-force-${transport}`);
      let c: Child | undefined;
      try {
        const s = await runToEnd('abandon', mnt, transport);
        assert.equal(s.mount, null);
        assert.ok(await isMounted(mnt), 'the abandoned mount is still there');
        const dead = await runCmd('stat', [mnt]);
        assert.notEqual(dead.code, 0, 'and dead');
        c = await runMounted('force', mnt, transport);
        assert.ok((await stat(mnt)).isDirectory(), 'the new mount answers');
      } finally {
        if (c) await teardown(c);
        while (await isMounted(mnt)) await runCmd('umount', ['-l', mnt]);
        await rm(mnt, { recursive: true, force: true });
      }
      assert.equal(parseJsonLines<ProgramEvent>(c!.stdout()).find((e) => e.event === 'closed')?.ok, true);
    });
  });
}
