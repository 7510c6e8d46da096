// In test/serial: it pins callers and a busy loop to CPUs, which other tests would disturb.
// Following a lone caller (followCaller, the default without queue threads): the loop's thread
// moves to the CPU of a caller that sends one request at a time and runs at SCHED_IDLE there, so
// that the caller is woken where it sleeps. Checked through a real mount: it follows a caller and
// the caller's move to another CPU, not two callers at once nor one with many requests in flight,
// it stops rather than starve behind a busy task, the option turns it off, and an unmount puts the
// thread's affinity and policy back in a process that lives on, where neither a child process nor
// a thread started meanwhile keeps SCHED_IDLE.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { withDaemon, type Daemon } from '../helpers/daemon.js';
import { inMountingProcess, mustRun, statMissingFrom } from '../helpers/run.js';
import { SCHED_IDLE, SCHED_OTHER, tasks, uringSkipReason, type TaskInfo } from '../helpers/proc.js';

const STATS = 3000;
const T = { timeout: 120_000 };
const skip = uringSkipReason() || (availableParallelism() !== 2 ? 'written for 2 CPUs' : false) ||
  (existsSync('/usr/bin/taskset') ? false : 'no taskset (util-linux)') ||
  (process.geteuid?.() === 0 ? false : 'leaving SCHED_IDLE needs CAP_SYS_NICE or RLIMIT_NICE: run as root');

const loopThread = async (d: Daemon): Promise<TaskInfo> => (await tasks(d.pid)).find((t) => t.tid === d.pid)!;

describe('following a lone caller (io_uring, loop-thread model)', { skip }, () => {
  it('moves to a lone caller\'s CPU at SCHED_IDLE, and after it to the other CPU', T, () => withDaemon({ transport: 'uring' }, async (d) => {
    const before = await loopThread(d);
    assert.equal(before.policy, SCHED_OTHER);
    for (const cpu of [1, 0]) {
      await statMissingFrom(d.mnt, cpu, `cpu${cpu}-`, STATS);
      const s = await d.stats();
      const t = await loopThread(d);
      assert.equal(s.following, cpu, `follows CPU ${s.following} after a caller on CPU ${cpu} (follows ${s.follows})`);
      assert.equal(t.cpus, String(cpu));
      assert.equal(t.policy, SCHED_IDLE);
    }
  }));

  it('two callers at once are not taken for one for long', T, () => withDaemon({ transport: 'uring' }, async (d) => {
    const a = await d.stats();
    await Promise.all([statMissingFrom(d.mnt, 0, 'a', 2 * STATS), statMissingFrom(d.mnt, 1, 'b', 2 * STATS)]);
    const b = await d.stats();
    // each mistaken following ends within 16 requests and doubles the wait before the next try
    assert.ok(b.follows - a.follows <= 12, `follows while two callers ran: ${b.follows - a.follows}`);
  }));

  it('a caller with many requests in flight is not followed', { ...T, skip: existsSync('/usr/bin/fio') ? false : 'no fio (apt-get install -y fio)' },
    () => withDaemon({ transport: 'uring' }, async (d) => {
      await mustRun('dd', ['if=/dev/zero', `of=${d.mnt}/aio`, 'bs=1M', 'count=64', 'status=none']);
      await mustRun('fio', ['--name=deep', `--filename=${d.mnt}/aio`, '--size=64M', '--rw=randread', '--bs=4k', '--direct=1',
        '--ioengine=libaio', '--iodepth=16', '--cpus_allowed=1', '--time_based', '--runtime=2', '--output-format=terse'], { timeout: 60_000 });
      const s = await d.stats();
      const t = await loopThread(d);
      assert.equal(s.following, -1, `following CPU ${s.following} after iodepth 16 (follows ${s.follows})`);
      assert.equal(t.policy, SCHED_OTHER);
      assert.equal(t.cpus, '0-1');
    }));

  it('stops following rather than starve behind a busy task on that CPU', T, () => withDaemon({ transport: 'uring' }, async (d) => {
    const hog = spawn('taskset', ['-c', '1', process.execPath, '-e', 'for (;;);'], { stdio: 'ignore' });
    try {
      const a = await d.stats();
      const t0 = Date.now();
      await statMissingFrom(d.mnt, 1, 'busy', STATS);
      const b = await d.stats();
      assert.ok(b.followStarved - a.followStarved >= 1, `stops for starving: ${b.followStarved - a.followStarved} (follows ${b.follows - a.follows})`);
      const t = await loopThread(d);
      if (b.following === -1) assert.equal(t.policy, SCHED_OTHER);
      assert.ok(Date.now() - t0 < 30_000, `${STATS} stats took ${Date.now() - t0} ms`);
    } finally {
      hog.kill('SIGKILL');
    }
  }));

  it('followCaller: false (-o no_follow_caller) leaves the thread where it is', T,
    () => withDaemon({ transport: 'uring', opt: 'no_follow_caller' }, async (d) => {
      await statMissingFrom(d.mnt, 1, 'off', STATS);
      const s = await d.stats();
      const t = await loopThread(d);
      assert.equal(s.follows, 0);
      assert.equal(s.following, -1);
      assert.equal(t.policy, SCHED_OTHER);
      assert.equal(t.cpus, '0-1');
    }));

  it('an unmount puts the thread\'s affinity and policy back in a process that lives on; nothing started meanwhile stays SCHED_IDLE', T, async () => {
    const out = await inMountingProcess<{
      during: { policy: number; cpus: string; following: number }; after: { policy: number; cpus: string }; child: number; idleThreads: number;
    }>('follow', `
      const { readFileSync, readdirSync } = await import('node:fs');
      const { execFile, execFileSync } = await import('node:child_process');
      const { Worker } = await import('node:worker_threads');
      const policyOf = (path) => { const st = readFileSync(path, 'utf8'); return Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[38]); };
      const policies = () => readdirSync('/proc/self/task').map((t) => { try { return policyOf('/proc/self/task/' + t + '/stat'); } catch { return 0; } });
      const me = () => ({ policy: policyOf('/proc/thread-self/stat'), cpus: /Cpus_allowed_list:\\s*(\\S+)/.exec(readFileSync('/proc/thread-self/status', 'utf8'))[1] });
      const s = await mount(process.argv[1], new MemFs());
      const stats = 'for (let i = 0; i < ${STATS}; i++) { try { require("fs").statSync(process.argv[1] + "/m" + i); } catch {} }';
      await new Promise((ok, fail) => execFile('taskset', ['-c', '1', process.execPath, '-e', stats, process.argv[1]], (e) => (e ? fail(e) : ok())));
      const during = { ...me(), following: s.stats().following };
      // started while following: a child process (back to SCHED_OTHER after fork) and a thread
      const child = Number(execFileSync('sh', ['-c', 'cut -d" " -f41 /proc/self/stat']).toString().trim());
      const w = new Worker('setInterval(() => {}, 1000)', { eval: true });
      await new Promise((ok) => w.once('online', ok));
      await s.unmount();
      console.log(JSON.stringify({ during, after: me(), child, idleThreads: policies().filter((p) => p === 5).length }));
      await w.terminate();
    `);
    assert.deepEqual(out.during, { policy: SCHED_IDLE, cpus: '1', following: 1 });
    assert.deepEqual(out.after, { policy: SCHED_OTHER, cpus: '0-1' });
    assert.equal(out.child, SCHED_OTHER, 'a child process forked while following');
    assert.equal(out.idleThreads, 0, 'threads left at SCHED_IDLE after the unmount');
  });
});
