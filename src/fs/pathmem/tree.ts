// pathmem's inodes and the walk from a path to one. File contents reuse memfs's sparse chunked
// FileData; times carry nanoseconds (memfs's clock). A node has the fields of a Stat, so
// getattr and readdir hand out the node itself instead of a copy per call.
import { Errno, FuseError } from '../../errors.js';
import { FileData } from '../memfs/filedata.js';
import type { Space } from '../memfs/space.js';
import { now, type Timespec } from '../memfs/time.js';
import type { Stat } from '../../paths/types.js';

export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;

let nextIno = 1;

export class MemNode implements Stat {
  readonly ino = nextIno++;
  nlink = 1;
  rdev = 0;
  atime: Timespec;
  mtime: Timespec;
  ctime: Timespec;
  xattrs: Map<string, Buffer> | undefined = undefined;

  constructor(public mode: number, public uid: number, public gid: number) {
    this.atime = this.mtime = this.ctime = now();
  }

  get size(): number {
    return 0;
  }

  get blocks(): number {
    return 0;
  }

  /** mtime and ctime to now (the contents changed). */
  modified(): void {
    this.mtime = this.ctime = now();
  }

  changed(): void {
    this.ctime = now();
  }

  get blksize(): number {
    return 4096;
  }

  /** The node is its own Stat (no object per getattr): the bridge converts it at once. */
  stat(): Stat {
    return this;
  }
}

export class FileNode extends MemNode {
  readonly data: FileData;
  /** Open handles: the data outlives the last name while one is open. */
  opens = 0;
  constructor(mode: number, uid: number, gid: number, space: Space) {
    super(mode, uid, gid);
    this.data = new FileData(space);
  }
  override get size(): number {
    return this.data.size;
  }
  override get blocks(): number {
    return Math.ceil(this.data.allocated / 512);
  }
}

export class DirNode extends MemNode {
  readonly entries = new Map<string, MemNode>();
  constructor(mode: number, uid: number, gid: number, public parent: DirNode | undefined) {
    super(mode, uid, gid);
    this.nlink = 2;
  }
  override get size(): number {
    return 4096;
  }
}

export class LinkNode extends MemNode {
  constructor(readonly target: string, uid: number, gid: number) {
    super(S_IFLNK | 0o777, uid, gid);
  }
  override get size(): number {
    return Buffer.byteLength(this.target);
  }
}

/** The node at `path` (absolute, no trailing slash), walking from `root`; ENOENT / ENOTDIR as Linux. */
export function resolve(root: DirNode, path: string): MemNode {
  let node: MemNode = root;
  let i = 1;
  const len = path.length;
  while (i < len) {
    let j = path.indexOf('/', i);
    if (j < 0) j = len;
    if (!(node instanceof DirNode)) throw new FuseError(Errno.ENOTDIR);
    const next: MemNode | undefined = node.entries.get(path.slice(i, j));
    if (next === undefined) throw new FuseError(Errno.ENOENT);
    node = next;
    i = j + 1;
  }
  return node;
}

/** The directory that holds `path`, and the last name in it. */
export function parentOf(root: DirNode, path: string): [DirNode, string] {
  const slash = path.lastIndexOf('/');
  const dir = slash <= 0 ? root : resolve(root, path.slice(0, slash));
  if (!(dir instanceof DirNode)) throw new FuseError(Errno.ENOTDIR);
  const name = path.slice(slash + 1);
  if (name === '') throw new FuseError(Errno.EINVAL);
  return [dir, name];
}

/** True if `d` is `top` or lies below it. */
export function within(d: DirNode, top: DirNode): boolean {
  for (let x: DirNode | undefined = d; x !== undefined; x = x.parent) if (x === top) return true;
  return false;
}
