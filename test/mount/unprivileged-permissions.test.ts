// Permission checks on a mount that nobody (65534) made itself, through fusermount3, over both
// transports: memfs, and mirror of a source prepared by root (nobody's own directory holding
// root's files, a sticky directory, read-only things). nobody is the only user the kernel lets in
// (no allow_other: root itself is refused), so the caller is nobody and the files it does not own
// are root's. Each runs with default_permissions (the CLI's default: the kernel checks) and with
// no_default_permissions (memfs checks itself; the mirror's daemon is nobody, so the source's own
// kernel checks every syscall it makes for nobody): the answers are the same.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, copyFileSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { chown, readdir, stat } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Child, makeMountpoint, teardown, withDeadline } from '../helpers/child.js';
import { CLI } from '../helpers/cli.js';
import { mountEntry, uringSkipReason } from '../helpers/proc.js';
import { runCmd } from '../helpers/run.js';
import { withTempDir } from '../helpers/files.js';
import { NOBODY, expectAs, permissionSkipReason } from '../fixtures/mirror-perm-steps.js';

const reason = permissionSkipReason
  || ((statSync('/dev/fuse').mode & 0o006) !== 0o006 ? '/dev/fuse is not 0666 (scripts/test-setup.js sets it)' : false)
  || (spawnSync('setpriv', [...NOBODY, 'test', '-r', CLI], { timeout: 10_000 }).status !== 0 ? `nobody cannot read ${CLI}` : false);

/** The CLI run by nobody on a fresh mount point nobody owns; `body` gets the mount point. */
async function asNobodyMount(args: readonly string[], tag: string, body: (mnt: string) => Promise<void>): Promise<void> {
  const mnt = await makeMountpoint(tag);
  await chown(mnt, 65534, 65534);
  const child = new Child(`cli as nobody ${args.join(' ')}`, mnt, 'setpriv', [...NOBODY, process.execPath, CLI, ...args.map((a) => (a === '@MNT' ? mnt : a))]);
  try {
    await child.waitFor('mounted line', () => (child.stderr().includes(` mounted at ${mnt}`) ? true : undefined), 20_000);
    await withDeadline(`permission scene on ${mnt}`, 90_000, body(mnt), () => teardown(child));
  } catch (e) {
    if (e instanceof Error) e.message += `\n--- CLI stderr ---\n${child.stderr()}`;
    throw e;
  } finally {
    const report = await teardown(child);
    assert.equal(report.leftMounted, false, `the CLI left its mount behind: ${child.stderr()}`);
    assert.deepEqual(report.exit, { code: 0, signal: null }, child.stderr());
  }
}

/** What the mount says about itself, and that root (another user) is refused without allow_other. */
async function checkMount(mnt: string, dp: boolean): Promise<void> {
  const entry = await mountEntry(mnt);
  assert.ok(entry, 'mounted');
  assert.match(entry.options, /\buser_id=65534\b/);
  assert.match(entry.options, /\bnosuid\b/);
  assert.match(entry.options, /\bnodev\b/);
  assert.doesNotMatch(entry.options, /\ballow_other\b/);
  assert.equal(/\bdefault_permissions\b/.test(entry.options), dp, entry.options);
  const root = await runCmd('stat', [mnt], { timeout: 20_000 });
  assert.notEqual(root.code, 0, 'root got into nobody\'s mount');
  assert.match(root.stderr, /Permission denied/);
}

/** What nobody can check on files it owns itself: the mode bits bind the owner too. */
async function ownScene(mnt: string): Promise<void> {
  const p = (n: string) => join(mnt, n);
  await expectAs(NOBODY, 'nobody making its scene', [
    ['OK', 'create', p('readonly')], ['OK', 'append', p('readonly'), 'readonly'], ['OK', 'chmod', p('readonly'), '444'],
    ['OK', 'create', p('writeonly')], ['OK', 'chmod', p('writeonly'), '200'],
    ['OK', 'mkdir', p('rodir')], ['OK', 'create', p('rodir/f')], ['OK', 'chmod', p('rodir'), '555'],
    ['OK', 'mkdir', p('noexec')], ['OK', 'create', p('noexec/f')], ['OK', 'chmod', p('noexec'), '644'],
    ['OK', 'mkdir', p('xonly')], ['OK', 'create', p('xonly/f')], ['OK', 'chmod', p('xonly'), '300'],
    ['OK', 'create', p('prog')],
  ]);
  // The kernel keeps names and attributes for a while (memfs checking itself: 0 s; mirror: 1 s)
  // and, without default_permissions, walks cached names without asking anyone: a directory's
  // search bit taken away a moment ago is seen once they expire.
  await new Promise((r) => setTimeout(r, 1100));
  await expectAs(NOBODY, 'nobody on its own files', [
    ['EACCES', 'openrw', p('readonly')],
    ['EACCES', 'append', p('readonly'), 'x'],
    ['EACCES', 'truncate', p('readonly'), 0],
    ['readonly', 'read', p('readonly')],
    ['OK', 'access', p('readonly'), 'r'],
    ['EACCES', 'access', p('readonly'), 'w'],
    ['EACCES', 'read', p('writeonly')],
    ['OK', 'append', p('writeonly'), 'w'],
    ['EACCES', 'access', p('writeonly'), 'r'],
    ['EACCES', 'create', p('rodir/new')],
    ['EACCES', 'mkdir', p('rodir/d')],
    ['EACCES', 'unlink', p('rodir/f')],
    ['EACCES', 'access', p('rodir'), 'w'],
    ['f', 'listdir', p('rodir')],
    ['EACCES', 'stat', p('noexec/f')],
    ['EACCES', 'chdir', p('noexec')],
    ['f', 'listdir', p('noexec')],
    ['EACCES', 'listdir', p('xonly')],
    ['OK', 'stat', p('xonly/f')],
    ['EACCES', 'exec', p('prog')],
    ['EACCES', 'access', p('prog'), 'x'],
    // The owner may change the bits back, and then it may.
    ['OK', 'chmod', p('readonly'), '644'],
    ['OK', 'openrw', p('readonly')],
    ['OK', 'chmod', p('rodir'), '755'],
    ['OK', 'create', p('rodir/new')],
  ]);
}

