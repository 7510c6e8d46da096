// FUSE passthrough through real mounts, over both transports (root only): the fixture
// (test/fixtures/passthrough-fs.ts, a child process) registers a real file in a temp dir with
// session.openBacking() in open() and replies FOPEN_PASSTHROUGH; the kernel then reads and
// writes that file itself, and the fixture's read/write handlers are never called.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { open, readFile, writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import { uringSkipReason } from '../helpers/proc.js';
import { randomFile, withTempDir } from '../helpers/files.js';
import { ControlError, withFixture, type Fixture, type Transport } from '../fixtures/harness.js';

const T = { timeout: 120_000 };

interface Counts {
  open: number; read: number; write: number; release: number; backingOpened: number; backingClosed: number;
  backingErrors: number; closeErrors: number; openNow: number;
}

async function waitCounts(f: Fixture, ok: (c: Counts) => boolean, ms = 10_000): Promise<Counts> {
  const end = Date.now() + ms;
  for (;;) {
    const c = await f.call<Counts>('counts');
    if (ok(c)) return c;
    if (Date.now() > end) return c;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Why the kernel would not do passthrough here, or undefined when it did. */
function refusal(f: Fixture): string | undefined {
  if (f.ready.offeredPassthrough !== true) return 'the kernel does not offer FUSE_PASSTHROUGH (needs Linux 6.9+ with CONFIG_FUSE_PASSTHROUGH)';
  if (f.ready.passthrough !== true) return `FUSE_PASSTHROUGH was offered but not negotiated (flags: ${f.ready.flagNames.join(',')})`;
  const failed = f.events().find((e) => e.event === 'backing-failed');
  if (failed) return `the kernel refused the backing file: ${(failed.error as { message: string }).message}`;
  return undefined;
}

for (const transport of ['uring', 'dev'] as const satisfies readonly Transport[]) {
  const skip = transport === 'uring' ? uringSkipReason() : false;
  const notRoot = process.geteuid?.() !== 0 ? 'FUSE_DEV_IOC_BACKING_OPEN is root-only (CAP_SYS_ADMIN) on Linux 6.18' : false;

  describe(`passthrough over ${transport}`, { skip: skip || notRoot }, () => {
    it('reads and writes go to the backing file and never reach the daemon\'s read/write handlers', T, async (t) => {
      await withTempDir(async (dir) => {
        const backing = join(dir, 'backing.bin');
        const content = await randomFile(backing, 256 * 1024);
        await withFixture('passthrough-fs.js', transport, ['--backing', backing], async (f) => {
          assert.equal(f.ready.transport, transport);
          const why = refusal(f);
          if (why) { t.skip(why); return; }
          const path = join(f.mnt, 'pt');

          let got: Buffer;
          try {
            got = await readFile(path);
          } catch (e) {
            const r = refusal(f);
            if (r) { t.skip(r); return; }
            throw e;
          }
          assert.deepEqual(got, content, 'the mount shows the backing file\'s bytes');

          // A write through the mount changes the backing file.
          const patch = Buffer.from('written through the FUSE mount, by passthrough');
          const fh = await open(path, 'r+');
          try {
            const { bytesWritten } = await fh.write(patch, 0, patch.length, 100_000);
            assert.equal(bytesWritten, patch.length);
          } finally {
            await fh.close();
          }
          const expected = Buffer.from(content);
          patch.copy(expected, 100_000);
          assert.deepEqual(await readFile(backing), expected, 'the backing file holds the write');

          // And the mount reads the backing file, not a cache of its own: a change made to the
          // backing file directly shows through at once.
          const direct = Buffer.from('changed on the backing file directly');
          const bf = await open(backing, 'r+');
          try { await bf.write(direct, 0, direct.length, 5); } finally { await bf.close(); }
          direct.copy(expected, 5);
          assert.deepEqual(await readFile(path), expected, 'the mount sees the direct change');

          // Every open was released and its backing id closed; no READ or WRITE reached the daemon.
          const c = await waitCounts(f, (x) => x.release === x.open && x.openNow === 0);
          assert.ok(c.open >= 3, JSON.stringify(c));
          assert.equal(c.read, 0, `READ requests reached the daemon: ${JSON.stringify(c)}`);
          assert.equal(c.write, 0, `WRITE requests reached the daemon: ${JSON.stringify(c)}`);
          assert.equal(c.backingErrors, 0, JSON.stringify(c));
          assert.equal(c.backingOpened, c.open, JSON.stringify(c));
          assert.equal(c.release, c.open, `every open was released: ${JSON.stringify(c)}`);
          assert.equal(c.backingClosed, c.backingOpened, `every backing id was closed: ${JSON.stringify(c)}`);
          assert.equal(c.closeErrors, 0, JSON.stringify(c));
          // The ids are positive and a closed id is really gone (ENOENT on a second close is
          // covered by tryBacking below: open + close succeed outside a request too).
          const opens = f.events().filter((e) => e.event === 'open');
          assert.ok(opens.every((e) => typeof e.backingId === 'number' && e.backingId > 0), JSON.stringify(opens));
          const tried = await f.call<{ id: number }>('tryBacking');
          assert.ok(tried.id > 0);
        });
      });
    });

    it('openBacking() without { passthrough: true } is refused with EPERM saying how to fix it', T, async () => {
      await withTempDir(async (dir) => {
        const backing = join(dir, 'backing.bin');
        await writeFile(backing, 'x');
        await withFixture('passthrough-fs.js', transport, ['--backing', backing, '--no-passthrough'], async (f) => {
          assert.equal(f.ready.passthrough, false);
          try {
            await f.call('tryBacking');
            assert.fail('openBacking succeeded without passthrough');
          } catch (e) {
            assert.ok(e instanceof ControlError, String(e));
            assert.equal(e.errno, constants.errno.EPERM, e.message);
            assert.equal(e.info.name, 'FuseError');
            assert.match(e.message, f.ready.offeredPassthrough ? /mount with \{ passthrough: true \}/ : /did not offer FUSE_PASSTHROUGH/);
          }
          // The open handler's failure reaches the caller as that errno.
          await assert.rejects(readFile(join(f.mnt, 'pt')), (e: NodeJS.ErrnoException) => e.code === 'EPERM');
          assert.ok(f.events().some((e) => e.event === 'backing-failed'));
        });
      });
    });
  });
}
