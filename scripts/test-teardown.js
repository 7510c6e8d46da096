#!/usr/bin/env node
// Undoes what scripts/test-setup.js mounted (run by `npm test` after node --test, pass or fail):
// fusectl at /sys/fs/fuse/connections, if setup mounted it and nothing else took it off. The
// tests' own FUSE mounts are unmounted by the tests; this only lists any left behind.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

const SETUP_STATE = join(tmpdir(), 'fuse-uring-test-setup.json');
const mounts = () => readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')).filter((f) => f.length >= 3);

let state = {};
try { state = JSON.parse(readFileSync(SETUP_STATE, 'utf8')); } catch { /* setup mounted nothing */ }
rmSync(SETUP_STATE, { force: true });
const fusectl = state.mountedFusectl;
if (typeof fusectl === 'string' && mounts().some(([, target, type]) => target === fusectl && type === 'fusectl')) {
  try {
    execFileSync('umount', ['-l', fusectl], { timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
    console.log(`test-teardown: unmounted fusectl at ${fusectl} (mounted by test-setup)`);
  } catch (e) {
    console.error(`test-teardown: could not unmount ${fusectl}: ${String(e.stderr || e.message).trim()}; run: umount -l ${fusectl}`);
  }
}
const left = mounts().filter(([, , type]) => type === 'fuse' || type.startsWith('fuse.'));
for (const [, target] of left) console.error(`test-teardown: a FUSE mount is still on ${target.replace(/\\040/g, ' ')} (umount -l it)`);
