// NOTIFY_REPLY.
import type { OpRow } from '../op.js';

export const rows: OpRow[] = [];
