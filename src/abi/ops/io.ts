// FALLOCATE, LSEEK, COPY_FILE_RANGE, COPY_FILE_RANGE_64, BMAP, IOCTL, POLL.
import type { OpRow } from '../op.js';

export const rows: OpRow[] = [];
