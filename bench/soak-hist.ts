// Latency histograms of the soak clients (bench/soak-client.c): 32 log-linear buckets per power of
// two of nanoseconds (each about 3 % wide), exact below 64 ns, merged across clients and turned
// into percentiles. A percentile is reported as the middle of its bucket, never above the max.

/** One operation type's histogram as a client prints it: count, max, sparse [bucket, count] pairs. */
export interface ClientHist { n: number; max_ns: number; h: [number, number][] }

export interface Latency { n: number; p50: number; p90: number; p99: number; p999: number; max: number }

/** The smallest value (ns) in bucket `i`; the inverse of bucket() in soak-client.c. */
export function bucketLow(i: number): number {
  if (i < 64) return i;
  const q = i >> 5;
  return (32 + (i & 31)) * 2 ** (q - 1);
}

/** The width of bucket `i` in ns. */
export function bucketWidth(i: number): number {
  return i < 64 ? 1 : 2 ** ((i >> 5) - 1);
}

export class Histogram {
  n = 0;
  maxNs = 0;
  private readonly counts = new Map<number, number>();

  add(h: ClientHist): void {
    this.n += h.n;
    this.maxNs = Math.max(this.maxNs, h.max_ns);
    for (const [i, c] of h.h) this.counts.set(i, (this.counts.get(i) ?? 0) + c);
  }

  /** The q-quantile (0 < q ≤ 1) in ns. */
  quantile(q: number): number {
    if (this.n === 0) return 0;
    const rank = Math.ceil(q * this.n);
    let seen = 0;
    for (const i of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(i)!;
      if (seen >= rank) return Math.min(this.maxNs, bucketLow(i) + (bucketWidth(i) - 1) / 2);
    }
    return this.maxNs;
  }

  latency(): Latency {
    return {
      n: this.n, p50: this.quantile(0.5), p90: this.quantile(0.9), p99: this.quantile(0.99),
      p999: this.quantile(0.999), max: this.maxNs,
    };
  }
}

/** Merges every client's histograms, per operation type. */
export function mergeOps(clients: readonly { ops: Record<string, ClientHist> }[]): Map<string, Histogram> {
  const out = new Map<string, Histogram>();
  for (const c of clients) {
    for (const [op, h] of Object.entries(c.ops)) {
      let m = out.get(op);
      if (!m) out.set(op, (m = new Histogram()));
      m.add(h);
    }
  }
  return out;
}
