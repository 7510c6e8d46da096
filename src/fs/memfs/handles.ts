// fh → open file or directory. Handles come from a counter, so a stale fh is EBADF rather than
// someone else's file. An open handle keeps its inode alive: reading an unlinked open file works.
import { FuseError, Errno } from '../../errors.js';
import type { FileHandle, NodeId } from '../../filesystem.js';
import type { DirCursor } from './directory.js';
import type { Inode } from './inode.js';

export interface Handle {
  readonly node: Inode;
  /** open(2) flags as the kernel sent them in OPEN/CREATE/OPENDIR. */
  readonly flags: number;
  /** Where the last readdir on this directory handle stopped. */
  cursor?: DirCursor;
}

export class HandleTable {
  private readonly open = new Map<FileHandle, Handle>();
  private nextFh = 1;

  get count(): number {
    return this.open.size;
  }

  add(node: Inode, flags: number): FileHandle {
    const fh = this.nextFh++;
    this.open.set(fh, { node, flags });
    node.nopen++;
    return fh;
  }

  /** The handle, checked against the nodeid the kernel sent it with. */
  get(fh: FileHandle, nodeid: NodeId): Handle {
    const h = this.open.get(fh);
    if (!h || h.node.ino !== nodeid) throw new FuseError(Errno.EBADF);
    return h;
  }

  /** The handle if it exists and belongs to nodeid; undefined otherwise (no error). */
  find(fh: FileHandle, nodeid: NodeId): Handle | undefined {
    const h = this.open.get(fh);
    return h && h.node.ino === nodeid ? h : undefined;
  }

  /** Closes the handle and returns it; the caller lets the inode table reconsider the inode. */
  remove(fh: FileHandle, nodeid: NodeId): Handle {
    const h = this.get(fh, nodeid);
    this.open.delete(fh);
    h.node.nopen--;
    return h;
  }
}
