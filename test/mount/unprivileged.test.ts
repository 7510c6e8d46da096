// A user who is not root mounts through fusermount3 (the fd comes back over a socket) and gets
// the same filesystem over both transports; only that user may enter it (no allow_other).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chown } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { Child, makeMountpoint, teardown } from '../helpers/child.js';
import { CLI, mountedLine } from '../helpers/cli.js';
import { mountEntry, uringSkipReason } from '../helpers/proc.js';
import { runCmd } from '../helpers/run.js';

const NOBODY = 65534;
const asNobody = ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups'];
const reason = process.getuid?.() !== 0 ? 'needs root to switch to nobody'
  : (statSync('/dev/fuse').mode & 0o006) !== 0o006 ? '/dev/fuse is not 0666 (scripts/test-setup.js sets it)'
  : spawnSync('setpriv', [...asNobody, 'test', '-r', CLI], { timeout: 10_000 }).status !== 0 ? `nobody cannot read ${CLI} (a checkout under a private directory)` : false;

for (const transport of ['uring', 'dev'] as const) {
  const skip = reason || (transport === 'uring' ? uringSkipReason() : false);
  describe(`an unprivileged user over ${transport}`, { skip }, () => {
    it('mounts through fusermount3, reads and writes, and unmounts on SIGTERM', { timeout: 60_000 }, async () => {
      const mnt = await makeMountpoint(`nobody-${transport}`);
      await chown(mnt, NOBODY, NOBODY);
      const child = new Child(`cli as nobody (${transport})`, mnt, 'setpriv', [...asNobody, process.execPath, CLI, 'memfs', mnt, '--transport', transport]);
      try {
        await child.waitFor('mounted line', () => (child.stderr().includes(mountedLine(mnt)) ? true : undefined), 20_000);
        const entry = await mountEntry(mnt);
        assert.ok(entry, 'mounted');
        assert.match(entry.options, /user_id=65534/);
        const r = await runCmd('setpriv', [...asNobody, 'sh', '-c', 'echo hello > "$1/f" && cat "$1/f" && stat -c "%U %s" "$1/f"', 'sh', mnt], { timeout: 20_000 });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, 'hello\nnobody 6\n');
        // Without allow_other the kernel lets no one else in, root included.
        const root = await runCmd('stat', [`${mnt}/f`], { timeout: 20_000 });
        assert.notEqual(root.code, 0);
        assert.match(root.stderr, /Permission denied/);
      } finally {
        const report = await teardown(child);
        assert.equal(report.stoppedInTime, true, `the CLI did not stop on SIGTERM: ${child.stderr()}`);
        assert.equal(report.leftMounted, false, 'the CLI left its mount behind');
        assert.deepEqual(report.exit, { code: 0, signal: null }, child.stderr());
      }
    });
  });
}
