// POSIX permissions through real mounts, over both transports, as other users see them: the
// mount is root's (`fuse-uring memfs -o allow_other`, `fuse-uring mirror <src> -o allow_other`),
// the callers are nobody (65534, no groups) and uid 1000 with the supplementary group 2000, each
// run through setpriv. memfs runs every scene twice with the same expectations: with
// default_permissions (the kernel checks, from the attributes memfs reports) and with
// no_default_permissions (the kernel checks nothing and the CLI has memfs check everything itself
// — checkPermissions). mirror runs them with default_permissions (the CLI's default): without it
// the kernel checks nothing and a root daemon does what it is asked (the CLI warns).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, chown, copyFile, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, startCli, type CliMount } from '../helpers/cli.js';
import { Child, makeMountpoint, teardown, withDeadline, type TeardownReport } from '../helpers/child.js';
import { withTempDir } from '../helpers/files.js';
import { mountEntry, uringSkipReason } from '../helpers/proc.js';
import { NOBODY, USER, expectAs, permissionSkipReason as reason } from '../fixtures/mirror-perm-steps.js';

/** Root sets the scene up through the mount. */
async function scene(mnt: string): Promise<void> {
  const p = (n: string) => join(mnt, n);
  const file = async (name: string, mode: number, uid: number, gid: number, data = name) => {
    await writeFile(p(name), data);
    await chown(p(name), uid, gid);
    await chmod(p(name), mode);
  };
  const dir = async (name: string, mode: number, uid = 0, gid = 0) => {
    await mkdir(p(name));
    await chown(p(name), uid, gid);
    await chmod(p(name), mode);
  };
  await file('secret', 0o600, 1000, 1000);
  await file('public', 0o644, 1000, 1000);
  await file('group', 0o660, 0, 2000);
  await file('fewer', 0o604, 0, 2000); // a member of 2000 gets the group's bits: none
  await file('touchable', 0o666, 1000, 1000);
  await file('own', 0o644, 1000, 1000);
  await file('sgid', 0o644, 1000, 0);
  await file('readonly', 0o444, 1000, 1000);
  await copyFile('/bin/true', p('prog'));
  await chmod(p('prog'), 0o711); // executable, not readable
  await dir('ro', 0o755);
  await file('ro/inside', 0o644, 0, 0);
  await dir('noexec', 0o744);
  await file('noexec/f', 0o644, 0, 0);
  await dir('xonly', 0o711);
  await file('xonly/f', 0o644, 0, 0);
  await dir('tmp', 0o1777);
  await dir('shared', 0o770, 0, 2000);
}

async function check(mnt: string): Promise<void> {
  const p = (n: string) => join(mnt, n);
  await scene(mnt);
  await expectAs(NOBODY, 'nobody', [
    ['EACCES', 'read', p('secret')],
    ['public', 'read', p('public')],
    ['EACCES', 'append', p('public'), 'x'],
    ['EACCES', 'truncate', p('public'), 0],
    ['EACCES', 'read', p('group')],
    ['fewer', 'read', p('fewer')],
    ['EACCES', 'create', p('ro/new')],
    ['EACCES', 'mkdir', p('ro/d')],
    ['EACCES', 'unlink', p('ro/inside')],
    ['EACCES', 'rename', p('ro/inside'), p('tmp/stolen')],
    ['EACCES', 'stat', p('noexec/f')],
    ['EACCES', 'read', p('noexec/f')],
    ['f', 'listdir', p('noexec')],
    ['OK', 'stat', p('xonly/f')],
    ['xonly/f', 'read', p('xonly/f')],
    ['EACCES', 'listdir', p('xonly')],
    ['OK', 'chdir', p('xonly')],
    ['EACCES', 'chdir', p('noexec')],
    ['OK', 'exec', p('prog')],
    ['EACCES', 'read', p('prog')],
    ['EPERM', 'chmod', p('public'), '666'],
    ['EPERM', 'chown', p('public'), 65534, 65534],
    ['EPERM', 'chown', p('public'), -1, 65534],
    ['OK', 'touch', p('touchable')],
    ['EPERM', 'utime', p('touchable'), 1_000_000],
    ['EACCES', 'touch', p('public')],
    ['EACCES', 'create', p('shared/a')],
    ['OK', 'create', p('tmp/a')],
    ['OK', 'create', p('tmp/a2')],
    ['EACCES', 'openrw', p('public')],
    ['OK', 'openrw', p('touchable')],
    ['OK', 'access', p('public'), 'r'],
    ['EACCES', 'access', p('public'), 'w'],
    ['EACCES', 'access', p('secret'), 'r'],
    ['OK', 'access', p('touchable'), 'w'],
    ['OK', 'access', p('prog'), 'x'],
    ['EACCES', 'access', p('prog'), 'r'],
    ['EACCES', 'access', p('noexec/f'), 'f'],
    ['OK', 'access', p('xonly'), 'x'],
    ['EACCES', 'access', p('xonly'), 'r'],
    ['EACCES', 'access', p('ro'), 'w'],
    ['OK', 'access', p('tmp'), 'w'],
    ['EPERM', 'chmod', p('tmp'), '777'],
  ]);
  await expectAs(USER, 'uid 1000 with group 2000', [
    ['secret', 'read', p('secret')],
    ['OK', 'append', p('secret'), '!'],
    ['group', 'read', p('group')],
    ['OK', 'append', p('group'), '+'],
    ['EACCES', 'read', p('fewer')],
    ['OK', 'create', p('shared/b')],
    ['b', 'listdir', p('shared')],
    ['OK', 'create', p('tmp/b')],
    ['EPERM', 'unlink', p('tmp/a')],
    ['EPERM', 'rename', p('tmp/a'), p('tmp/c')],
    ['EPERM', 'rename', p('tmp/b'), p('tmp/a')],
    ['OK', 'rename', p('tmp/b'), p('tmp/b2')],
    ['OK', 'unlink', p('tmp/b2')],
    ['OK', 'chmod', p('own'), '600'],
    ['0o600', 'mode', p('own')],
    ['EPERM', 'chown', p('own'), 65534, -1],
    ['OK', 'chown', p('own'), 1000, -1],
    ['OK', 'chown', p('own'), -1, 2000],
    ['EPERM', 'chown', p('own'), -1, 3000],
    ['OK', 'chmod', p('sgid'), '2755'],
    ['0o755', 'mode', p('sgid')],
    ['OK', 'utime', p('touchable'), 2_000_000],
    ['OK', 'truncate', p('public'), 2],
    // The owner too is refused what the mode bits do not grant (no capability bypass).
    ['EACCES', 'openrw', p('readonly')],
    ['EACCES', 'append', p('readonly'), 'x'],
    ['EACCES', 'access', p('readonly'), 'w'],
    ['OK', 'access', p('readonly'), 'r'],
    ['readonly', 'read', p('readonly')],
    ['OK', 'chmod', p('readonly'), '644'],
    ['OK', 'openrw', p('readonly')],
    ['OK', 'access', p('group'), 'w'],
    ['EACCES', 'access', p('fewer'), 'r'],
  ]);
  await expectAs(NOBODY, 'nobody, again', [
    ['OK', 'unlink', p('tmp/a')],
    ['OK', 'rename', p('tmp/a2'), p('tmp/a3')],
    ['a3', 'listdir', p('tmp')],
    ['pu', 'read', p('public')],
  ]);
  // What the users did is what root sees.
  assert.equal((await readdir(p('tmp'))).join(' '), 'a3');
  const b = await stat(p('shared/b'));
  assert.deepEqual([b.uid, b.gid], [1000, 1000]);
  const own = await stat(p('own'));
  assert.deepEqual([own.uid, own.gid, own.mode & 0o7777], [1000, 2000, 0o600]);
  assert.equal((await stat(p('touchable'))).mtimeMs, 2_000_000_000);
}

