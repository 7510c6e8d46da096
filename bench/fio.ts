// The fio workloads: O_DIRECT on one preloaded 256 MiB file, as the issue specifies.
import { execFile } from 'node:child_process';
import { join } from 'node:path';

export interface FioJob {
  id: string;
  label: string;
  rw: 'randread' | 'read' | 'write' | 'randwrite';
  bs: string;
  numjobs: number;
  engine: 'psync' | 'libaio';
  iodepth: number;
  /** How the result is shown: operations per second or bytes per second. */
  unit: 'IOPS' | 'GiB/s';
}

export const FIO_JOBS: FioJob[] = [
  { id: 'randread4k-1', label: '4K randread, 1 job', rw: 'randread', bs: '4k', numjobs: 1, engine: 'psync', iodepth: 1, unit: 'IOPS' },
  { id: 'randread4k-2', label: '4K randread, 2 jobs', rw: 'randread', bs: '4k', numjobs: 2, engine: 'psync', iodepth: 1, unit: 'IOPS' },
  { id: 'seqread1m', label: '1M seqread', rw: 'read', bs: '1m', numjobs: 1, engine: 'psync', iodepth: 1, unit: 'GiB/s' },
  { id: 'seqwrite1m', label: '1M seqwrite', rw: 'write', bs: '1m', numjobs: 1, engine: 'psync', iodepth: 1, unit: 'GiB/s' },
  { id: 'randwrite4k', label: '4K randwrite', rw: 'randwrite', bs: '4k', numjobs: 1, engine: 'psync', iodepth: 1, unit: 'IOPS' },
  { id: 'randread4k-aio16', label: '4K randread, libaio QD16', rw: 'randread', bs: '4k', numjobs: 1, engine: 'libaio', iodepth: 16, unit: 'IOPS' },
];

export const FILE_SIZE = '256M';

export interface FioResult {
  iops: number;
  bytesPerSec: number;
  /** Client CPU time (µs) fio's jobs used: user + system. */
  clientCpuUs: number;
  ops: number;
}

function run(args: string[], timeoutMs: number): Promise<string> {
  return new Promise((ok, fail) => {
    execFile('fio', args, { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) fail(new Error(`fio ${args.join(' ')}: ${String(stderr).trim() || err.message}`));
      else ok(stdout);
    });
  });
}

/** Writes the 256 MiB file the jobs read (once per target). */
export async function preload(dir: string): Promise<void> {
  await run(['--name=preload', `--filename=${join(dir, 'fio.dat')}`, `--size=${FILE_SIZE}`, '--rw=write', '--bs=1m',
    '--direct=1', '--ioengine=psync', '--output-format=json'], 300_000);
}

export async function runFio(dir: string, job: FioJob, seconds: number): Promise<FioResult> {
  const out = await run([
    `--name=${job.id}`, `--filename=${join(dir, 'fio.dat')}`, `--size=${FILE_SIZE}`, `--rw=${job.rw}`, `--bs=${job.bs}`,
    `--numjobs=${job.numjobs}`, `--ioengine=${job.engine}`, `--iodepth=${job.iodepth}`, '--direct=1',
    `--runtime=${seconds}`, '--time_based', '--group_reporting', '--output-format=json',
  ], (seconds + 120) * 1000);
  const j = JSON.parse(out.slice(out.indexOf('{'))).jobs[0];
  const io = job.rw.includes('read') ? j.read : j.write;
  // job_runtime is summed over the numjobs threads, and usr_cpu/sys_cpu are percentages of it.
  const runtimeS = j.job_runtime / 1000;
  return {
    iops: io.iops,
    bytesPerSec: io.bw_bytes,
    clientCpuUs: ((j.usr_cpu + j.sys_cpu) / 100) * runtimeS * 1e6,
    ops: io.total_ios,
  };
}
