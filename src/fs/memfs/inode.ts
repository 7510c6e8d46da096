// The nodes of the tree. Inode holds what every file type has (struct stat, and the two reference
// counts that decide when it may be freed); subclasses add the type's payload. Symlinks, device
// nodes and xattrs slot in as another subclass or another field here.
import type { Attr } from '../../filesystem.js';
import { S_IFDIR, S_IFMT, S_IFREG } from './constants.js';
import { Directory } from './directory.js';
import { FileData } from './filedata.js';
import type { Space } from './space.js';
import { now, type Timespec } from './time.js';

export const BLKSIZE = 4096;

export abstract class Inode {
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev = 0;
  atime: number;
  atimensec: number;
  mtime: number;
  mtimensec: number;
  ctime: number;
  ctimensec: number;
  /** Kernel references: lookup, create, mkdir and readdirplus entries not yet forgotten. */
  nlookup = 0;
  /** Open file or directory handles on this inode. */
  nopen = 0;

  constructor(readonly ino: number, mode: number, nlink: number, uid: number, gid: number, t: Timespec) {
    this.mode = mode;
    this.nlink = nlink;
    this.uid = uid;
    this.gid = gid;
    this.atime = this.mtime = this.ctime = t.sec;
    this.atimensec = this.mtimensec = this.ctimensec = t.nsec;
  }

  get type(): number {
    return this.mode & S_IFMT;
  }

  abstract get size(): number;
  abstract get blocks(): number;

  /** The inode may go once nothing names it, nothing has it open and the kernel forgot it. */
  get unreferenced(): boolean {
    return this.nlink === 0 && this.nopen === 0 && this.nlookup === 0;
  }

  /** Releases the payload's memory; called once, when the inode leaves the table. */
  evict(): void {}

  /** A fresh struct fuse_attr: the session encodes it later, so it must not alias live fields. */
  attr(): Attr {
    return {
      ino: this.ino, mode: this.mode, nlink: this.nlink, uid: this.uid, gid: this.gid,
      rdev: this.rdev, size: this.size, blocks: this.blocks, blksize: BLKSIZE,
      atime: this.atime, atimensec: this.atimensec,
      mtime: this.mtime, mtimensec: this.mtimensec,
      ctime: this.ctime, ctimensec: this.ctimensec,
    };
  }

  setAtime(t: Timespec): void { this.atime = t.sec; this.atimensec = t.nsec; }
  setMtime(t: Timespec): void { this.mtime = t.sec; this.mtimensec = t.nsec; }
  setCtime(t: Timespec): void { this.ctime = t.sec; this.ctimensec = t.nsec; }

  /** Contents changed (data written, entries added or removed): mtime and ctime. */
  modified(t: Timespec = now()): void {
    this.setMtime(t);
    this.setCtime(t);
  }
}

export class FileInode extends Inode {
  readonly data: FileData;

  constructor(ino: number, perm: number, uid: number, gid: number, t: Timespec, space: Space) {
    super(ino, S_IFREG | perm, 1, uid, gid, t);
    this.data = new FileData(space);
  }

  get size(): number { return this.data.size; }
  get blocks(): number { return this.data.allocated / 512; }

  override evict(): void { this.data.clear(); }
}

export class DirInode extends Inode {
  readonly entries = new Directory();
  /** ".." — a directory has exactly one parent (no hard links to directories); the root is its own. */
  parent: DirInode;

  /** nlink starts at 2: the parent's entry and its own ".". */
  constructor(ino: number, perm: number, uid: number, gid: number, t: Timespec, parent: DirInode | null) {
    super(ino, S_IFDIR | perm, 2, uid, gid, t);
    this.parent = parent ?? this;
  }

  get size(): number { return BLKSIZE; }
  get blocks(): number { return 0; }

  /** True when `node` is this directory or lies below it (walks ".." up to the root). */
  contains(node: DirInode): boolean {
    for (let d = node; ; d = d.parent) {
      if (d === this) return true;
      if (d.parent === d) return false;
    }
  }
}
