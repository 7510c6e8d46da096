// `fuse-uring mirror <source> <mountpoint>` as the user runs it: the help, the usage errors (no
// mount), the mounted line with the transport and the passthrough state, /proc/mounts, and a
// clean unmount on SIGTERM.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Child, makeMountpoint, teardown } from '../helpers/child.js';
import { CLI, runCli } from '../helpers/cli.js';
import { isMounted, mountEntry, uringSkipReason } from '../helpers/proc.js';
import { withTempDir } from '../helpers/files.js';

const T = { timeout: 60_000 };
const notRoot = process.geteuid?.() !== 0 ? 'mounting needs root here' : false;

describe('fuse-uring mirror (CLI)', () => {
  it('--help describes the command and its options', T, async () => {
    const r = await runCli(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /fuse-uring mirror <source> <mountpoint>/);
    assert.match(r.stdout, /--no-passthrough/);
    assert.match(r.stdout, /--fd-cache N/);
  });

  it('usage errors exit 2 before mounting anything', T, async () => {
    await withTempDir(async (dir) => {
      writeFileSync(join(dir, 'file'), '');
      const cases: [string[], RegExp][] = [
        [['mirror', dir], /usage: fuse-uring mirror <source> <mountpoint>/],
        [['mirror', join(dir, 'missing'), dir], /cannot mirror .*missing.*ENOENT/],
        [['mirror', join(dir, 'file'), dir], /cannot mirror .*ENOTDIR/],
        [['mirror', dir, dir, '--size', '1M'], /--size is a memfs option/],
        [['mirror', dir, dir, '--fd-cache', '0'], /--fd-cache needs a whole number/],
        [['memfs', dir, '--no-passthrough'], /mirror options/],
      ];
      for (const [args, message] of cases) {
        const r = await runCli(args);
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, message, args.join(' '));
      }
    });
  });

  for (const transport of ['uring', 'dev'] as const) {
    const skip = notRoot || (transport === 'uring' ? uringSkipReason() : false);
    for (const noPassthrough of [false, true]) {
      it(`mounts over ${transport}${noPassthrough ? ' with --no-passthrough' : ''}, says so, and unmounts on SIGTERM`, { ...T, skip }, async () => {
        await withTempDir(async (dir) => {
          const src = join(dir, 'src');
          mkdirSync(src, { mode: 0o755 });
          writeFileSync(join(src, 'hello'), 'from the source');
          const mnt = await makeMountpoint(`mirror-cli-${transport}`);
          const args = [CLI, 'mirror', src, mnt, '--transport', transport, ...(noPassthrough ? ['--no-passthrough'] : [])];
          const child = new Child(`cli mirror ${transport}`, mnt, process.execPath, args);
          try {
            const line = await child.waitFor('mounted line', () =>
              child.stderr().split('\n').find((l) => l.startsWith(`fuse-uring: mirror of ${src} mounted at ${mnt}`)), 20_000);
            assert.match(line, new RegExp(`transport ${transport}`));
            if (noPassthrough) assert.match(line, /passthrough off \(--no-passthrough\)/);
            else assert.match(line, /passthrough (on|off)\)/);
            const m = await mountEntry(mnt);
            assert.equal(m?.fstype, 'fuse.mirror');
            assert.equal(m?.source, src);
            assert.match(m!.options, /default_permissions/);
            assert.equal(await readFile(join(mnt, 'hello'), 'utf8'), 'from the source');
            await writeFile(join(mnt, 'back'), 'to the source');
            assert.equal(await readFile(join(src, 'back'), 'utf8'), 'to the source');
            child.signal('SIGTERM');
            const exit = await child.waitExit(10_000);
            assert.deepEqual(exit, { code: 0, signal: null }, child.stderr());
            assert.equal(await isMounted(mnt), false);
          } finally {
            const report = await teardown(child);
            assert.equal(report.leftMounted, false);
          }
        });
      });
    }
  }
});
