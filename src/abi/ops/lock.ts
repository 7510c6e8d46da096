// GETLK, SETLK, SETLKW (and flock).
import type { OpRow } from '../op.js';

export const rows: OpRow[] = [];
