// Set-id bits and file capabilities through a real mount, over both transports. memfs asks for
// HANDLE_KILLPRIV_V2 (so the kernel does not send GETXATTR security.capability before every
// write): dropping them is then memfs's job, on exactly the occasions the kernel would drop them
// on a local filesystem — a write, truncate or O_TRUNC open by a caller without CAP_FSETID drops
// set-uid (and set-gid with group execute); chown drops both for anyone; any write, truncate or
// chown drops security.capability, root's included (the kernel still looks for capabilities on an
// inode until it once finds none, so that part holds with or without memfs's own killCaps).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, chown, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withDaemon } from '../helpers/daemon.js';
import { runCmd, mustRun } from '../helpers/run.js';
import { uringSkipReason } from '../helpers/proc.js';

const NOBODY = ['--reuid', '65534', '--regid', '65534', '--clear-groups'];
const skip = process.getuid?.() !== 0 ? 'needs root to mount for others and to switch users' : false;

/** vfs_cap_data revision 2, effective, CAP_NET_BIND_SERVICE permitted: what setcap writes. */
const CAP = Buffer.from([0x01, 0, 0, 0x02, 0, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

async function asNobody(script: string, ...args: string[]): Promise<void> {
  await mustRun('setpriv', [...NOBODY, 'sh', '-c', script, 'sh', ...args], { timeout: 20_000 });
}

async function modeOf(p: string): Promise<string> {
  return ((await stat(p)).mode & 0o7777).toString(8);
}

async function hasCap(p: string): Promise<boolean> {
  const r = await runCmd('getfattr', ['-n', 'security.capability', '--only-values', p], { timeout: 10_000 });
  return r.code === 0;
}

async function setCap(p: string): Promise<void> {
  await mustRun('setfattr', ['-n', 'security.capability', '-v', `0s${CAP.toString('base64')}`, p], { timeout: 10_000 });
}

for (const transport of ['uring', 'dev'] as const) {
  describe(`set-id bits and capabilities on memfs over ${transport}`, { skip: skip || (transport === 'uring' && uringSkipReason()) }, () => {
    it('are dropped by writes, truncation and chown as on a local filesystem', async () => {
      await withDaemon({ transport, opt: 'allowOther' }, async (d) => {
        const p = (n: string) => join(d.mnt, n);
        const file = async (name: string, mode: number) => {
          await writeFile(p(name), 'data\n');
          await chmod(p(name), mode);
        };
        await file('append', 0o6777);
        await file('truncate', 0o6777);
        await file('otrunc', 0o4777);
        await file('nogx', 0o6767); // set-gid without group execute is not a privilege: it stays
        await file('chown', 0o6755);
        await file('rootwrite', 0o4755);

        await asNobody('echo more >> "$1"', p('append'));
        assert.equal(await modeOf(p('append')), '777', 'a write by nobody drops set-uid and set-gid');
        await asNobody('truncate -s 1 "$1"', p('truncate'));
        assert.equal(await modeOf(p('truncate')), '777', 'truncate(2) by nobody drops them');
        await asNobody(': > "$1"', p('otrunc'));
        assert.equal(await modeOf(p('otrunc')), '777', 'an O_TRUNC open by nobody drops them');
        await asNobody('echo more >> "$1"', p('nogx'));
        assert.equal(await modeOf(p('nogx')), '2767', 'set-gid without group execute stays');
        await chown(p('chown'), 1, 1);
        assert.equal(await modeOf(p('chown')), '755', 'chown drops both, even by root');
        await writeFile(p('rootwrite'), 'root\n', { flag: 'a' });
        assert.equal(await modeOf(p('rootwrite')), '4755', 'root (CAP_FSETID) keeps set-uid on write');

        for (const [name, change] of [
          ['cap-write', () => writeFile(p('cap-write'), 'x', { flag: 'a' })],
          ['cap-truncate', () => mustRun('truncate', ['-s', '0', p('cap-truncate')])],
          ['cap-chown', () => chown(p('cap-chown'), 2, 2)],
        ] as const) {
          await file(name, 0o755);
          await setCap(p(name));
          assert.ok(await hasCap(p(name)), `${name}: the capability is set`);
          await change();
          assert.equal(await hasCap(p(name)), false, `${name}: root's change dropped security.capability`);
        }
        await file('cap-read', 0o755);
        await setCap(p('cap-read'));
        await mustRun('cat', [p('cap-read')]);
        await chmod(p('cap-read'), 0o750);
        assert.ok(await hasCap(p('cap-read')), 'reading and chmod leave it');
      });
    });
  });
}
