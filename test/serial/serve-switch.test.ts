// In test/serial: it pins callers and a busy loop to CPUs, which other tests would disturb.
// Serving 'auto' (queueThreads: 'auto', the default): the loop's thread serves the ring while one
// caller at a time sends requests; while callers on two CPUs do, it keeps its own CPU's queue and
// the queue threads serve the other; it serves all again when the threads' hand-offs wait behind
// a busy task. Checked through a real mount:
// both switches happen and the loop's thread follows the lone caller again afterwards; data read
// and written while the entries change hands stays whole (fio's checksums, cmp); behind a busy task
// the threads do not keep serving (they would at a tenth of the rate); the other settings never switch.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { withDaemon } from '../helpers/daemon.js';
import { mustRun, statMissingFrom } from '../helpers/run.js';
import { queueThreads, uringSkipReason } from '../helpers/proc.js';

const STATS = 3000;
const T = { timeout: 150_000 };
const AUTO = { transport: 'uring' as const, opt: 'queue_threads=auto' };
const skip = uringSkipReason() || (availableParallelism() !== 2 ? 'written for 2 CPUs' : false) ||
  (existsSync('/usr/bin/taskset') ? false : 'no taskset (util-linux)');
const noFio = existsSync('/usr/bin/fio') ? false : 'no fio (apt-get install -y fio)';

const both = (mnt: string, tag: string, n = 2 * STATS) => Promise.all([statMissingFrom(mnt, 0, `${tag}a`, n), statMissingFrom(mnt, 1, `${tag}b`, n)]);

describe("serving 'auto': the loop's thread or the queue threads, as the callers come", { skip }, () => {
  it('two callers at once hand the entries to the queue threads, a lone caller takes them back', T, () => withDaemon(AUTO, async (d) => {
    assert.equal((await queueThreads(d.pid)).size, d.info.queues, 'the threads exist from the start');
    const a = await d.stats();
    assert.equal(a.threaded, 0, 'the loop\'s thread serves at first');
    let done = false;
    const two = both(d.mnt, 'two', 10 * STATS).finally(() => { done = true; });
    let kept: number | undefined; // the CPU whose queue the loop's thread serves itself meanwhile
    while (!done && kept === undefined) {
      const s = await d.stats();
      if (s.threaded === 1) kept = s.following;
      else await new Promise((r) => setTimeout(r, 10));
    }
    await two;
    const b = await d.stats();
    assert.ok(b.toThreads - a.toThreads >= 1, `switches to the threads while two callers ran: ${b.toThreads - a.toThreads}`);
    if (process.geteuid?.() === 0) assert.ok(kept === 0 || kept === 1, `the loop's thread keeps a CPU's queue (${kept})`);
    await statMissingFrom(d.mnt, 1, 'one', STATS);
    const c = await d.stats();
    assert.equal(c.threaded, 0, `the threads still serve after a lone caller (to the loop: ${c.toLoop - a.toLoop})`);
    assert.ok(c.toLoop - a.toLoop >= 1);
    if (process.geteuid?.() === 0) assert.equal(c.following, 1, 'the loop\'s thread follows the lone caller again');
  }));

  it('data written and read while the entries change hands stays whole', { ...T, skip: noFio }, () => withDaemon(AUTO, async (d) => {
    const a = await d.stats();
    // two verifying writers on two CPUs (each its own file), then one, twice over
    for (let round = 0; round < 2; round++) {
      for (const jobs of [2, 1]) {
        await mustRun('fio', [`--name=v${round}${jobs}`, `--directory=${d.mnt}`, '--size=8M', '--rw=randwrite', '--bs=4k', '--direct=1',
          '--ioengine=psync', '--verify=crc32c', '--do_verify=1', '--verify_fatal=1', '--verify_state_save=0', `--numjobs=${jobs}`, '--cpus_allowed=0,1',
          '--cpus_allowed_policy=split', '--output-format=terse'], { timeout: 90_000 });
      }
    }
    const b = await d.stats();
    assert.ok(b.toThreads - a.toThreads >= 1 && b.toLoop - a.toLoop >= 1,
      `the entries changed hands (to the threads ${b.toThreads - a.toThreads}, back ${b.toLoop - a.toLoop})`);
    await mustRun('dd', ['if=/dev/urandom', `of=${d.mnt}/blob`, 'bs=64k', 'count=64', 'status=none']);
    await Promise.all([mustRun('taskset', ['-c', '0', 'cp', `${d.mnt}/blob`, `${d.mnt}/c0`]), mustRun('taskset', ['-c', '1', 'cp', `${d.mnt}/blob`, `${d.mnt}/c1`])]);
    await mustRun('cmp', [`${d.mnt}/blob`, `${d.mnt}/c0`]);
    await mustRun('cmp', [`${d.mnt}/blob`, `${d.mnt}/c1`]);
  }));

  // Measured: 2 fio jobs behind an unpinned busy loop ran 9.1k 4 KiB reads/s with queue threads
  // alone, 116k with 'auto'.
  it('behind a busy task the threads do not keep serving', { ...T, skip: noFio }, () => withDaemon(AUTO, async (d) => {
    await mustRun('dd', ['if=/dev/zero', `of=${d.mnt}/f`, 'bs=1M', 'count=32', 'status=none']);
    const hog = spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' });
    try {
      const a = await d.stats();
      const out = await mustRun('fio', ['--name=busy', `--filename=${d.mnt}/f`, '--size=32M', '--rw=randread', '--bs=4k', '--direct=1',
        '--ioengine=psync', '--numjobs=2', '--time_based', '--runtime=3', '--group_reporting', '--output-format=json'], { timeout: 60_000 });
      const b = await d.stats();
      const iops = (JSON.parse(out) as { jobs: Array<{ read: { iops: number } }> }).jobs[0]!.read.iops;
      const why = `${Math.round(iops)} reads/s; ${b.toThreads - a.toThreads} switches to the threads, ${b.switchStarved - a.switchStarved} back for waiting`;
      console.log(`# behind a busy task: ${why}`);
      assert.ok(iops > 30_000, why);
    } finally {
      hog.kill('SIGKILL');
    }
  }));

  for (const opt of ['queue_threads', 'no_queue_threads']) {
    it(`-o ${opt} never switches`, T, () => withDaemon({ transport: 'uring', opt }, async (d) => {
      await both(d.mnt, 'fixed', STATS);
      await statMissingFrom(d.mnt, 1, 'fixed1', STATS);
      const s = await d.stats();
      assert.equal(s.toThreads + s.toLoop, 0);
      assert.equal(s.threaded, opt === 'queue_threads' ? 1 : 0);
      assert.equal((await queueThreads(d.pid)).size, opt === 'queue_threads' ? d.info.queues : 0);
    }));
  }
});
