// POSIX permissions through real mounts, over both transports, as other users see them: the
// mount is root's (`fuse-uring memfs -o allow_other`), the callers are nobody (65534, no groups)
// and uid 1000 with the supplementary group 2000, each run through setpriv. Every scene runs
// twice with the same expectations: with default_permissions (the kernel checks, from the
// attributes memfs reports) and with no_default_permissions (the kernel checks nothing and the
// CLI has memfs check everything itself — checkPermissions).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, chown, copyFile, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startCli, type CliMount } from '../helpers/cli.js';
import { withDeadline } from '../helpers/child.js';
import { mountEntry, uringSkipReason } from '../helpers/proc.js';
import { runCmd } from '../helpers/run.js';

const NOBODY = ['--reuid', '65534', '--regid', '65534', '--clear-groups'];
const USER = ['--reuid', '1000', '--regid', '1000', '--groups', '2000'];

/** A python3 that nobody may run (a pyenv shim under /root is not one). */
function findPython(): string | undefined {
  for (const py of ['/usr/bin/python3', '/usr/local/bin/python3', 'python3']) {
    const r = spawnSync('setpriv', [...NOBODY, py, '-c', 'pass'], { timeout: 10_000, cwd: '/' });
    if (r.status === 0) return py;
  }
  return undefined;
}

const PYTHON = process.getuid?.() === 0 ? findPython() : undefined;
const reason = process.getuid?.() !== 0 ? 'needs root to mount for others and to switch users'
  : PYTHON === undefined ? 'no python3 that nobody can run (tried /usr/bin/python3, /usr/local/bin/python3, python3 in PATH)'
  : false;

/**
 * Runs each [op, ...args] in order and prints one result per op: "OK", a value (read, listdir,
 * mode), or the errno name it failed with.
 */
const RUNNER = String.raw`
import errno, json, os, subprocess, sys
def run(op, *a):
    if op == 'read':
        with open(a[0], 'rb') as f: return f.read().decode()
    if op == 'append':
        fd = os.open(a[0], os.O_WRONLY | os.O_APPEND)
        try: os.write(fd, a[1].encode())
        finally: os.close(fd)
    elif op == 'create': os.close(os.open(a[0], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    elif op == 'mkdir': os.mkdir(a[0])
    elif op == 'unlink': os.unlink(a[0])
    elif op == 'rmdir': os.rmdir(a[0])
    elif op == 'rename': os.rename(a[0], a[1])
    elif op == 'chmod': os.chmod(a[0], int(a[1], 8))
    elif op == 'chown': os.chown(a[0], a[1], a[2])
    elif op == 'touch': os.utime(a[0])
    elif op == 'utime': os.utime(a[0], (a[1], a[1]))
    elif op == 'truncate': os.truncate(a[0], a[1])
    elif op == 'stat': os.stat(a[0])
    elif op == 'exec': subprocess.run([a[0]], check=True)
    elif op == 'chdir': os.chdir(a[0]); os.chdir('/')
    elif op == 'listdir': return ' '.join(sorted(os.listdir(a[0])))
    elif op == 'mode': return oct(os.stat(a[0]).st_mode & 0o7777)
    else: raise SystemExit('unknown op ' + op)
    return 'OK'
out = []
for step in json.loads(sys.argv[1]):
    try: out.append(run(*step))
    except OSError as e: out.append(errno.errorcode.get(e.errno, str(e.errno)))
print(json.dumps(out))
`;

type Step = [op: string, ...args: (string | number)[]];

/** Runs `steps` as the user `who` (setpriv arguments); returns one result per step. */
async function as(who: readonly string[], steps: Step[]): Promise<string[]> {
  const r = await runCmd('setpriv', [...who, PYTHON!, '-c', RUNNER, JSON.stringify(steps)], { timeout: 30_000, cwd: '/' });
  assert.equal(r.code, 0, `setpriv ${who.join(' ')} python3 exited ${r.code ?? r.signal}: ${r.stderr}`);
  return JSON.parse(r.stdout) as string[];
}

/** Runs the steps and asserts each result: [expected, op, ...args]. */
async function expectAs(who: readonly string[], label: string, cases: [string, ...Step][]): Promise<void> {
  const got = await as(who, cases.map(([, ...step]) => step as Step));
  const show = (r: readonly string[]) => cases.map(([, ...step], i) => `${JSON.stringify(step)} → ${r[i]}`);
  assert.deepEqual(show(got), show(cases.map(([want]) => want)), `as ${label}`);
}

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

for (const transport of ['uring', 'dev'] as const) {
  const skip = reason || (transport === 'uring' ? uringSkipReason() : false);
  describe(`permissions for other users over ${transport}`, { skip }, () => {
    for (const dp of [true, false]) {
      const opts = dp ? 'allow_other' : 'allow_other,no_default_permissions';
      const who = dp ? 'the kernel checks (default_permissions)' : 'memfs checks (no_default_permissions)';
      it(who, { timeout: 120_000 }, async () => {
        const cli: CliMount = await startCli(['--transport', transport, '-o', opts], `perm-${transport}`);
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
      });
    }
  });
}
