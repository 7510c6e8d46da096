// session.notify through real mounts, over both transports: the fixture (test/fixtures/notify-fs.ts,
// a child process) caches everything for an hour and changes content behind the kernel's back;
// the test process is the client and sees the change only once the fixture notifies the kernel.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import { possibleCpus, uringSkipReason } from '../helpers/proc.js';
import { runCmd } from '../helpers/run.js';
import { expectErrno, withTempDir } from '../helpers/files.js';
import { Notifier } from '../../src/notify.js';
import { Init } from '../../src/abi/flags.js';
import { FuseError } from '../../src/errors.js';
import { ControlError, startFixture, withFixture, type Fixture, type Transport } from '../fixtures/harness.js';

const T = { timeout: 120_000 };
const ENOENT = constants.errno.ENOENT;
const ENOTCONN = constants.errno.ENOTCONN;

interface Counts { lookup: Record<string, number>; getattr: Record<string, number>; read: Record<string, number>;
  open: Record<string, number>; poll: Record<string, number>; forget: Record<string, number>; pending: number }
interface Stats { cqes: number; devReads: number; sqes: number }
interface Caps { minor: number; canIncEpoch: boolean; canPrune: boolean; canExpireOnly: boolean; hasPollRow: boolean }

const put = (f: Fixture, name: string, data: string | Buffer, touch = false) =>
  f.call<{ nodeid: number; size: number }>('put', typeof data === 'string' ? { name, data, touch } : { name, b64: data.toString('base64'), touch });
const notify = (f: Fixture, op: string, ...args: unknown[]) => f.call<{ result: unknown; ms: number }>('notify', { op, args });
const counts = (f: Fixture) => f.call<Counts>('counts');

async function expectNotifyErrno(p: Promise<unknown>, errno: number, re: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ControlError, String(e));
    assert.equal(e.errno, errno, e.message);
    assert.equal(e.info.name, 'FuseError', e.message);
    assert.match(e.message, re);
    return;
  }
  assert.fail(`expected errno ${errno}, but the notification was accepted`);
}

