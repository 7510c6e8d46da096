// In test/serial: it measures where the daemon waits, which other tests on the two CPUs would disturb.
// The CQ watch (pollSpinMicros) through a real mount: it is for a caller on another CPU, whose next
// request arrives while the daemon would otherwise be asleep. A caller on the daemon's own CPU
// cannot send one while the daemon watches (it needs that CPU), so requests queued from the
// daemon's CPU (qid = the caller's CPU) turn the watch off for a while: localRequests counts them,
// and the watch must then stay (nearly) idle. io_uring only: the /dev/fuse transport has no CQ.
// This is the model where the loop's thread serves the ring itself (queueThreads: false, the
// default), without following a caller (follow.test.ts); the queue threads' own watches are
// tested in queue-threads.test.ts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import { withDaemon } from '../helpers/daemon.js';
import { mustRun, statMissingFrom } from '../helpers/run.js';
import { uringSkipReason } from '../helpers/proc.js';

const STATS = 1500;
const skip = uringSkipReason() || (availableParallelism() < 2 ? 'needs 2 CPUs' : false) ||
  (existsSync('/usr/bin/taskset') ? false : 'no taskset (util-linux)');

const statMissing = (mnt: string, cpu: number, tag: string, count = STATS): Promise<void> => statMissingFrom(mnt, cpu, tag, count);

describe('CQ watch placement (io_uring)', { skip }, () => {
  it('watches for a caller on another CPU and not for one on the daemon\'s own CPU', { timeout: 120_000 }, async () => {
    await withDaemon({ transport: 'uring', opt: 'no_queue_threads,no_follow_caller' }, async (d) => {
      // all of the daemon's threads on CPU 0, so "our CPU" is known
      await mustRun('taskset', ['-a', '-p', '-c', '0', String(d.pid)]);
      await statMissing(d.mnt, 0, 'warm');

      const a = await d.stats();
      await statMissing(d.mnt, 0, 'local');
      const b = await d.stats();
      const localReqs = b.cqes - a.cqes;
      assert.ok(localReqs >= STATS, `every stat reached the daemon (${localReqs} CQEs)`);
      assert.ok(b.localRequests - a.localRequests >= 0.9 * STATS,
        `requests from CPU 0 are seen as local: ${b.localRequests - a.localRequests} of ${localReqs}`);
      assert.ok(b.spins - a.spins <= 0.1 * localReqs,
        `no CQ watch for a caller on the daemon's CPU: ${b.spins - a.spins} watches for ${localReqs} requests`);

      await statMissing(d.mnt, 1, 'remote');
      const c = await d.stats();
      const remoteReqs = c.cqes - b.cqes;
      assert.ok(c.localRequests - b.localRequests <= 0.1 * remoteReqs,
        `requests from CPU 1 are not local: ${c.localRequests - b.localRequests} of ${remoteReqs}`);
      assert.ok(c.spinHits - b.spinHits >= 0.3 * remoteReqs,
        `the CQ watch catches a caller on the other CPU: ${c.spinHits - b.spinHits} hits for ${remoteReqs} requests`);
      // (the request count is the same; with the watch the remote caller is served without an epoll wake-up)
      assert.ok(c.wakeups - b.wakeups < remoteReqs / 2, `wake-ups ${c.wakeups - b.wakeups} for ${remoteReqs} requests`);
    });
  });

  it('serves a steady caller past the 1 ms slice, and the loop still answers signals meanwhile', { timeout: 120_000 }, async () => {
    await withDaemon({ transport: 'uring', opt: 'no_queue_threads,no_follow_caller' }, async (d) => {
      await mustRun('taskset', ['-a', '-p', '-c', '0', String(d.pid)]);
      const a = await d.stats();
      let streaming = true;
      const client = statMissing(d.mnt, 1, 'steady', 30 * STATS).finally(() => { streaming = false; });
      // each stats() is a SIGUSR2 that the daemon's loop must see while the ring keeps it busy
      let worst = 0, asked = 0;
      while (streaming) {
        const t = performance.now();
        await d.stats();
        worst = Math.max(worst, performance.now() - t);
        asked++;
        await new Promise((r) => setTimeout(r, 20));
      }
      await client;
      const b = await d.stats();
      assert.ok(asked >= 2, `stats asked ${asked} times during the stream`);
      assert.ok(worst < 100, `a signal waited ${worst.toFixed(0)} ms for the loop`);
      assert.ok(b.slices - a.slices >= 1, `served past the slice ${b.slices - a.slices} times for ${b.cqes - a.cqes} requests`);
    });
  });
});
