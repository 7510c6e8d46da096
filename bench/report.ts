// Turns the samples into medians, spreads, ratios, CPU per operation, and the three outputs:
// a Markdown table, JSON, and an SVG chart.
import type { TargetName } from './targets.js';

export interface Sample {
  /** Operations per second (IOPS, files/s) or bytes per second. */
  value: number;
  /** Client + daemon CPU µs per operation. */
  cpuUsPerOp: number;
}

export interface Workload {
  id: string;
  label: string;
  unit: 'IOPS' | 'GiB/s' | 'ops/s';
}

export interface Results {
  machine: Record<string, string>;
  settings: Record<string, string>;
  workloads: Workload[];
  targets: TargetName[];
  /** samples[workload][target] */
  samples: Record<string, Partial<Record<TargetName, Sample[]>>>;
}

export interface Summary { median: number; spread: number; cpu: number; n: number }

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function summarize(samples: Sample[] | undefined): Summary | undefined {
  if (!samples || samples.length === 0) return undefined;
  const v = samples.map((s) => s.value);
  const med = median(v);
  return { median: med, spread: med > 0 ? (Math.max(...v) - Math.min(...v)) / med : 0, cpu: median(samples.map((s) => s.cpuUsPerOp)), n: samples.length };
}

const TITLES: Record<TargetName, string> = {
  'memfs-uring': 'memfs io_uring', 'memfs-dev': 'memfs /dev/fuse', 'memfs-paths': 'memfs path API', 'mirror-passthrough': 'mirror passthrough',
  'mirror-nopassthrough': 'mirror no passthrough', tmpfs: 'tmpfs', source: 'mirror source dir',
};

function fmt(value: number, unit: Workload['unit']): string {
  if (unit === 'GiB/s') return `${(value / 2 ** 30).toFixed(2)} GiB/s`;
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  return value.toFixed(0);
}

export function markdown(r: Results): string {
  const cols = r.targets;
  const lines: string[] = [];
  // The path API's cost: PathMemFs through the bridge ÷ memfs on the inode API, both over io_uring.
  const paths = cols.includes('memfs-paths') && cols.includes('memfs-uring');
  lines.push(`| workload | ${cols.map((t) => TITLES[t]).join(' | ')} | memfs uring ÷ dev |${paths ? ' path API ÷ inode API |' : ''}`);
  lines.push(`|---|${cols.map(() => '---').join('|')}|---|${paths ? '---|' : ''}`);
  for (const w of r.workloads) {
    const base = summarize(r.samples[w.id]?.tmpfs);
    const cells = cols.map((t) => {
      const s = summarize(r.samples[w.id]?.[t]);
      if (!s) return '—';
      const ratio = t !== 'tmpfs' && base && base.median > 0 ? ` (${(s.median / base.median).toFixed(3)}×)` : '';
      return `${fmt(s.median, w.unit)}${ratio} ±${(s.spread * 100).toFixed(0)}%`;
    });
    const u = summarize(r.samples[w.id]?.['memfs-uring']);
    const d = summarize(r.samples[w.id]?.['memfs-dev']);
    const p = summarize(r.samples[w.id]?.['memfs-paths']);
    const pathRatio = paths ? ` ${p && u && u.median > 0 ? (p.median / u.median).toFixed(2) : '—'} |` : '';
    lines.push(`| ${w.label} | ${cells.join(' | ')} | ${u && d && d.median > 0 ? (u.median / d.median).toFixed(2) : '—'} |${pathRatio}`);
  }
  lines.push('');
  lines.push(`CPU µs per operation (client + daemon, medians):`);
  lines.push('');
  lines.push(`| workload | ${cols.map((t) => TITLES[t]).join(' | ')} |`);
  lines.push(`|---|${cols.map(() => '---').join('|')}|`);
  for (const w of r.workloads) {
    lines.push(`| ${w.label} | ${cols.map((t) => { const s = summarize(r.samples[w.id]?.[t]); return s ? s.cpu.toFixed(2) : '—'; }).join(' | ')} |`);
  }
  return lines.join('\n');
}

/** Bars of each FUSE target's median as a fraction of tmpfs, log scale from 0.1 % to 100 %. */
export function svg(r: Results): string {
  const fuse = r.targets.filter((t) => t !== 'tmpfs' && t !== 'source');
  const colors = ['#2b6cb0', '#c05621', '#2f855a', '#805ad5', '#b7791f'];
  const rowH = 14 * fuse.length + 10, left = 230, width = 520, top = 40;
  const height = top + r.workloads.length * rowH + 40;
  const x = (f: number): number => left + (Math.log10(Math.max(f, 0.001)) + 3) / 3 * width;
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${left + width + 40}" height="${height}" font-family="sans-serif" font-size="11">`];
  out.push(`<text x="10" y="18" font-size="13" font-weight="bold">fuse-uring: fraction of tmpfs (log scale), median of ${r.samples[r.workloads[0]!.id]?.tmpfs?.length ?? 0} runs — ${esc(r.machine.kernel ?? '')}</text>`);
  for (const f of [0.001, 0.01, 0.1, 1]) {
    out.push(`<line x1="${x(f)}" y1="${top - 6}" x2="${x(f)}" y2="${height - 30}" stroke="#ccc"/>`);
    out.push(`<text x="${x(f) - 12}" y="${height - 16}">${f * 100}%</text>`);
  }
  r.workloads.forEach((w, i) => {
    const y0 = top + i * rowH;
    out.push(`<text x="10" y="${y0 + rowH / 2 + 2}">${esc(w.label)}</text>`);
    const base = summarize(r.samples[w.id]?.tmpfs);
    fuse.forEach((t, k) => {
      const s = summarize(r.samples[w.id]?.[t]);
      if (!s || !base || base.median <= 0) return;
      const f = s.median / base.median;
      out.push(`<rect x="${left}" y="${y0 + k * 14}" width="${Math.max(1, x(f) - left)}" height="12" fill="${colors[k % colors.length]}"><title>${TITLES[t]}: ${(f * 100).toFixed(2)}%</title></rect>`);
    });
  });
  fuse.forEach((t, k) => {
    out.push(`<rect x="${left + k * 112}" y="${height - 12}" width="10" height="10" fill="${colors[k % colors.length]}"/><text x="${left + k * 112 + 14}" y="${height - 3}">${TITLES[t]}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

function esc(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' }[c]!));
}
