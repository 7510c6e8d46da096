// nodeid → inode. nodeid and st_ino are the same number, taken from a counter and never reused,
// so a stale nodeid can never reach a different file and generation can stay 0. An inode stays
// here while a name links it, a handle has it open or the kernel still holds lookups on it; the
// last of the three to go frees it (see Inode.unreferenced).
import { FuseError, Errno } from '../../errors.js';
import type { NodeId } from '../../filesystem.js';
import { DirInode, FileInode, SpecialInode, SymlinkInode, type Inode } from './inode.js';
import type { Space } from './space.js';
import { now } from './time.js';

export const ROOT_ID = 1;

export class InodeTable {
  readonly root: DirInode;
  private readonly nodes = new Map<NodeId, Inode>();
  private nextIno = ROOT_ID + 1;

  constructor(readonly space: Space, rootPerm: number, uid: number, gid: number) {
    this.root = new DirInode(ROOT_ID, rootPerm, uid, gid, now(), null);
    this.nodes.set(ROOT_ID, this.root);
  }

  get count(): number {
    return this.nodes.size;
  }

  get(nodeid: NodeId): Inode {
    const node = this.nodes.get(nodeid);
    if (!node) throw new FuseError(Errno.ENOENT);
    return node;
  }

  dir(nodeid: NodeId): DirInode {
    const node = this.get(nodeid);
    if (!(node instanceof DirInode)) throw new FuseError(Errno.ENOTDIR);
    return node;
  }

  /** nlink 0 makes an O_TMPFILE file: held only by its handle and the kernel's lookup. */
  newFile(perm: number, uid: number, gid: number, nlink = 1): FileInode {
    return this.insert(new FileInode(this.nextIno++, perm, uid, gid, now(), this.space, nlink));
  }

  newSymlink(target: string, uid: number, gid: number): SymlinkInode {
    return this.insert(new SymlinkInode(this.nextIno++, target, uid, gid, now()));
  }

  newSpecial(mode: number, rdev: number, uid: number, gid: number): SpecialInode {
    return this.insert(new SpecialInode(this.nextIno++, mode, rdev, uid, gid, now()));
  }

  newDir(perm: number, uid: number, gid: number, parent: DirInode): DirInode {
    return this.insert(new DirInode(this.nextIno++, perm, uid, gid, now(), parent));
  }

  forget(nodeid: NodeId, nlookup: number): void {
    const node = this.nodes.get(nodeid);
    if (!node || node === this.root) return;
    node.nlookup = Math.max(0, node.nlookup - nlookup);
    this.release(node);
  }

  /** Call after dropping a link, a handle or lookups: frees the inode if that was the last. */
  release(node: Inode): void {
    if (node.unreferenced && node !== this.root && this.nodes.get(node.ino) === node) {
      this.nodes.delete(node.ino);
      node.evict();
    }
  }

  private insert<T extends Inode>(node: T): T {
    this.nodes.set(node.ino, node);
    return node;
  }
}
