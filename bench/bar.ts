// The bar issue 5 sets: reference figures measured on this kind of machine (2 vCPU VM, Linux 6.18)
// for libfuse in C over io_uring and for fuse-native, each with tmpfs in the same run. Because
// machines and runs differ, everything is compared as a fraction of tmpfs measured in the same run:
// memfs over io_uring must reach 0.8 of libfuse's fraction and 3× fuse-native's on every row.
import { summarize, type Results } from './report.js';

interface Reference {
  workload: string;
  label: string;
  tmpfs: number;
  libfuse: number;
  fuseNative: number;
  /** CPU µs per operation rows: lower is better, compared as absolute µs. */
  cpu?: boolean;
}

const GiB = 2 ** 30;
export const REFERENCES: Reference[] = [
  { workload: 'randread4k-1', label: '4K randread, 1 job', tmpfs: 1.16e6, libfuse: 75e3, fuseNative: 24e3 },
  { workload: 'randread4k-2', label: '4K randread, 2 jobs', tmpfs: 2.11e6, libfuse: 147e3, fuseNative: 27e3 },
  { workload: 'seqread1m', label: '1M seqread', tmpfs: 18.6 * GiB, libfuse: 5.8 * GiB, fuseNative: 2.0 * GiB },
  { workload: 'seqwrite1m', label: '1M seqwrite', tmpfs: 13.3 * GiB, libfuse: 6.1 * GiB, fuseNative: 2.0 * GiB },
  { workload: 'randwrite4k', label: '4K randwrite', tmpfs: 1.16e6, libfuse: 55e3, fuseNative: 22e3 },
  { workload: 'create-1', label: 'create, 1 thread', tmpfs: 216e3, libfuse: 18.0e3, fuseNative: 5.6e3 },
  { workload: 'statmissing-1', label: 'missing-name stat, 1 thread', tmpfs: 551e3, libfuse: 77e3, fuseNative: 19e3 },
  { workload: 'unlink-1', label: 'unlink, 1 thread', tmpfs: 241e3, libfuse: 25.5e3, fuseNative: 11e3 },
  { workload: 'randread4k-1', label: 'CPU µs per 4K read, 1 job', tmpfs: 0.85, libfuse: 20, fuseNative: 39, cpu: true },
];

/** One row per reference: our fraction of tmpfs against libfuse's and fuse-native's, and whether the bar holds. */
export function barTable(r: Results): string {
  const lines = [
    '| workload | memfs io_uring ÷ tmpfs (this run) | libfuse ÷ tmpfs (reference) | of libfuse (bar ≥ 0.80) | × fuse-native (bar ≥ 3) | the bar ÷ tmpfs (× libfuse) | bar |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const ref of REFERENCES) {
    const ours = summarize(r.samples[ref.workload]?.['memfs-uring']);
    const tmpfs = summarize(r.samples[ref.workload]?.tmpfs);
    if (!ours || !tmpfs || tmpfs.median <= 0) continue;
    if (ref.cpu) {
      // CPU per operation: absolute µs (lower is better); libfuse's figure is the top of its 11–20 µs range.
      const ofLibfuse = ref.libfuse / ours.cpu;
      const vsNative = ref.fuseNative / ours.cpu;
      const limit = Math.min(ref.libfuse / 0.8, ref.fuseNative / 3);
      lines.push(`| ${ref.label} | ${ours.cpu.toFixed(1)} µs | 11–20 µs | ${ofLibfuse.toFixed(2)} | ${vsNative.toFixed(2)} | ≤ ${limit.toFixed(1)} µs | ${ofLibfuse >= 0.8 && vsNative >= 3 ? 'met' : 'not met'} |`);
      continue;
    }
    const frac = ours.median / tmpfs.median;
    const libFrac = ref.libfuse / ref.tmpfs;
    const ofLibfuse = frac / libFrac;
    const vsNative = frac / (ref.fuseNative / ref.tmpfs);
    // The stricter of the two conditions, as a fraction of tmpfs: where 3× fuse-native is above
    // libfuse's own figure (unlink, 4K writes), the bar asks for more than C reached.
    const needed = Math.max(0.8 * libFrac, 3 * ref.fuseNative / ref.tmpfs);
    lines.push(`| ${ref.label} | ${frac.toFixed(3)} | ${libFrac.toFixed(3)} | ${ofLibfuse.toFixed(2)} | ${vsNative.toFixed(2)} | ${needed.toFixed(3)} (${(needed / libFrac).toFixed(2)}) | ${ofLibfuse >= 0.8 && vsNative >= 3 ? 'met' : 'not met'} |`);
  }
  return lines.join('\n');
}
