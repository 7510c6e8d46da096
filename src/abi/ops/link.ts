// READLINK, SYMLINK, MKNOD, LINK.
import type { OpRow } from '../op.js';

export const rows: OpRow[] = [];
