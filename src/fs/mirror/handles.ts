// Open files and directories. Each holds its own fd on the source inode (opened with the
// caller's flags, so the kernel's own checks and O_APPEND semantics apply on the source), and a
// passthrough backing id when the kernel does the file's I/O itself.
import { FuseError, Errno } from '../../errors.js';
import type { FileHandle } from '../../filesystem.js';
import type { Node } from './nodes.js';

export interface OpenFile {
  readonly kind: 'file';
  readonly node: Node;
  readonly fd: number;
  /** The passthrough backing id (session.openBacking), 0 for userspace I/O. */
  readonly backingId: number;
}

export interface OpenDir {
  readonly kind: 'dir';
  readonly node: Node;
  readonly fd: number;
  /**
   * cookies[i]: the source's d_off after the i-th entry this handle returned. The kernel gets i + 1
   * as the entry's offset: d_off values use all 64 bits on ext4 (hashes), more than a JavaScript
   * number carries, so the mapping stays here.
   */
  readonly cookies: bigint[];
}

export type Handle = OpenFile | OpenDir;

export class HandleTable {
  private readonly map = new Map<FileHandle, Handle>();
  private next = 1;
  files = 0;
  dirs = 0;

  add(h: Handle): FileHandle {
    const fh = this.next++;
    this.map.set(fh, h);
    if (h.kind === 'file') this.files++;
    else this.dirs++;
    return fh;
  }

  file(fh: FileHandle): OpenFile {
    const h = this.map.get(fh);
    if (h === undefined || h.kind !== 'file') throw new FuseError(Errno.EBADF);
    return h;
  }

  dir(fh: FileHandle): OpenDir {
    const h = this.map.get(fh);
    if (h === undefined || h.kind !== 'dir') throw new FuseError(Errno.EBADF);
    return h;
  }

  /** The handle if it exists (getattr/setattr carry an fh that may be a file's or a directory's). */
  find(fh: FileHandle | undefined): Handle | undefined {
    return fh === undefined ? undefined : this.map.get(fh);
  }

  remove(fh: FileHandle): Handle | undefined {
    const h = this.map.get(fh);
    if (h === undefined) return undefined;
    this.map.delete(fh);
    if (h.kind === 'file') this.files--;
    else this.dirs--;
    return h;
  }

  all(): IterableIterator<Handle> {
    return this.map.values();
  }
}