/** `fuse-uring mirror <src> <fresh mnt> ...args`, waited for (20 s) until it says it is mounted. */
async function startMirrorCli(src: string, args: readonly string[], tag: string): Promise<CliMount> {
  const mnt = await makeMountpoint(tag);
  const child = new Child(`cli mirror ${args.join(' ')}`, mnt, process.execPath, [CLI, 'mirror', src, mnt, ...args]);
  let stopping: Promise<TeardownReport> | undefined;
  const stop = () => (stopping ??= teardown(child));
  try {
    await child.waitFor('mounted line on stderr', () => (child.stderr().includes(` mounted at ${mnt}`) ? true : undefined), 20_000);
  } catch (e) {
    await stop();
    throw e;
  }
  return { child, mnt, stop };
}

async function run(cli: CliMount, dp: boolean): Promise<void> {
  try {
    const entry = await mountEntry(cli.mnt);
    assert.ok(entry, 'mounted');
    assert.match(entry.options, /\ballow_other\b/);
    assert.equal(/\bdefault_permissions\b/.test(entry.options), dp, `mount options ${entry.options}`);
    await withDeadline('the permission scenes', 90_000, check(cli.mnt), cli.stop);
  } finally {
    const report = await cli.stop();
    assert.equal(report.leftMounted, false, `the CLI left its mount behind: ${cli.child.stderr()}`);
    assert.deepEqual(report.exit, { code: 0, signal: null }, cli.child.stderr());
  }
}

for (const transport of ['uring', 'dev'] as const) {
  const skip = reason || (transport === 'uring' ? uringSkipReason() : false);
  describe(`permissions for other users over ${transport}`, { skip }, () => {
    for (const dp of [true, false]) {
      const opts = dp ? 'allow_other' : 'allow_other,no_default_permissions';
      const who = dp ? 'the kernel checks (default_permissions)' : 'memfs checks (no_default_permissions)';
      it(who, { timeout: 120_000 }, async () => {
        await run(await startCli(['--transport', transport, '-o', opts], `perm-${transport}`), dp);
      });
    }
    for (const passthrough of [true, false]) {
      it(`mirror${passthrough ? '' : ' --no-passthrough'}: the kernel checks (default_permissions), the source gets what the users did`, { timeout: 120_000 }, async () => {
        await withTempDir(async (scratch) => {
          const src = join(scratch, 'src');
          mkdirSync(src, { mode: 0o755 });
          const args = ['--transport', transport, '-o', 'allow_other', ...(passthrough ? [] : ['--no-passthrough'])];
          await run(await startMirrorCli(src, args, `perm-mirror-${transport}`), true);
          // The mirror's source holds exactly what the users made, owned by them.
          const b = await stat(join(src, 'shared', 'b'));
          assert.deepEqual([b.uid, b.gid, b.mode & 0o7777], [1000, 1000, 0o644]);
          assert.equal((await readdir(join(src, 'tmp'))).join(' '), 'a3');
          assert.equal((await stat(join(src, 'readonly'))).mode & 0o7777, 0o644);
        });
      });
    }
  });
}
