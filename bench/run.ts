// npm run bench [-- --quick] [--reps N] [--seconds N] [--files N] [--targets a,b] [--out DIR]
// Mounts every target at once and interleaves them job by job, repetition by repetition, so
// that the machine's drift spreads over all of them; reports medians, spreads, ratios against
// tmpfs and between transports, and CPU µs per operation (client + daemon).
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readSetting } from '../src/preflight.js';
import { ALL_TARGETS, benchBase, processCpuUs, startTarget, type Target, type TargetName } from './targets.js';
import { FIO_JOBS, preload, runFio } from './fio.js';
import { buildMeta, META_LABELS, META_PHASES, runMeta } from './meta.js';
import { barTable } from './bar.js';
import { markdown, svg, type Results, type Workload } from './report.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean' }, reps: { type: 'string' }, seconds: { type: 'string' }, files: { type: 'string' },
    targets: { type: 'string' }, out: { type: 'string' }, 'queue-depth': { type: 'string' },
  },
});
const quick = !!values.quick;
const reps = Number(values.reps ?? (quick ? 1 : 3));
const seconds = Number(values.seconds ?? (quick ? 1 : 3));
const files = Number(values.files ?? (quick ? 4000 : 16000));
const queueDepth = Number(values['queue-depth'] ?? 32);
const out = values.out ?? 'docs/bench';
const wanted = (values.targets?.split(',') ?? ALL_TARGETS) as TargetName[];

function log(s: string): void {
  process.stderr.write(`bench: ${s}\n`);
}

function setup(): void {
  if (process.getuid?.() !== 0) throw new Error('run as root: the benchmark mounts tmpfs and FUSE filesystems');
  try { execFileSync('fio', ['--version'], { stdio: 'ignore' }); } catch { throw new Error('fio is missing: apt-get install -y fio'); }
  try { writeFileSync('/sys/module/fuse/parameters/enable_uring', 'Y'); } catch (e) { log(`could not turn on enable_uring: ${(e as Error).message}`); }
}

/**
 * The CPU idle driver, which on a VM decides what a wake-up costs: a halted vCPU waits for the host
 * to run it again, one that polls first does not (docs/performance.md: guest halt polling).
 */
function cpuIdle(): string {
  const driver = readSetting('/sys/devices/system/cpu/cpuidle/current_driver') ?? 'none';
  const poll = readSetting('/sys/module/haltpoll/parameters/guest_halt_poll_ns');
  return driver === 'haltpoll' && poll !== undefined ? `haltpoll, guest_halt_poll_ns ${poll}` : driver;
}

async function main(): Promise<void> {
  setup();
  const base = benchBase();
  const metaBin = buildMeta(base);
  const targets: Target[] = [];
  const results: Results = {
    machine: {
      kernel: `Linux ${release()}`, cpu: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`, memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
      idle: cpuIdle(), node: process.version, fio: execFileSync('fio', ['--version']).toString().trim(),
      date: new Date().toISOString(), mode: quick ? 'quick' : 'full', reps: String(reps), seconds: String(seconds), files: String(files),
    },
    settings: {}, workloads: [], targets: [], samples: {},
  };
  const cleanup = async (): Promise<void> => { for (const t of targets.splice(0)) await t.stop().catch(() => {}); rmSync(base, { recursive: true, force: true }); };
  process.on('SIGINT', () => { void cleanup().then(() => process.exit(130)); });
  try {
    for (const name of wanted) {
      try {
        const t = await startTarget(name, base, queueDepth);
        targets.push(t);
        if (t.settings) results.settings[name] = t.settings;
        log(`${name}: ${t.settings ?? t.dir}`);
      } catch (e) {
        log(`${name}: skipped — ${(e as Error).message}`);
      }
    }
    results.targets = targets.map((t) => t.name);
    for (const t of targets) await preload(t.dir);

    const add = (w: Workload, t: Target, value: number, cpuUsPerOp: number): void => {
      ((results.samples[w.id] ??= {})[t.name] ??= []).push({ value, cpuUsPerOp });
    };
    for (const job of FIO_JOBS) results.workloads.push({ id: job.id, label: job.label, unit: job.unit });
    for (const threads of [1, 2]) {
      for (const p of META_PHASES) results.workloads.push({ id: `${p}-${threads}`, label: `${META_LABELS[p]}, ${threads} thread${threads > 1 ? 's' : ''}`, unit: 'ops/s' });
    }

    for (let rep = 0; rep < reps; rep++) {
      for (const job of FIO_JOBS) {
        const w = results.workloads.find((x) => x.id === job.id)!;
        for (const t of targets) {
          const cpu0 = processCpuUs(t.pid);
          const r = await runFio(t.dir, job, seconds);
          const daemonUs = processCpuUs(t.pid) - cpu0;
          add(w, t, job.unit === 'IOPS' ? r.iops : r.bytesPerSec, (r.clientCpuUs + daemonUs) / Math.max(1, r.ops));
          log(`rep ${rep + 1}/${reps} ${job.label} ${t.name}: ${job.unit === 'IOPS' ? `${Math.round(r.iops)} IOPS` : `${(r.bytesPerSec / 2 ** 30).toFixed(2)} GiB/s`}`);
        }
      }
      for (const threads of [1, 2]) {
        for (const t of targets) {
          const dir = join(t.dir, `meta-${rep}-${threads}`);
          for (const phase of META_PHASES) {
            const w = results.workloads.find((x) => x.id === `${phase}-${threads}`)!;
            const cpu0 = processCpuUs(t.pid);
            const r = await runMeta(metaBin, dir, files, threads, phase);
            const daemonUs = processCpuUs(t.pid) - cpu0;
            add(w, t, r.ops / r.seconds, (r.clientCpuUs + daemonUs) / Math.max(1, r.ops));
          }
          log(`rep ${rep + 1}/${reps} metadata, ${threads} thread(s), ${t.name}: done`);
        }
      }
    }
  } finally {
    await cleanup();
  }
  mkdirSync(out, { recursive: true });
  const md = `${markdown(results)}\n\nAgainst the bar of issue 5 (fractions of tmpfs; references measured on a 2 vCPU VM, Linux 6.18):\n\n${barTable(results)}`;
  const header = [
    `Machine: ${results.machine.cpu}, ${results.machine.memory}, ${results.machine.kernel}, cpuidle ${results.machine.idle}, Node ${results.machine.node}, ${results.machine.fio}.`,
    `Run: ${results.machine.mode}, ${reps} repetition(s), ${seconds} s per fio job, ${files} files, ${results.machine.date}.`,
    `Negotiated: ${Object.entries(results.settings).map(([k, v]) => `${k}: ${v.replace(/^fuse-uring: /, '')}`).join('; ')}`,
    '',
  ].join('\n');
  writeFileSync(join(out, 'results.md'), `${header}\n${md}\n`);
  writeFileSync(join(out, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  writeFileSync(join(out, 'chart.svg'), svg(results) + '\n');
  process.stdout.write(`${header}\n${md}\n\nWritten: ${join(out, 'results.md')}, results.json, chart.svg\n`);
}

main().catch((e: Error) => {
  process.stderr.write(`bench: ${e.message}\n`);
  process.exit(1);
});
