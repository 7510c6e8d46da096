// The metadata workload: bench/meta.c over 16,000 files in one directory, 1 and 2 threads.
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'meta.c');

export const META_PHASES = ['create', 'stat', 'statmissing', 'readdir', 'unlink'] as const;
export type MetaPhase = typeof META_PHASES[number];
export const META_LABELS: Record<MetaPhase, string> = {
  create: 'create', stat: 'stat of existing names', statmissing: 'stat of missing names', readdir: 'readdir (entries)', unlink: 'unlink',
};

export interface MetaResult { ops: number; seconds: number; clientCpuUs: number }

/** Compiles bench/meta.c into `outDir` with the system compiler. */
export function buildMeta(outDir: string): string {
  const bin = join(outDir, 'meta');
  execFileSync('cc', ['-O2', '-Wall', '-pthread', '-o', bin, SRC], { stdio: 'inherit' });
  return bin;
}

export function runMeta(bin: string, dir: string, files: number, threads: number, phase: MetaPhase): Promise<MetaResult> {
  mkdirSync(dir, { recursive: true });
  return new Promise((ok, fail) => {
    execFile(bin, [dir, String(files), String(threads), phase], { timeout: 600_000 }, (err, stdout, stderr) => {
      if (err) return fail(new Error(`meta ${phase} on ${dir}: ${String(stderr).trim() || err.message} ${stdout}`));
      const r = JSON.parse(stdout) as { ops: number; seconds: number; cpu_us: number };
      ok({ ops: r.ops, seconds: r.seconds, clientCpuUs: r.cpu_us });
    });
  });
}