for (const transport of ['uring', 'dev'] as const) {
  const skip = reason || (transport === 'uring' ? uringSkipReason() : false);
  describe(`permissions on nobody's own mount over ${transport}`, { skip }, () => {
    for (const dp of [true, false]) {
      const o = dp ? [] : ['-o', 'no_default_permissions'];
      const how = dp ? 'default_permissions' : 'no_default_permissions';

      it(`memfs (${how})`, { timeout: 120_000 }, async () => {
        await asNobodyMount(['memfs', '@MNT', '--transport', transport, ...o], `nobody-perm-${transport}`, async (mnt) => {
          await checkMount(mnt, dp);
          await ownScene(mnt);
        });
      });

      it(`mirror of a source with root's files in it (${how})`, { timeout: 120_000 }, async () => {
        await withTempDir(async (scratch) => {
          chmodSync(scratch, 0o755);
          const src = join(scratch, 'src');
          mkdirSync(src);
          const rootFile = (name: string, mode: number) => { writeFileSync(join(src, name), name); chmodSync(join(src, name), mode); };
          rootFile('rootfile', 0o644);
          rootFile('secret', 0o600);
          mkdirSync(join(src, 'sticky'));
          chmodSync(join(src, 'sticky'), 0o1777);
          rootFile('sticky/rootf', 0o644);
          mkdirSync(join(src, 'rootdir'));
          rootFile('rootdir/f', 0o644);
          copyFileSync('/bin/true', join(src, 'roottrue'));
          chmodSync(join(src, 'roottrue'), 0o711);
          chownSync(src, 65534, 65534);
          await asNobodyMount(['mirror', src, '@MNT', '--transport', transport, ...o], `nobody-perm-mirror-${transport}`, async (mnt) => {
            await checkMount(mnt, dp);
            const p = (n: string) => join(mnt, n);
            await expectAs(NOBODY, 'nobody on root\'s files', [
              ['rootfile', 'read', p('rootfile')],
              ['EACCES', 'append', p('rootfile'), 'x'],
              ['EACCES', 'openrw', p('rootfile')],
              ['EACCES', 'access', p('rootfile'), 'w'],
              ['EPERM', 'chmod', p('rootfile'), '666'],
              ['EPERM', 'chown', p('rootfile'), 65534, 65534],
              ['EPERM', 'utime', p('rootfile'), 1_000_000],
              ['EACCES', 'touch', p('rootfile')],
              ['EACCES', 'read', p('secret')],
              ['EACCES', 'access', p('secret'), 'r'],
              // Execute-only (0711): the kernel reads a program through OPEN + READ, and this
              // daemon is nobody, who may not read it. Only a daemon that may read it (root) can
              // serve execute-only programs: permissions.test.ts runs one through a root mirror.
              ['EACCES', 'exec', p('roottrue')],
              ['EACCES', 'read', p('roottrue')],
              ['EACCES', 'create', p('rootdir/new')],
              ['EACCES', 'unlink', p('rootdir/f')],
              ['EPERM', 'unlink', p('sticky/rootf')],
              ['EPERM', 'rename', p('sticky/rootf'), p('sticky/mine')],
              ['OK', 'create', p('sticky/own')],
              ['OK', 'rename', p('sticky/own'), p('sticky/own2')],
              ['OK', 'unlink', p('sticky/own2')],
              // nobody owns the source's root directory: it may remove root's file from it.
              ['OK', 'rename', p('rootfile'), p('rootfile.moved')],
            ]);
            await ownScene(mnt);
          });
          // What nobody did through the daemon (itself nobody) is in the source, as nobody's.
          assert.deepEqual((await readdir(join(src, 'sticky'))).sort(), ['rootf']);
          const made = await stat(join(src, 'readonly'));
          assert.deepEqual([made.uid, made.gid, made.mode & 0o7777], [65534, 65534, 0o644]);
          assert.equal((await stat(join(src, 'rootfile.moved'))).uid, 0);
        });
      });
    }
  });
}
