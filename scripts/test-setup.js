#!/usr/bin/env node
// Prepares this machine for the mount tests (run by `npm test`, as root, before node --test):
//   - turns FUSE-over-io_uring on (/sys/module/fuse/parameters/enable_uring is read at mount
//     time and is off by default); without it the io_uring tests cannot pass, so this fails
//     unless FUSE_URING_SKIP_URING=1 says to run the /dev/fuse tests alone;
//   - mounts fusectl at /sys/fs/fuse/connections (handy for aborting a stuck connection), and
//     says so in SETUP_STATE for scripts/test-teardown.js, which takes it off again;
//   - checks /dev/fuse, fusermount3, the programs the tests call, and the native addon;
//   - lazily unmounts mounts left on test mount points by an earlier, killed run;
//   - prints a short summary of the environment.
import { execFileSync } from 'node:child_process';
import { accessSync, chmodSync, constants, existsSync, readFileSync, readdirSync, realpathSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { release, tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const ENABLE_URING = '/sys/module/fuse/parameters/enable_uring';
const FUSECTL = '/sys/fs/fuse/connections';
/** What this script mounted, for scripts/test-teardown.js (which names the same file). */
const SETUP_STATE = join(tmpdir(), 'fuse-uring-test-setup.json');
const skipUring = process.env.FUSE_URING_SKIP_URING === '1';
const problems = [];
const notes = [];

const read = (path) => { try { return readFileSync(path, 'utf8').trim(); } catch { return undefined; } };
const run = (cmd, args) => execFileSync(cmd, args, { timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
const which = (cmd) => (process.env.PATH ?? '').split(delimiter).some((d) => {
  try { accessSync(join(d, cmd), constants.X_OK); return true; } catch { return false; }
});
const mounts = () => (read('/proc/mounts') ?? '').split('\n').map((l) => l.split(' '))
  .filter((f) => f.length >= 3).map(([source, target, fstype]) => ({ source, target: target.replace(/\\040/g, ' '), fstype }));

if (process.platform !== 'linux') {
  console.error('test-setup: fuse-uring only runs on Linux');
  process.exit(1);
}
const root = process.geteuid?.() === 0;
if (!root) notes.push('not running as root: mount(2), enable_uring and fusectl need root; expect failures');

// 1. /dev/fuse and the fuse module.
if (!existsSync('/sys/module/fuse')) {
  try { run('modprobe', ['fuse']); } catch { /* built in, or no modprobe: checked below */ }
}
if (!existsSync('/dev/fuse')) {
  problems.push('/dev/fuse does not exist: load the module (`modprobe fuse`) or, in a container, pass the device (--device /dev/fuse)');
}

// 2. FUSE-over-io_uring.
let uring = read(ENABLE_URING);
if (uring === undefined) {
  const msg = `${ENABLE_URING} does not exist: this kernel has no FUSE-over-io_uring (needs Linux >= 6.14 with CONFIG_FUSE_IO_URING=y)`;
  if (skipUring) notes.push(`${msg}; FUSE_URING_SKIP_URING=1: the io_uring tests will be skipped`);
  else problems.push(`${msg}. To run only the /dev/fuse tests: FUSE_URING_SKIP_URING=1 npm test`);
} else if (uring !== 'Y') {
  try {
    writeFileSync(ENABLE_URING, 'Y');
  } catch (e) {
    notes.push(`could not write ${ENABLE_URING}: ${e.message}`);
  }
  uring = read(ENABLE_URING);
  if (uring !== 'Y') {
    const msg = `FUSE-over-io_uring is off (${ENABLE_URING} = ${uring}). Turn it on as root:\n` +
      `    echo Y | sudo tee ${ENABLE_URING}\n` +
      '  (for every boot: fuse.enable_uring=1 on the kernel command line, or `options fuse enable_uring=1` in /etc/modprobe.d/fuse.conf)';
    if (skipUring) notes.push(`${msg}\n  FUSE_URING_SKIP_URING=1: the io_uring tests will be skipped`);
    else problems.push(`${msg}\n  or run only the /dev/fuse tests: FUSE_URING_SKIP_URING=1 npm test`);
  }
}

const ioUringDisabled = read('/proc/sys/kernel/io_uring_disabled');
if (ioUringDisabled === '2' || (ioUringDisabled === '1' && !root)) {
  const msg = `io_uring is disabled for this process (kernel.io_uring_disabled = ${ioUringDisabled}): sysctl -w kernel.io_uring_disabled=0`;
  if (skipUring) notes.push(msg);
  else problems.push(`${msg}, or FUSE_URING_SKIP_URING=1 npm test`);
}

// 3. /dev/fuse must be 0666 for unprivileged fusermount3 (as distributions set it via udev); this
// machine ships it 0600. The unprivileged-mount tests need it.
try {
  const mode = statSync('/dev/fuse').mode & 0o777;
  if (mode !== 0o666 && root) {
    chmodSync('/dev/fuse', 0o666);
    notes.push(`/dev/fuse was mode 0${mode.toString(8)}: set to 0666 (the distribution default) for unprivileged mounts`);
  }
} catch (e) {
  notes.push(`could not check /dev/fuse: ${e.message}`);
}

// 3b. fusectl (the abort tests write to /sys/fs/fuse/connections/<id>/abort).
let fusectl = mounts().some((m) => m.fstype === 'fusectl' && m.target === FUSECTL);
if (!fusectl && existsSync(FUSECTL)) {
  try {
    run('mount', ['-t', 'fusectl', 'fusectl', FUSECTL]);
    fusectl = true;
    writeFileSync(SETUP_STATE, JSON.stringify({ mountedFusectl: FUSECTL }));
  } catch (e) {
    notes.push(`could not mount fusectl at ${FUSECTL} (not needed by the tests): ${String(e.stderr || e.message).trim()}`);
  }
}

// 4. Programs.
if (!which('fusermount3')) {
  notes.push('fusermount3 is missing (needed for unprivileged mounts): apt-get install -y fuse3');
}
// Every program the tests run, by the Debian package that has it (.ci/run installs the same).
const tools = {
  coreutils: ['cp', 'dd', 'ls', 'stat', 'rm', 'mkdir', 'mv', 'truncate', 'wc', 'head', 'sha256sum', 'mkfifo'],
  diffutils: ['cmp', 'diff'], mount: ['umount', 'mount'], grep: ['grep'], dash: ['sh'],
  attr: ['setfattr', 'getfattr'], 'util-linux': ['setpriv', 'flock', 'fallocate'],
  git: ['git'], sqlite3: ['sqlite3'], tar: ['tar'], python3: ['python3'], gcc: ['cc'], fio: ['fio'],
};
for (const [pkg, cmds] of Object.entries(tools)) {
  const missing = cmds.filter((c) => !which(c));
  if (missing.length) problems.push(`missing ${missing.join(', ')}: apt-get install -y ${pkg}`);
}

// 5. The native addon (npm install builds it through node-gyp).
if (!existsSync(join(ROOT, 'build', 'Release', 'fuse_uring.node')) && !existsSync(join(ROOT, 'build', 'Debug', 'fuse_uring.node'))) {
  problems.push('the native addon is not built (build/Release/fuse_uring.node): run `npm install` (or `npm run build`)');
}

// 6. Mounts left on test mount points by a killed run would make later tests hang or fail.
let tmp = tmpdir();
try { tmp = realpathSync(tmp); } catch { /* keep it */ }
for (const m of mounts()) {
  const name = m.target.slice(tmp.length + 1);
  if (!m.target.startsWith(`${tmp}/`) || name.includes('/') || !name.startsWith('fuse-uring-test-')) continue;
  // Only a dead mount (its daemon gone: ENOTCONN) is stale; a live one belongs to a test run
  // going on beside this one. stat(1) with a timeout, so a hung daemon cannot hang the setup.
  let dead = false;
  try { execFileSync('stat', ['-c', '%i', m.target], { stdio: 'pipe', timeout: 2000 }); } catch (e) {
    dead = /Transport endpoint is not connected|Software caused connection abort/.test(String(e.stderr ?? ''));
  }
  if (!dead) continue;
  try {
    run('umount', ['-l', m.target]);
    rmdirSync(m.target);
    notes.push(`removed a stale test mount: ${m.target}`);
  } catch (e) {
    notes.push(`could not remove the stale test mount ${m.target}: ${String(e.stderr || e.message).trim()}`);
  }
}
// Empty leftovers of killed runs; only old ones: a run going on beside this one may have just made its own.
for (const name of readdirSync(tmp)) {
  if (!name.startsWith('fuse-uring-test-')) continue;
  try {
    if (Date.now() - statSync(join(tmp, name)).mtimeMs > 10 * 60_000) rmdirSync(join(tmp, name));
  } catch { /* not empty, mounted, or gone */ }
}

// Summary.
let fusermount = 'missing';
try { fusermount = run('fusermount3', ['-V']).trim(); } catch { /* reported above */ }
console.log('test-setup: environment');
console.log(`  node              ${process.version}`);
console.log(`  kernel            ${release()}`);
console.log(`  enable_uring      ${uring ?? 'n/a'}`);
console.log(`  max_pages_limit   ${read('/proc/sys/fs/fuse/max_pages_limit') ?? 'n/a'}`);
console.log(`  io_uring_disabled ${read('/proc/sys/kernel/io_uring_disabled') ?? 'n/a'}`);
console.log(`  possible CPUs     ${read('/sys/devices/system/cpu/possible') ?? 'n/a'}`);
console.log(`  fusectl           ${fusectl ? `mounted at ${FUSECTL}` : 'not mounted'}`);
console.log(`  fusermount3       ${fusermount}`);
console.log(`  uid               ${process.geteuid?.()}`);
for (const n of notes) console.log(`test-setup: note: ${n}`);
if (problems.length) {
  for (const p of problems) console.error(`test-setup: ERROR: ${p}`);
  process.exit(1);
}
