// What must hold after a soak run beyond the clients' own checks: the shared O_APPEND log holds
// every record each client appended, whole and in that client's order; and the daemon did not
// grow (memory, fds, nodes) beyond what it still has to hold.

/** The log record soak-client.c's op_log() writes: 64 bytes, `log c=NNN seq=NNNNNNNNNNNN ` + fill + \n. */
const RECORD = 64;
const RECORD_RE = /^log c=(\d{3}) seq=(\d{12}) ([a-z]{36})\n$/;

/**
 * Checks the shared log against the number of records each client says it appended. Returns
 * one line per fault (a torn or misplaced record, a lost or duplicated one).
 */
export function checkLog(log: Buffer, appended: readonly number[]): string[] {
  const faults: string[] = [];
  if (log.length % RECORD !== 0) faults.push(`log: ${log.length} bytes is not a whole number of ${RECORD}-byte records (a torn append)`);
  const next = appended.map(() => 1);
  for (let off = 0; off + RECORD <= log.length; off += RECORD) {
    const rec = log.subarray(off, off + RECORD).toString('latin1');
    const m = RECORD_RE.exec(rec);
    const c = m ? Number(m[1]) : -1;
    const seq = m ? Number(m[2]) : -1;
    if (!m || c >= appended.length || m[3] !== String.fromCharCode(97 + ((seq + c) % 26)).repeat(36)) {
      if (faults.length < 20) faults.push(`log: record at offset ${off} is torn or foreign: ${JSON.stringify(rec)}`);
      continue;
    }
    if (seq !== next[c] && faults.length < 20) faults.push(`log: client ${c}'s record ${seq} at offset ${off}, expected its record ${next[c]} (lost or reordered appends)`);
    next[c] = seq + 1;
  }
  appended.forEach((n, c) => {
    if (next[c]! - 1 !== n) faults.push(`log: client ${c} appended ${n} records, the log ends with its record ${next[c]! - 1}`);
  });
  return faults;
}

/** Growth always allowed: V8's young generation (16 MiB semi-spaces), old-space growth steps and malloc arenas. */
export const LEAK_FLOOR_KIB = 32 * 1024;
/** Growth allowed relative to the RSS after warm-up, for daemons that start large. */
export const LEAK_FRACTION = 0.25;
/** File descriptors the daemon may hold beyond its count after warm-up (libuv, a late open). */
export const FD_SLACK = 16;

export interface LeakInput {
  /** VmRSS after the warm-up, with the clients running. */
  rssStartKiB: number;
  /** VmRSS after the clients deleted everything and the daemon went idle. */
  rssEndKiB: number;
  /** File data memfs held at the start sample, and at most at any later sample (0 for mirror). */
  storedStartBytes: number;
  storedPeakBytes: number;
  fdsStart: number;
  fdsEnd: number;
  /** Inodes (memfs) or nodes (mirror) the daemon knew at the start sample and at the end. */
  nodesStart: number;
  nodesEnd: number;
}

export interface LeakVerdict {
  ok: boolean;
  growthKiB: number;
  allowedKiB: number;
  /** Why it failed, one line each (empty when ok). */
  reasons: string[];
}

/**
 * The leak check. The end sample is taken with every file deleted, so memfs holds no file data
 * then; but memory freed by the JavaScript heap and malloc is not necessarily returned to the
 * kernel, so the file data memfs held at its peak after the start sample (above what it held at
 * the start sample) is allowed on top of max(32 MiB, 25 % of the start). A daemon that keeps
 * nodes or fds of deleted files fails too: at the end it must know no more of them than at the
 * start sample, when the clients' files still existed.
 */
export function leakVerdict(x: LeakInput): LeakVerdict {
  const growthKiB = x.rssEndKiB - x.rssStartKiB;
  const dataKiB = Math.max(0, x.storedPeakBytes - x.storedStartBytes) / 1024;
  const allowedKiB = Math.round(Math.max(LEAK_FLOOR_KIB, LEAK_FRACTION * x.rssStartKiB) + dataKiB);
  const reasons: string[] = [];
  if (!Number.isFinite(growthKiB)) reasons.push('RSS could not be read');
  else if (growthKiB > allowedKiB) reasons.push(`RSS grew by ${mib(growthKiB)} (${mib(x.rssStartKiB)} → ${mib(x.rssEndKiB)}), more than the ${mib(allowedKiB)} allowed`);
  if (x.fdsEnd > x.fdsStart + FD_SLACK) reasons.push(`open fds grew from ${x.fdsStart} to ${x.fdsEnd}`);
  if (x.nodesEnd > x.nodesStart) reasons.push(`the daemon still knows ${x.nodesEnd} nodes after every file was deleted (${x.nodesStart} while they existed)`);
  return { ok: reasons.length === 0, growthKiB, allowedKiB, reasons };
}

export function mib(kib: number): string {
  return `${(kib / 1024).toFixed(1)} MiB`;
}
