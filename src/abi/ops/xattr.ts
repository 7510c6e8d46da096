// SETXATTR, GETXATTR, LISTXATTR, REMOVEXATTR.
import type { OpRow } from '../op.js';

export const rows: OpRow[] = [];
