// The filesystem-wide byte budget behind sizeLimit. Only allocated file data counts (holes are
// free, as on tmpfs); callers reserve before they allocate so a write that does not fit fails
// with ENOSPC having changed nothing.
import { FuseError, Errno } from '../../errors.js';

export class Space {
  /** Bytes of file data allocated across all inodes. */
  used = 0;

  constructor(readonly limit: number = Infinity) {}

  reserve(bytes: number): void {
    if (bytes <= 0) return;
    if (this.used + bytes > this.limit) throw new FuseError(Errno.ENOSPC);
    this.used += bytes;
  }

  release(bytes: number): void {
    this.used -= bytes;
  }
}
