// The kernel creates one FUSE queue per possible CPU (num_possible_cpus()) and every qid needs a
// registered entry before the ring is ready.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/**
 * Counts the CPUs of a kernel cpu list such as "0-3,8-11" (→ 8). Returns undefined for anything
 * malformed: empty, non-numeric, reversed ranges, empty items.
 */
export function parseCpuList(text: string): number | undefined {
  const s = text.trim();
  if (s === '') return undefined;
  let count = 0;
  for (const part of s.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) return undefined;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || hi < lo) return undefined;
    count += hi - lo + 1;
  }
  return count > 0 ? count : undefined;
}

/** num_possible_cpus() as the kernel counts it, falling back to the CPUs Node sees. */
export function possibleCpus(path = '/sys/devices/system/cpu/possible'): number {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return availableParallelism();
  }
  return parseCpuList(text) ?? availableParallelism();
}