for (const transport of ['uring', 'dev'] as const satisfies readonly Transport[]) {
  const skip = transport === 'uring' ? uringSkipReason() : false;

  describe(`session.notify over ${transport}`, { skip }, () => {
    it('invalInode: a reader sees content changed behind the cache; offset < 0 refreshes attributes only', T, () =>
      withFixture('notify-fs.js', transport, [], async (f) => {
        assert.equal(f.ready.transport, transport);
        const { nodeid } = await put(f, 'f', 'version-1:AAAA');
        const path = join(f.mnt, 'f');
        assert.equal(await readFile(path, 'utf8'), 'version-1:AAAA');
        assert.equal((await counts(f)).read.f, 1);
        // Same length, same mtime: nothing tells the kernel.
        await put(f, 'f', 'version-2:BBBB');
        assert.equal(await readFile(path, 'utf8'), 'version-1:AAAA', 'the kernel serves its cached pages');
        assert.equal((await counts(f)).read.f, 1, 'no READ reached the daemon while cached');
        await notify(f, 'invalInode', nodeid, 0, 0);
        assert.equal(await readFile(path, 'utf8'), 'version-2:BBBB', 'after invalInode the new content is read');
        assert.equal((await counts(f)).read.f, 2);

        // Attributes only: the size the kernel reports changes, only after the notification. (A
        // read invalidates the cached atime, so stat once first to have every attribute cached.)
        await stat(path);
        await put(f, 'f', 'version-3:a longer content', true);
        assert.equal((await stat(path)).size, 14, 'cached size');
        const getattrs = (await counts(f)).getattr.f ?? 0;
        await notify(f, 'invalInode', nodeid, -1);
        assert.equal((await stat(path)).size, 26, 'size after invalInode(offset -1)');
        assert.ok(((await counts(f)).getattr.f ?? 0) > getattrs, 'the kernel asked for the attributes again');

        await expectNotifyErrno(notify(f, 'invalInode', 987654), ENOENT, /invalInode\(\): ENOENT: the kernel does not know inode 987654/);
      }));

    it('a notification sent from inside a handler whose reply it waits for does not deadlock the daemon', T, () =>
      withFixture('notify-fs.js', transport, [], async (f) => {
        await put(f, 'self', 'served while invalidated');
        await f.call('armInvalOnRead', { name: 'self' });
        // The READ handler notifies invalInode on the pages the kernel holds locked for this very
        // READ: a synchronous write would block the event loop before the reply could be sent.
        assert.equal(await readFile(join(f.mnt, 'self'), 'utf8'), 'served while invalidated');
        const ev = await f.waitEvent('the in-handler notification to complete', (e) => e.event === 'inval-in-read', 10_000);
        assert.equal(ev.ok, true, JSON.stringify(ev));
        assert.equal(await readFile(join(f.mnt, 'self'), 'utf8'), 'served while invalidated', 'the daemon still serves');
      }));

    it('invalEntry: a rename behind the kernel\'s back becomes visible (old name gone, new name there)', T, () =>
      withFixture('notify-fs.js', transport, [], async (f) => {
        await put(f, 'old-a', 'a');
        const oldP = join(f.mnt, 'old-a');
        const newP = join(f.mnt, 'new-a');
        await stat(oldP);
        await expectErrno(stat(newP), 'ENOENT', 'new-a before the rename');
        await f.call('rename', { from: 'old-a', to: 'new-a' });
        const before = (await counts(f)).lookup;
        await stat(oldP);
        await expectErrno(stat(newP), 'ENOENT', 'new-a: the negative entry is cached');
        assert.deepEqual((await counts(f)).lookup, before, 'both answers came from the dcache');
        await notify(f, 'invalEntry', 1, 'old-a');
        await notify(f, 'invalEntry', 1, 'new-a');
        await expectErrno(stat(oldP), 'ENOENT', 'old-a after invalEntry');
        assert.equal((await stat(newP)).size, 1, 'new-a after invalEntry');
        // A name the kernel holds no dentry for.
        await expectNotifyErrno(notify(f, 'invalEntry', 1, 'never-looked-up'), ENOENT, /no cached entry "never-looked-up" in 1/);
      }));

    it('invalEntry({ expireOnly }): the dentries are only expired, and looked up again on the next access', T, () =>
      withFixture('notify-fs.js', transport, [], async (f) => {
        const caps = await f.call<Caps>('caps');
        if (!caps.canExpireOnly) {
          await expectNotifyErrno(notify(f, 'invalEntry', 1, 'x', { expireOnly: true }), constants.errno.ENOSYS, /HAS_EXPIRE_ONLY/);
          return;
        }
        await put(f, 'old-b', 'bb');
        await stat(join(f.mnt, 'old-b'));
        await expectErrno(stat(join(f.mnt, 'new-b')), 'ENOENT');
        await f.call('rename', { from: 'old-b', to: 'new-b' });
        await stat(join(f.mnt, 'old-b'));
        const before = (await counts(f)).lookup;
        await notify(f, 'invalEntry', 1, 'old-b', { expireOnly: true });
        await notify(f, 'invalEntry', 1, 'new-b', { expireOnly: true });
        await expectErrno(stat(join(f.mnt, 'old-b')), 'ENOENT', 'old-b after expiry');
        assert.equal((await stat(join(f.mnt, 'new-b'))).size, 2);
        const after = (await counts(f)).lookup;
        assert.ok((after['old-b'] ?? 0) > (before['old-b'] ?? 0) && (after['new-b'] ?? 0) > (before['new-b'] ?? 0),
          `both names were looked up again: ${JSON.stringify({ before, after })}`);
      }));

    it('delete: the name disappears, an open file is left unlinked; a wrong child is refused with ENOENT', T, () =>
      withFixture('notify-fs.js', transport, [], async (f) => {
        const { nodeid } = await put(f, 'doomed', 'bye');
        const path = join(f.mnt, 'doomed');
        const fh = await open(path, 'r');
        try {
          assert.equal((await fh.stat()).nlink, 1);
          await f.call('remove', { name: 'doomed' });
          await stat(path); // still cached
          await notify(f, 'delete', 1, nodeid, 'doomed');
          await expectErrno(stat(path), 'ENOENT', 'doomed after delete');
          assert.equal((await fh.stat()).nlink, 0, 'the open file is unlinked');
          assert.equal((await fh.readFile('utf8')), 'bye', 'and still readable');
        } finally {
          await fh.close();
        }
        const keep = await put(f, 'keep', 'k');
        await stat(join(f.mnt, 'keep'));
        await expectNotifyErrno(notify(f, 'delete', 1, keep.nodeid + 1000, 'keep'), ENOENT, /delete\(\): ENOENT/);
        await stat(join(f.mnt, 'keep'));
      }));

    it('store puts data into the page cache (no READ reaches the daemon); retrieve reads the cache back', T, () =>
      withFixture('notify-fs.js', transport, [], async (f) => {
        const size = 6000; // two pages, the second partial: the store covers the whole file
        const { nodeid } = await put(f, 'cached', Buffer.alloc(size, 'd'));
        const path = join(f.mnt, 'cached');
        assert.equal((await stat(path)).size, size);
        const stored = randomBytes(size);
        await notify(f, 'store', nodeid, 0, stored.toString('base64'));
        assert.deepEqual(await readFile(path), stored, 'the reader gets the stored bytes');
        assert.equal((await counts(f)).read.cached ?? 0, 0, 'without any READ');

        const all = await notify(f, 'retrieve', nodeid, 0, size);
        assert.deepEqual(Buffer.from(all.result as string, 'base64'), stored, 'retrieve returns the stored bytes');
        const part = await notify(f, 'retrieve', nodeid, 100, 50);
        assert.deepEqual(Buffer.from(part.result as string, 'base64'), stored.subarray(100, 150));
        // Past the end: the kernel caps at the file size.
        const tail = await notify(f, 'retrieve', nodeid, size - 10, 4096);
        assert.deepEqual(Buffer.from(tail.result as string, 'base64'), stored.subarray(size - 10));

        // Pages the client's own read brought in.
        const plain = await put(f, 'plain', 'read by the client');
        assert.equal(await readFile(join(f.mnt, 'plain'), 'utf8'), 'read by the client');
        const got = await notify(f, 'retrieve', plain.nodeid, 0, 4096);
        assert.equal(Buffer.from(got.result as string, 'base64').toString(), 'read by the client');

        await expectNotifyErrno(notify(f, 'retrieve', 987654, 0, 10), ENOENT, /retrieve\(\): ENOENT/);
        await expectNotifyErrno(notify(f, 'store', 987654, 0, 'eA=='), ENOENT, /store\(\): ENOENT/);
        assert.equal((await counts(f)).pending, 0);
      }));

    it('NOTIFY_REPLY gives its slot back: with one slot per queue, 20 retrieves leave every queue serving', T, () =>
      withFixture('notify-fs.js', transport, ['--queue-depth', '1'], async (f) => {
        const { nodeid } = await put(f, 'r', 'retrieved');
        const path = join(f.mnt, 'r');
        assert.equal(await readFile(path, 'utf8'), 'retrieved');
        const before = await f.call<Stats>('stats');
        for (let i = 0; i < 20; i++) {
          const got = await notify(f, 'retrieve', nodeid, 0, 100);
          assert.equal(Buffer.from(got.result as string, 'base64').toString(), 'retrieved');
        }
        const after = await f.call<Stats>('stats');
        if (transport === 'uring') {
          // Over the ring: the replies arrived in ring entries (CQEs), none through /dev/fuse.
          assert.ok(after.cqes - before.cqes >= 20, `20 NOTIFY_REPLYs arrived over the ring: ${JSON.stringify({ before, after })}`);
          assert.equal(after.devReads, before.devReads, 'nothing came through /dev/fuse');
        } else {
          assert.ok(after.devReads - before.devReads >= 20, `20 NOTIFY_REPLYs read from /dev/fuse: ${JSON.stringify({ before, after })}`);
        }
        // Every queue (one per CPU) still has its one entry: a request from each CPU is served.
        for (let cpu = 0; cpu < possibleCpus(); cpu++) {
          const r = await runCmd('taskset', ['-c', String(cpu), 'cat', path], { timeout: 10_000 });
          assert.equal(r.code, 0, r.stderr);
          assert.equal(r.stdout, 'retrieved');
        }
      }));

    it('pollWakeup wakes a client blocked in poll(2) on the file', T, async (t) => {
      await withFixture('notify-fs.js', transport, [], async (f) => {
        const caps = await f.call<Caps>('caps');
        if (!caps.hasPollRow) {
          t.skip('the opcode table has no POLL row yet (src/abi/ops/io.ts): the kernel would get ENOSYS and never ask for a wakeup');
          return;
        }
        await put(f, 'pollable', 'p');
        const script = [
          'import json, os, select, sys, time',
          'fd = os.open(sys.argv[1], os.O_RDONLY)',
          'p = select.poll(); p.register(fd, select.POLLIN)',
          't = time.monotonic()',
          'ev = p.poll(int(sys.argv[2]))',
          'print(json.dumps({"events": ev, "elapsed": time.monotonic() - t}), flush=True)',
        ].join('\n');
        const client = spawn('python3', ['-c', script, join(f.mnt, 'pollable'), '30000'], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        client.stdout.setEncoding('utf8').on('data', (s: string) => { out += s; });
        client.stderr.setEncoding('utf8').on('data', (s: string) => { err += s; });
        const exited = new Promise<number | null>((resolve) => client.on('exit', (code) => resolve(code)));
        try {
          const ev = await f.waitEvent('a poll with a kernel handle', (e) => e.event === 'poll' && e.kh !== null && e.name === 'pollable');
          await new Promise((r) => setTimeout(r, 300));
          assert.equal(out, '', `the client is still waiting (not ready yet); stderr ${err}`);
          await f.call('setReady', { name: 'pollable' });
          const t0 = Date.now();
          await notify(f, 'pollWakeup', ev.kh);
          const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 10_000))]);
          assert.notEqual(code, 'timeout', `the client did not wake within 10 s; stderr ${err}`);
          assert.equal(code, 0, err);
          const res = JSON.parse(out) as { events: [number, number][]; elapsed: number };
          assert.equal(res.events.length, 1, out);
          assert.ok((res.events[0]![1] & 1) !== 0, `POLLIN reported: ${out}`);
          assert.ok(Date.now() - t0 < 10_000);
          assert.ok(res.elapsed < 25, `woken by the notification, not by the 30 s timeout: ${out}`);
        } finally {
          if (client.exitCode === null && client.signalCode === null) client.kill('SIGKILL');
          await exited;
        }
      });
    });

    it('incEpoch invalidates every cached dentry at once (7.44)', T, async (t) => {
      await withFixture('notify-fs.js', transport, [], async (f) => {
        const caps = await f.call<Caps>('caps');
        if (!caps.canIncEpoch) {
          await expectNotifyErrno(notify(f, 'incEpoch'), constants.errno.ENOSYS, /7\.44/);
          t.skip(`the connection speaks 7.${caps.minor}: incEpoch is refused with ENOSYS (checked)`);
          return;
        }
        await put(f, 'ep-old', 'e');
        await stat(join(f.mnt, 'ep-old'));
        await expectErrno(stat(join(f.mnt, 'ep-new')), 'ENOENT');
        await f.call('rename', { from: 'ep-old', to: 'ep-new' });
        await stat(join(f.mnt, 'ep-old'));
        await notify(f, 'incEpoch');
        await expectErrno(stat(join(f.mnt, 'ep-old')), 'ENOENT', 'ep-old after incEpoch');
        assert.equal((await stat(join(f.mnt, 'ep-new'))).size, 1, 'ep-new after incEpoch');
      });
    });

    it('prune makes the kernel forget unused inodes (7.45)', T, async (t) => {
      await withFixture('notify-fs.js', transport, [], async (f) => {
        const caps = await f.call<Caps>('caps');
        if (!caps.canPrune) {
          await expectNotifyErrno(notify(f, 'prune', [2]), constants.errno.ENOSYS, /7\.45/);
          t.skip(`the connection speaks 7.${caps.minor}: prune is refused with ENOSYS (checked)`);
          return;
        }
        const a = await put(f, 'prune-a', 'a');
        const b = await put(f, 'prune-b', 'b');
        await stat(join(f.mnt, 'prune-a'));
        await stat(join(f.mnt, 'prune-b'));
        await notify(f, 'prune', [a.nodeid, b.nodeid]);
        await f.waitEvent('FORGET of prune-a', (e) => e.event === 'forget' && e.nodeid === a.nodeid, 10_000);
        await f.waitEvent('FORGET of prune-b', (e) => e.event === 'forget' && e.nodeid === b.nodeid, 10_000);
        // Still served: the next access looks the name up again.
        assert.equal(await readFile(join(f.mnt, 'prune-a'), 'utf8'), 'a');
      });
    });

    it('notifications are refused once the session has ended (ENOTCONN)', T, async () => {
      const f = await startFixture('notify-fs.js', transport);
      try {
        await put(f, 'x', 'x');
        await stat(join(f.mnt, 'x'));
      } finally {
        await f.stop();
      }
      const closed = f.events().find((e) => e.event === 'closed');
      assert.equal(closed?.ok, true, f.stderr());
      const after = closed!.afterEnd as { name: string; errno: number; message: string };
      assert.equal(after.name, 'FuseError');
      assert.equal(after.errno, ENOTCONN);
      assert.match(after.message, /session has ended/);
    });
  });
}

