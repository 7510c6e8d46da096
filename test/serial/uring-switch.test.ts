// With FUSE-over-io_uring switched off in the kernel, 'auto' serves over /dev/fuse and 'uring'
// refuses before mounting, naming the fix. This flips a machine-wide switch, so npm test runs it
// alone, before the other tests.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, withDaemon } from '../helpers/daemon.js';
import { Child, makeMountpoint, teardown } from '../helpers/child.js';

const PARAM = '/sys/module/fuse/parameters/enable_uring';
const readParam = (): string | undefined => { try { return readFileSync(PARAM, 'utf8').trim(); } catch { return undefined; } };
const skip = process.getuid?.() !== 0 ? 'needs root to flip enable_uring' : readParam() === undefined ? 'this kernel has no enable_uring' : false;

describe('with enable_uring off', { skip }, () => {
  let saved: string | undefined;
  before(() => { saved = readParam(); writeFileSync(PARAM, 'N'); });
  after(() => { writeFileSync(PARAM, saved ?? 'Y'); });

  it("transport 'auto' serves over /dev/fuse", { timeout: 60_000 }, () => withDaemon({ transport: 'auto' }, async (d) => {
    assert.equal(d.info.transport, 'dev');
    assert.equal(d.info.ringFd, -1);
    await writeFile(join(d.mnt, 'f'), 'over dev');
    assert.equal(await readFile(join(d.mnt, 'f'), 'utf8'), 'over dev');
  }));

  it("transport 'uring' refuses before mounting and says how to turn it on", { timeout: 60_000 }, async () => {
    // startDaemon's teardown then checks and removes the mount point; the daemon's error is in the message.
    const d = startDaemon({ transport: 'uring', readyTimeoutMs: 10_000 });
    await assert.rejects(d, (e: Error) => /io_uring is off for FUSE.*echo Y > \/sys\/module\/fuse\/parameters\/enable_uring/s.test(e.message));
  });

  it('the CLI, as root, turns io_uring on and serves over it', { timeout: 60_000 }, async () => {
    const mnt = await makeMountpoint('cli-turns-on');
    const { CLI, mountedLine } = await import('../helpers/cli.js');
    const child = new Child('cli --transport uring', mnt, process.execPath, [CLI, 'memfs', mnt, '--transport', 'uring']);
    try {
      await child.waitFor('mounted line', () => (child.stderr().includes(mountedLine(mnt)) ? true : undefined), 20_000);
      assert.match(child.stderr(), /transport uring/);
      assert.equal(readParam(), 'Y');
    } finally {
      writeFileSync(PARAM, 'N');
      const r = await teardown(child);
      assert.deepEqual(r.exit, { code: 0, signal: null }, child.stderr());
    }
  });
});
