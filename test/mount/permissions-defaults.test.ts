// What a mount lets others do when nobody asked for anything: allow_other is off unless asked
// (another user gets EACCES at the mount point, as /proc/mounts says), the CLI turns
// default_permissions on unless `-o no_default_permissions`, and every mount is nosuid,nodev.
// The CLI (memfs and mirror) and the library (mount(), through the daemon fixture) over both
// transports.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Child, makeMountpoint, teardown, type TeardownReport } from '../helpers/child.js';
import { CLI } from '../helpers/cli.js';
import { mountEntry, uringSkipReason } from '../helpers/proc.js';
import { runCmd } from '../helpers/run.js';
import { withTempDir } from '../helpers/files.js';
import { NOBODY } from '../fixtures/mirror-perm-steps.js';
import { withMirror } from '../fixtures/mirror-mount.js';

const T = { timeout: 60_000 };
const notRoot = process.geteuid?.() !== 0 ? 'needs root (to mount and to be another user)' : false;

/** `cli.js <cmd...> <fresh mnt> ...args` until mounted; body; then SIGTERM and a clean exit. */
async function withCli(cmd: readonly string[], args: readonly string[], body: (mnt: string, stderr: () => string) => Promise<void>): Promise<void> {
  const mnt = await makeMountpoint('defaults');
  const child = new Child(`cli ${cmd.join(' ')} ${args.join(' ')}`, mnt, process.execPath, [CLI, ...cmd, mnt, ...args]);
  let report: TeardownReport | undefined;
  try {
    await child.waitFor('mounted line', () => (child.stderr().includes(` mounted at ${mnt}`) ? true : undefined), 20_000);
    await body(mnt, () => child.stderr());
  } finally {
    report = await teardown(child);
  }
  assert.equal(report.leftMounted, false, child.stderr());
  assert.deepEqual(report.exit, { code: 0, signal: null }, child.stderr());
}

/** The mount's options, and whether nobody may look at its root. */
async function look(mnt: string): Promise<{ allowOther: boolean; defaultPermissions: boolean; nosuid: boolean; nodev: boolean; nobody: string }> {
  const o = (await mountEntry(mnt))!.options;
  // (stat with a format asking for nothing makes a statx that FUSE answers even to strangers.)
  const r = await runCmd('setpriv', [...NOBODY, 'ls', '-a', mnt], { timeout: 20_000, cwd: '/' });
  return {
    allowOther: /\ballow_other\b/.test(o), defaultPermissions: /\bdefault_permissions\b/.test(o),
    nosuid: /\bnosuid\b/.test(o), nodev: /\bnodev\b/.test(o),
    nobody: r.code === 0 ? 'ok' : /Permission denied/.test(r.stderr) ? 'EACCES' : r.stderr.trim(),
  };
}

for (const transport of ['uring', 'dev'] as const) {
  const skip = notRoot || (transport === 'uring' ? uringSkipReason() : false);
  describe(`mount defaults over ${transport}`, { skip }, () => {
    const cases: [string, string[], { allowOther: boolean; defaultPermissions: boolean; nobody: string }][] = [
      ['nothing asked', [], { allowOther: false, defaultPermissions: true, nobody: 'EACCES' }],
      ['-o no_default_permissions', ['-o', 'no_default_permissions'], { allowOther: false, defaultPermissions: false, nobody: 'EACCES' }],
      ['-o allow_other', ['-o', 'allow_other'], { allowOther: true, defaultPermissions: true, nobody: 'ok' }],
      ['-o allow_other,no_default_permissions', ['-o', 'allow_other,no_default_permissions'], { allowOther: true, defaultPermissions: false, nobody: 'ok' }],
    ];
    for (const [label, opts, want] of cases) {
      it(`fuse-uring memfs, ${label}`, T, async () => {
        await withCli(['memfs'], ['--transport', transport, ...opts], async (mnt) => {
          assert.deepEqual(await look(mnt), { ...want, nosuid: true, nodev: true });
        });
      });
      it(`fuse-uring mirror, ${label}`, T, async () => {
        await withTempDir(async (scratch) => {
          const src = join(scratch, 'src');
          mkdirSync(src, { mode: 0o755 });
          await withCli(['mirror', src], ['--transport', transport, ...opts], async (mnt, stderr) => {
            assert.deepEqual(await look(mnt), { ...want, nosuid: true, nodev: true });
            // As root without default_permissions the daemon would do anything asked: the CLI says so.
            assert.equal(/warning: without default_permissions/.test(stderr()), !want.defaultPermissions, stderr());
          });
        });
      });
    }

    it('the library: mount() with no options has neither allow_other nor default_permissions, and is nosuid,nodev', T, async () => {
      await withTempDir(async (scratch) => {
        const src = join(scratch, 'src');
        mkdirSync(src, { mode: 0o755 });
        writeFileSync(join(src, 'f'), 'x');
        await withMirror(transport, src, [], async (m) => {
          assert.deepEqual(await look(m.mnt), { allowOther: false, defaultPermissions: false, nosuid: true, nodev: true, nobody: 'EACCES' });
        });
      });
    });
  });
}
