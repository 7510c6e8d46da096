// ACCESS, FSYNCDIR, STATX, SYNCFS, TMPFILE.
import type { OpRow } from '../op.js';

export const rows: OpRow[] = [];