// The messages themselves, written to a plain file instead of /dev/fuse (no kernel involved):
// the header, each body layout, the states, and retrieve's life cycle.
describe('Notifier messages and states (a regular file as the fd)', () => {
  const isErr = (errno: number, re: RegExp) => (e: unknown) => e instanceof FuseError && e.errno === errno && re.test(e.message);

  it('refuses before ready(), writes each notification as documented, settles retrieve, refuses after end()', T, async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'dev');
      const fd = openSync(path, 'w+');
      try {
        const n = new Notifier(fd);
        await assert.rejects(n.invalInode(1), isErr(ENOTCONN, /not initialised/));
        n.ready({ minor: 45, offered: Init.HAS_EXPIRE_ONLY });
        await n.invalInode(5, -1);
        await n.invalEntry(1, 'n\u00e9v', { expireOnly: true });
        await n.delete(1, 7, 'gone');
        await n.store(3, 4096, Uint8Array.from([1, 2, 3]));
        await n.pollWakeup(9);
        await n.incEpoch();
        await n.prune([2, 2 ** 40]);
        const retrieved = n.retrieve(4, 8192, 100);
        const lost = n.retrieve(4, 0, 1);
        await new Promise((r) => setTimeout(r, 100)); // both RETRIEVEs written
        const bytes = readFileSync(path);
        const msgs: { code: number; body: Buffer }[] = [];
        for (let p = 0; p < bytes.length;) {
          const len = bytes.readUInt32LE(p);
          assert.equal(bytes.readBigUInt64LE(p + 8), 0n, 'unique 0');
          msgs.push({ code: bytes.readInt32LE(p + 4), body: bytes.subarray(p + 16, p + len) });
          p += len;
        }
        assert.deepEqual(msgs.map((m) => m.code), [2, 3, 6, 4, 1, 8, 9, 5, 5]);
        const [inode, entry, del, store, poll, epoch, prune] = msgs as [typeof msgs[0], typeof msgs[0], typeof msgs[0], typeof msgs[0], typeof msgs[0], typeof msgs[0], typeof msgs[0]];
        // The two RETRIEVEs are written concurrently through the thread pool, so either may land
        // first in the file: tell them apart by their size field.
        const ret = msgs.slice(7).find((m) => m.body.readUInt32LE(24) === 100)!;
        assert.ok(ret, 'the RETRIEVE of 100 bytes was written');
        assert.equal(inode.body.length, 24);
        assert.equal(inode.body.readBigUInt64LE(0), 5n);
        assert.equal(inode.body.readBigInt64LE(8), -1n);
        assert.equal(inode.body.readBigInt64LE(16), 0n);
        assert.equal(entry.body.readBigUInt64LE(0), 1n);
        assert.equal(entry.body.readUInt32LE(8), 4, 'namelen in bytes (UTF-8)');
        assert.equal(entry.body.readUInt32LE(12), 1, 'FUSE_EXPIRE_ONLY');
        assert.deepEqual(entry.body.subarray(16), Buffer.from('n\u00e9v\0'));
        assert.equal(del.body.readBigUInt64LE(0), 1n);
        assert.equal(del.body.readBigUInt64LE(8), 7n);
        assert.equal(del.body.readUInt32LE(16), 4);
        assert.deepEqual(del.body.subarray(24), Buffer.from('gone\0'));
        assert.equal(store.body.readBigUInt64LE(0), 3n);
        assert.equal(store.body.readBigUInt64LE(8), 4096n);
        assert.equal(store.body.readUInt32LE(16), 3);
        assert.deepEqual([...store.body.subarray(24)], [1, 2, 3]);
        assert.equal(poll.body.readBigUInt64LE(0), 9n);
        assert.equal(epoch.body.length, 0);
        assert.equal(prune.body.readUInt32LE(0), 2);
        assert.equal(prune.body.readBigUInt64LE(16), 2n);
        assert.equal(prune.body.readBigUInt64LE(24), 2n ** 40n);
        assert.equal(ret.body.length, 32);
        const unique = Number(ret.body.readBigUInt64LE(0));
        assert.equal(unique % 2, 0, 'notify_unique is even (odd ones mean interrupts)');
        assert.equal(ret.body.readBigUInt64LE(8), 4n);
        assert.equal(ret.body.readBigUInt64LE(16), 8192n);
        assert.equal(ret.body.readUInt32LE(24), 100);
        // NOTIFY_REPLY: the data view is copied before the request slot is reused.
        const view = Buffer.from('abc');
        n.onReply(unique, 8192, view);
        view.fill(0);
        assert.equal((await retrieved).toString(), 'abc');
        // The session ends: the retrieve still waiting rejects, later calls are refused.
        n.end();
        await assert.rejects(lost, isErr(ENOTCONN, /ended before the kernel answered/));
        await assert.rejects(n.pollWakeup(1), isErr(ENOTCONN, /session has ended/));
      } finally {
        closeSync(fd);
      }
    });
  });

  it('refuses what the kernel cannot do, and bad arguments, without writing anything', T, async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'dev');
      const fd = openSync(path, 'w+');
      try {
        const n = new Notifier(fd);
        n.ready({ minor: 43, offered: 0n });
        await assert.rejects(n.incEpoch(), isErr(constants.errno.ENOSYS, /7\.44.*7\.43/));
        await assert.rejects(n.prune([2]), isErr(constants.errno.ENOSYS, /7\.45/));
        await assert.rejects(n.invalEntry(1, 'x', { expireOnly: true }), isErr(constants.errno.ENOSYS, /HAS_EXPIRE_ONLY/));
        await assert.rejects(n.invalEntry(1, 'a/b'), TypeError);
        await assert.rejects(n.invalEntry(1, ''), TypeError);
        await assert.rejects(n.invalEntry(1, 'x'.repeat(1025)), isErr(constants.errno.ENAMETOOLONG, /1025 bytes/));
        await assert.rejects(n.invalInode(0), RangeError);
        await assert.rejects(n.retrieve(1, -1, 10), RangeError);
        await assert.rejects(n.store(1, 0, 'text' as unknown as Uint8Array), TypeError);
        assert.equal(readFileSync(path).length, 0);
      } finally {
        closeSync(fd);
      }
    });
  });
});
