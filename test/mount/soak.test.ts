// The soak (`npm run soak`, bench/soak-run.ts) in CI: 2 client processes for 10 s on memfs and on
// mirror, over both transports, doing mixed metadata and data operations with every byte read
// checked — no errors, nothing lost or torn, no growth of the daemon's memory, fds or nodes,
// a clean unmount. And proof that those checks can fail: the client catches one byte changed
// behind its back, the log check catches torn, lost and reordered appends, the leak verdict
// fails on growth, on kept fds and on kept nodes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildClient, runSoak, type ClientReport } from '../../bench/soak-run.js';
import { checkLog, leakVerdict, type LeakInput } from '../../bench/soak-checks.js';
import { runBlock } from '../../bench/soak-report.js';
import { uringSkipReason } from '../helpers/proc.js';

let work: string;
let bin: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'fuse-uring-test-soak-'));
  bin = buildClient(work);
});
after(() => rm(work, { recursive: true, force: true }));

/** Runs one soak client on a plain directory; resolves with its report. */
function clientOnPlainDir(dir: string, seconds: number, corrupt: boolean): Promise<ClientReport> {
  return new Promise((resolve, reject) => {
    execFile(bin, [dir, '0', String(seconds), '7', '1', corrupt ? '1' : '0'], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`soak-client: ${err.message}; stderr: ${stderr}`));
      resolve(JSON.parse(stdout) as ClientReport);
    });
  });
}

const record = (c: number, seq: number) =>
  `log c=${String(c).padStart(3, '0')} seq=${String(seq).padStart(12, '0')} ${String.fromCharCode(97 + ((seq + c) % 26)).repeat(36)}\n`;

describe('the soak checks can fail', () => {
  it('a client catches one byte changed behind its back, and cleans up after itself either way', async () => {
    const plain = async (name: string) => { const d = join(work, name); await mkdir(join(d, 'shared'), { recursive: true }); return d; };
    const clean = await clientOnPlainDir(await plain('clean'), 1, false);
    assert.equal(clean.errors, 0, `on a plain directory: ${clean.messages.join('\n')}`);
    assert.ok(clean.bytes_verified > 0 && clean.ops.write!.n > 0 && clean.ops.rename!.n > 0, JSON.stringify(clean).slice(0, 500));
    const dir = await plain('corrupted');
    const bad = await clientOnPlainDir(dir, 1, true);
    assert.ok(bad.errors >= 1, 'the changed byte went unnoticed');
    assert.match(bad.messages[0]!, /^(verify|final check) .*: 1 of \d+ bytes read at \d+ differ, first at \d+: expected (zeros|write #\d+ of client 0), got /);
    assert.deepEqual((await readdir(join(dir, 'shared'))).sort(), ['hot', 'log', 'regions']);
    assert.deepEqual(await readdir(dir), ['shared']);
  });

  it('the log check finds a torn record, a lost one, a reordered one and a torn tail', () => {
    const good = Buffer.from(record(0, 1) + record(1, 1) + record(0, 2) + record(1, 2));
    assert.deepEqual(checkLog(good, [2, 2]), []);
    const torn = Buffer.from(good);
    torn[64 + 20] = 0x41;
    assert.match(checkLog(torn, [2, 2]).join('\n'), /record at offset 64 is torn/);
    assert.match(checkLog(Buffer.from(record(0, 1) + record(0, 2)), [2, 1]).join('\n'), /client 1 appended 1 records, the log ends with its record 0/);
    assert.match(checkLog(Buffer.from(record(0, 2) + record(0, 1)), [2]).join('\n'), /client 0's record 2 at offset 0, expected its record 1/);
    assert.match(checkLog(good.subarray(0, 100), [2, 2]).join('\n'), /not a whole number of 64-byte records/);
  });

  it('the leak verdict fails on RSS growth beyond the bound, on kept fds and on kept nodes', () => {
    const base: LeakInput = {
      rssStartKiB: 100 * 1024, rssEndKiB: 110 * 1024, storedStartBytes: 0, storedPeakBytes: 0,
      fdsStart: 30, fdsEnd: 22, nodesStart: 150, nodesEnd: 1,
    };
    assert.equal(leakVerdict(base).ok, true);
    assert.equal(leakVerdict({ ...base, rssEndKiB: 133 * 1024 }).ok, false);
    // 25 % of a large start is allowed, and so is file data memfs held at its peak.
    assert.equal(leakVerdict({ ...base, rssStartKiB: 400 * 1024, rssEndKiB: 490 * 1024 }).ok, true);
    assert.equal(leakVerdict({ ...base, rssEndKiB: 150 * 1024, storedPeakBytes: 20 * 2 ** 20 }).ok, true);
    assert.match(leakVerdict({ ...base, fdsEnd: 47 }).reasons.join(), /open fds grew from 30 to 47/);
    assert.match(leakVerdict({ ...base, nodesEnd: 151 }).reasons.join(), /still knows 151 nodes/);
  });
});

describe('soak: 2 clients for 10 s of mixed operations, every byte checked', () => {
  const seed = Math.floor(Math.random() * 1e9);
  for (const target of ['memfs', 'mirror'] as const) {
    for (const transport of ['uring', 'dev'] as const) {
      it(`${target} over ${transport === 'uring' ? 'FUSE-over-io_uring' : '/dev/fuse'}: no errors, nothing lost or torn, no leak, a clean unmount`,
        { skip: transport === 'uring' && uringSkipReason(), timeout: 150_000 }, async () => {
          const r = await runSoak({ target, transport, seconds: 10, clients: 2, seed, clientBin: bin });
          // The errors first: a long report is cut short in CI's output, and they are what matters.
          const why = `\n${r.errors.slice(0, 10).join('\n')}\n${runBlock(r)}`;
          assert.deepEqual(r.errors, [], why);
          assert.equal(r.errorCount, 0, why);
          assert.ok(r.leak.ok, why);
          assert.ok(r.ok, why);
          // It really did the work it claims to check.
          assert.ok(r.totalOps > 5000 && r.bytesVerified > 2 ** 20 && r.logRecords > 100 && r.hotReads > 10, why);
          for (const op of ['create', 'write', 'read', 'rename', 'unlink', 'readdir', 'fsync', 'symlink', 'link', 'mkdir', 'rmdir', 'truncate', 'append', 'write_direct', 'mmap_read']) {
            assert.ok((r.latency[op]?.n ?? 0) > 0, `no ${op} calls${why}`);
          }
          assert.equal(r.nodes.end, 1, `the daemon still knows ${r.nodes.end} nodes with only the root left${why}`);
        });
    }
  }
});
