// In test/serial: it pins callers to CPUs and counts context switches, which other tests would disturb.
// Queue threads (queueThreads: true): one native thread per queue, pinned to the queue's CPU,
// owns that queue's io_uring and hands the requests to the loop's thread. Checked through a real
// mount: the threads exist and are pinned, a caller is served by the thread of its own CPU, the
// loop's thread does not stay on a lone caller's CPU (but keeps an affinity the user gave it), a
// thread leaves its CPU while its caller keeps many requests in flight and comes back, and an
// unmount ends the threads in a process that lives on.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import { withDaemon } from '../helpers/daemon.js';
import { inMountingProcess, mustRun, statMissingFrom } from '../helpers/run.js';
import { queueThreads, tasks, uringFds, uringSkipReason } from '../helpers/proc.js';

const STATS = 1500;
const T = { timeout: 120_000 };
const skip = uringSkipReason() || (availableParallelism() < 2 ? 'needs 2 CPUs' : false) ||
  (existsSync('/usr/bin/taskset') ? false : 'no taskset (util-linux)');

const statMissing = (mnt: string, cpu: number, tag: string, count = STATS): Promise<void> => statMissingFrom(mnt, cpu, tag, count);

describe('queue threads (io_uring)', { skip }, () => {
  it('one thread per queue, named after it and pinned to its CPU, each with its own ring', T, () => withDaemon({ transport: 'uring', opt: 'queue_threads' }, async (d) => {
    const threads = await queueThreads(d.pid);
    assert.equal(threads.size, d.info.queues, `threads: ${[...threads.values()].map((t) => t.comm).join(', ')}`);
    for (const [qid, t] of threads) assert.equal(t.cpus, String(qid), `queue ${qid}'s thread may run on CPUs ${t.cpus}`);
    assert.equal((await uringFds(d.pid)).length, d.info.queues, 'one io_uring per queue');
    const s = await d.stats();
    assert.equal(s.queueThreads, d.info.queues);
  }));

  it('a caller is served by the queue thread of its own CPU', T, () => withDaemon({ transport: 'uring', opt: 'queue_threads' }, async (d) => {
    for (const cpu of [0, 1]) {
      const before = await queueThreads(d.pid);
      await statMissing(d.mnt, cpu, `cpu${cpu}-`);
      const after = await queueThreads(d.pid);
      const grew = (q: number): number => after.get(q)!.switches - before.get(q)!.switches;
      // each request wakes the thread that sleeps in io_uring_enter at least once
      assert.ok(grew(cpu) >= STATS * 0.9, `queue ${cpu}'s thread switched ${grew(cpu)} times for ${STATS} requests from CPU ${cpu}`);
      assert.ok(grew(1 - cpu) < STATS * 0.1, `queue ${1 - cpu}'s thread switched ${grew(1 - cpu)} times for requests from CPU ${cpu}`);
    }
  }));

  it('the loop\'s thread steps off a lone caller\'s CPU, and keeps an affinity the user set', T, () => withDaemon({ transport: 'uring', opt: 'queue_threads' }, async (d) => {
    // put the loop's thread (tid = pid) on CPU 0, then let it run anywhere again: it stays there for now
    await mustRun('taskset', ['-p', '-c', '0', String(d.pid)]);
    await mustRun('taskset', ['-p', '-c', '0,1', String(d.pid)]);
    await statMissing(d.mnt, 0, 'warm');
    const a = await d.stats();
    await statMissing(d.mnt, 0, 'lone', 3 * STATS);
    const b = await d.stats();
    const reqs = b.cqes - a.cqes;
    const local = b.localRequests - a.localRequests;
    assert.ok(reqs >= 3 * STATS, `every stat reached the daemon (${reqs})`);
    assert.ok(local < reqs / 2, `requests from the loop thread's own CPU: ${local} of ${reqs} (step-asides ${b.stepAsides - a.stepAsides})`);
    const main = (await tasks(d.pid)).find((t) => t.tid === d.pid)!;
    assert.equal(main.cpus, '0-1', 'stepping aside leaves the affinity as it was');

    // pinned by the user: nowhere to step to, and the pin stays
    await mustRun('taskset', ['-p', '-c', '0', String(d.pid)]);
    const c = await d.stats();
    await statMissing(d.mnt, 0, 'pinned');
    const e = await d.stats();
    assert.equal(e.stepAsides - c.stepAsides, 0, 'no step-aside from a pinned thread');
    assert.equal((await tasks(d.pid)).find((t) => t.tid === d.pid)!.cpus, '0');
  }));

  it('a queue thread whose caller keeps many requests in flight leaves its CPU, and comes back for one at a time',
    { ...T, skip: existsSync('/usr/bin/fio') ? false : 'no fio (apt-get install -y fio)' },
    () => withDaemon({ transport: 'uring', opt: 'queue_threads' }, async (d) => {
      await mustRun('dd', ['if=/dev/zero', `of=${d.mnt}/aio`, 'bs=1M', 'count=64', 'status=none']);
      const a = await d.stats();
      await mustRun('fio', ['--name=deep', `--filename=${d.mnt}/aio`, '--size=64M', '--rw=randread', '--bs=4k', '--direct=1',
        '--ioengine=libaio', '--iodepth=16', '--cpus_allowed=0', '--time_based', '--runtime=2', '--output-format=terse'], { timeout: 60_000 });
      const b = await d.stats();
      assert.ok(b.queueWidenings - a.queueWidenings >= 1, `widenings under iodepth 16: ${b.queueWidenings - a.queueWidenings}`);
      await statMissing(d.mnt, 0, 'shallow');
      assert.equal((await queueThreads(d.pid)).get(0)!.cpus, '0', 'back on its CPU after requests one at a time');
    }));

  it('the loop\'s thread serving the ring itself (queueThreads: false): no queue threads, one ring, data both ways', T,
    () => withDaemon({ transport: 'uring', opt: 'no_queue_threads' }, async (d) => {
      assert.equal((await queueThreads(d.pid)).size, 0);
      assert.equal((await uringFds(d.pid)).length, 1);
      await statMissing(d.mnt, 1, 'single');
      // data both ways through the one ring: dd in, cmp and sha256sum back
      await mustRun('dd', ['if=/dev/urandom', `of=${d.mnt}/blob`, 'bs=256k', 'count=16', 'status=none']);
      await mustRun('cp', [`${d.mnt}/blob`, `${d.mnt}/copy`]);
      await mustRun('cmp', [`${d.mnt}/blob`, `${d.mnt}/copy`]);
      const sums = (await mustRun('sha256sum', [`${d.mnt}/blob`, `${d.mnt}/copy`])).split('\n').filter(Boolean).map((l) => l.split(' ')[0]);
      assert.equal(sums[0], sums[1]);
      assert.deepEqual((await mustRun('ls', [d.mnt])).split('\n').filter(Boolean).sort(), ['blob', 'copy']);
      const s = await d.stats();
      assert.equal(s.queueThreads, 0);
      assert.ok(s.cqes > 0 && s.enters > 0, `the loop's thread serves the ring itself: ${s.cqes} CQEs, ${s.enters} enters`);
    }));

  it('an unmount ends the queue threads of a process that lives on', T, async () => {
    const out = await inMountingProcess<{ during: number; after: number }>('qt', `
      const { readdirSync, readFileSync } = await import('node:fs');
      const { execFile } = await import('node:child_process');
      const names = () => readdirSync('/proc/self/task').map((t) => { try { return readFileSync('/proc/self/task/' + t + '/comm', 'utf8').trim(); } catch { return ''; } }).filter((n) => n.startsWith('fuse-uring q'));
      const s = await mount(process.argv[1], new MemFs(), { queueThreads: true });
      const during = names().length;
      await new Promise((ok, fail) => execFile('stat', [process.argv[1]], (e) => (e ? fail(e) : ok())));
      await s.unmount();
      await new Promise((r) => setTimeout(r, 100));
      console.log(JSON.stringify({ during, after: names().length }));
    `);
    assert.ok(out.during >= 2, `queue threads while mounted: ${out.during}`);
    assert.equal(out.after, 0, 'queue threads after the unmount');
  });
});
