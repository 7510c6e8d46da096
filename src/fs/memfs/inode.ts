// The nodes of the tree. Inode holds what every file type has (struct stat with a birth time,
// the two reference counts that decide when it may be freed, xattrs and locks); subclasses add
// the type's payload: file data, directory entries, a symlink target. FIFOs, sockets and device
// nodes have no payload here: the kernel serves them itself once it knows their type and rdev.
import type { Attr } from '../../filesystem.js';
import { nameByteLength } from '../../abi/names.js';
import { S_IFDIR, S_IFLNK, S_IFMT, S_IFREG } from './constants.js';
import { Directory } from './directory.js';
import { FileData } from './filedata.js';
import type { InodeLocks } from './locks.js';
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
  /** Birth time, for statx: set once at creation. */
  readonly btime: number;
  readonly btimensec: number;
  /** Extended attributes, name → value; created on the first setxattr. */
  xattrs: Map<string, Buffer> | undefined;
  /** POSIX record locks and flock locks; created on the first lock request. */
  locks: InodeLocks | undefined;
  /** Kernel references: lookup, create, mkdir and readdirplus entries not yet forgotten. */
  nlookup = 0;
  /** Open file or directory handles on this inode. */
  nopen = 0;

  constructor(readonly ino: number, mode: number, nlink: number, uid: number, gid: number, t: Timespec) {
    this.mode = mode;
    this.nlink = nlink;
    this.uid = uid;
    this.gid = gid;
    this.atime = this.mtime = this.ctime = this.btime = t.sec;
    this.atimensec = this.mtimensec = this.ctimensec = this.btimensec = t.nsec;
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
  evict(): void {
    this.xattrs = undefined;
  }

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
  /**
   * An O_TMPFILE file made without O_EXCL: linkat(2) may give it a name although its nlink is 0
   * (the kernel's I_LINKABLE). Any other inode whose last name is gone stays nameless.
   */
  linkable = false;

  constructor(ino: number, perm: number, uid: number, gid: number, t: Timespec, space: Space, nlink = 1) {
    super(ino, S_IFREG | perm, nlink, uid, gid, t);
    this.data = new FileData(space);
  }

  get size(): number { return this.data.size; }
  get blocks(): number { return this.data.allocated / 512; }

  override evict(): void {
    super.evict();
    this.data.clear();
  }
}

/** A symbolic link: st_size is the target's length in bytes, its permission bits are always 0777. */
export class SymlinkInode extends Inode {
  readonly size: number;

  /** `target` is a name under the name rule (src/abi/names.ts): any bytes round-trip. */
  constructor(ino: number, readonly target: string, uid: number, gid: number, t: Timespec) {
    super(ino, S_IFLNK | 0o777, 1, uid, gid, t);
    this.size = nameByteLength(target);
  }

  get blocks(): number { return 0; }
}

/** A FIFO, socket, character or block device: type and rdev are all it has. */
export class SpecialInode extends Inode {
  constructor(ino: number, mode: number, rdev: number, uid: number, gid: number, t: Timespec) {
    super(ino, mode, 1, uid, gid, t);
    this.rdev = rdev;
  }

  get size(): number { return 0; }
  get blocks(): number { return 0; }
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
