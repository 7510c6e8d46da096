// npm run soak [-- --seconds N] [--clients N] [--targets memfs,mirror] [--transport uring|dev|uring,dev]
//               [--seed N] [--no-odirect] [--json FILE]
// Mounts each target over each transport in turn and loads it for --seconds (default 60) with
// --clients (2–8, default 4) processes of mixed metadata and data operations, every byte read
// checked against what was written; then checks the shared files, the daemon's memory, fds and
// nodes after everything was deleted, and its clean unmount. Prints one block per run and a
// summary table; exits 1 if any run found an error or a leak, 2 on a usage error.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SOAK_TARGETS, type SoakTarget, type SoakTransport } from './soak-daemon.js';
import { buildClient, runSoak, type SoakResult } from './soak-run.js';
import { runBlock, summaryTable } from './soak-report.js';

function usage(message: string): never {
  process.stderr.write(`soak: ${message}\n`);
  process.exit(2);
}

function parse() {
  let v;
  try {
    v = parseArgs({
      options: {
        seconds: { type: 'string', default: '60' }, clients: { type: 'string', default: '4' },
        targets: { type: 'string', default: 'memfs,mirror' }, transport: { type: 'string', default: 'uring' },
        seed: { type: 'string' }, 'no-odirect': { type: 'boolean' }, json: { type: 'string' }, quiet: { type: 'boolean' },
      },
    }).values;
  } catch (e) {
    return usage((e as Error).message);
  }
  const seconds = Number(v.seconds);
  if (!(seconds >= 5 && seconds <= 3600)) usage(`--seconds needs a number from 5 to 3600 (got ${v.seconds})`);
  const clients = Number(v.clients);
  if (!Number.isInteger(clients) || clients < 2 || clients > 8) usage(`--clients needs a whole number from 2 to 8 (got ${v.clients})`);
  const targets = v.targets.split(',').map((s) => s.trim()) as SoakTarget[];
  for (const t of targets) if (!SOAK_TARGETS.includes(t)) usage(`unknown target ${JSON.stringify(t)} (targets: ${SOAK_TARGETS.join(', ')})`);
  const transports = (v.transport === 'both' ? 'uring,dev' : v.transport).split(',').map((s) => s.trim()) as SoakTransport[];
  for (const t of transports) if (t !== 'uring' && t !== 'dev') usage(`--transport takes uring, dev or both (got ${JSON.stringify(t)})`);
  const seed = v.seed === undefined ? Math.floor(Math.random() * 1e9) : Number(v.seed);
  if (!Number.isSafeInteger(seed) || seed < 0) usage(`--seed needs a whole number (got ${v.seed})`);
  return { seconds, clients, targets, transports, seed, odirect: !v['no-odirect'], json: v.json, quiet: !!v.quiet };
}

async function main(): Promise<number> {
  const a = parse();
  if (a.transports.includes('uring')) {
    let on = 'missing';
    try { on = readFileSync('/sys/module/fuse/parameters/enable_uring', 'utf8').trim(); } catch { /* no such parameter */ }
    if (on !== 'Y') usage(`FUSE-over-io_uring is off (enable_uring: ${on}): run \`echo Y > /sys/module/fuse/parameters/enable_uring\` as root, or --transport dev`);
  }
  // Ctrl-C reaches the clients and the daemon too (the daemon unmounts); exiting runs the cleanup.
  process.on('SIGINT', () => process.exit(130));
  const work = mkdtempSync(join(tmpdir(), 'fuse-uring-soak-bin-'));
  const results: SoakResult[] = [];
  try {
    const bin = buildClient(work);
    const runs = a.targets.length * a.transports.length;
    process.stderr.write(`soak: ${runs} run${runs > 1 ? 's' : ''} of ${a.seconds} s, ${a.clients} clients each, seed ${a.seed}; ` +
      `Linux ${release()}, Node ${process.version}\n`);
    for (const target of a.targets) {
      for (const transport of a.transports) {
        const r = await runSoak({
          target, transport, seconds: a.seconds, clients: a.clients, seed: a.seed, clientBin: bin, odirect: a.odirect,
          log: a.quiet ? undefined : (l) => process.stderr.write(`soak: ${l}\n`),
        });
        results.push(r);
        process.stdout.write(`\n${runBlock(r)}\n`);
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const ok = results.every((r) => r.ok);
  process.stdout.write(`\nsoak summary (${a.seconds} s per run, ${a.clients} clients, seed ${a.seed}):\n${summaryTable(results)}\n` +
    `soak: ${ok ? 'PASS' : 'FAIL'}\n`);
  if (a.json) writeFileSync(a.json, JSON.stringify(results, null, 2) + '\n');
  return ok ? 0 : 1;
}

main().then((code) => process.exit(code), (e: Error) => {
  process.stderr.write(`soak: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
