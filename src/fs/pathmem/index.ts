// pathmem: an in-memory filesystem written against the path API (fuse-uring/paths), the way a
// path-level filesystem is written: every operation resolves its path from the root. It serves
// the path API's tests and the benchmark's "memfs-paths" target (the same work as memfs, through
// the bridge). Open files are found by handle, so an unlinked open file stays readable and
// writable. Every method answers with a plain value. Permissions are left to the kernel (mount
// with defaultPermissions); no locks, no ioctls.
import { Errno, FuseError } from '../../errors.js';
import type { FileHandle } from '../../filesystem.js';
import { Space } from '../memfs/space.js';
import { now } from '../memfs/time.js';
import type { DirEntry, PathContext, PathFilesystem, PathStatfs, Stat, TimeSpec } from '../../paths/types.js';
import { linkable, rename } from './rename.js';
import { DirNode, FileNode, LinkNode, MemNode, parentOf, resolve, S_IFDIR, S_IFMT, S_IFREG } from './tree.js';

const O_ACCMODE = 3, O_TRUNC = 0o1000, O_APPEND = 0o2000, O_EXCL = 0o200;
const XATTR_CREATE = 1, XATTR_REPLACE = 2;

export interface PathMemFsOptions {
  /** Owner of the root directory (default: this process's). */
  uid?: number;
  gid?: number;
  /** Bytes of file data it may hold; past that, ENOSPC. Default unlimited. */
  sizeLimit?: number;
}

interface Open { node: FileNode; flags: number }

export class PathMemFs implements PathFilesystem {
  private readonly space: Space;
  private readonly root: DirNode;
  private readonly handles = new Map<FileHandle, Open>();
  private nextFh = 1;

  constructor(o: PathMemFsOptions = {}) {
    this.space = new Space(o.sizeLimit ?? Infinity);
    this.root = new DirNode(S_IFDIR | 0o755, o.uid ?? process.getuid?.() ?? 0, o.gid ?? process.getgid?.() ?? 0, undefined);
  }

  /** Open file handles (for tests). */
  handleCount(): number {
    return this.handles.size;
  }

  private node(path: string, fh?: FileHandle): MemNode {
    const h = fh === undefined ? undefined : this.handles.get(fh);
    return h !== undefined ? h.node : resolve(this.root, path);
  }

  private file(path: string, fh: FileHandle): Open {
    const h = this.handles.get(fh);
    if (h !== undefined) return h;
    const n = resolve(this.root, path);
    if (!(n instanceof FileNode)) throw new FuseError(n instanceof DirNode ? Errno.EISDIR : Errno.EINVAL);
    return { node: n, flags: 2 };
  }

  private add(path: string, make: (dir: DirNode) => MemNode): MemNode {
    const [dir, name] = parentOf(this.root, path);
    if (dir.entries.has(name)) throw new FuseError(Errno.EEXIST);
    if (dir.nlink === 0) throw new FuseError(Errno.ENOENT);
    const n = make(dir);
    dir.entries.set(name, n);
    if (n instanceof DirNode) dir.nlink++;
    dir.modified();
    return n;
  }

  private openFile(node: FileNode, flags: number): FileHandle {
    if ((flags & O_TRUNC) && (flags & O_ACCMODE) !== 0 && node.data.size > 0) {
      node.data.truncate(0);
      node.modified();
    }
    const fh = this.nextFh++;
    this.handles.set(fh, { node, flags });
    node.opens++;
    return fh;
  }

  getattr(path: string, fh: FileHandle | undefined): Stat {
    return this.node(path, fh).stat();
  }

  statfs(): PathStatfs {
    return { bsize: 4096, frsize: 4096, blocks: 2 ** 38, bfree: 2 ** 38 - Math.ceil(this.space.used / 4096), bavail: 2 ** 38 - Math.ceil(this.space.used / 4096), files: 2 ** 32, ffree: 2 ** 32, namemax: 255 };
  }

  readdir(path: string): DirEntry[] {
    const d = resolve(this.root, path);
    if (!(d instanceof DirNode)) throw new FuseError(Errno.ENOTDIR);
    const out: DirEntry[] = [{ name: '.', stat: d }, { name: '..', stat: d.parent ?? d }];
    for (const [name, n] of d.entries) out.push({ name, stat: n });
    return out;
  }

  mkdir(path: string, mode: number, ctx: PathContext): void {
    this.add(path, (dir) => new DirNode(S_IFDIR | (mode & 0o7777), ctx.uid, ctx.gid, dir));
  }

  mknod(path: string, mode: number, rdev: number, ctx: PathContext): void {
    const type = mode & S_IFMT;
    if (type === S_IFDIR) throw new FuseError(Errno.EINVAL);
    this.add(path, () => {
      const n = type === S_IFREG || type === 0 ? new FileNode(S_IFREG | (mode & 0o7777), ctx.uid, ctx.gid, this.space) : new MemNode(mode, ctx.uid, ctx.gid);
      n.rdev = rdev;
      return n;
    });
  }

  symlink(target: string, path: string, ctx: PathContext): void {
    this.add(path, () => new LinkNode(target, ctx.uid, ctx.gid));
  }

  readlink(path: string): string {
    const n = resolve(this.root, path);
    if (!(n instanceof LinkNode)) throw new FuseError(Errno.EINVAL);
    return n.target;
  }

  link(from: string, to: string): void {
    const n = linkable(this.root, from);
    this.add(to, () => n);
    n.nlink++;
    n.changed();
  }

  unlink(path: string): void {
    const [dir, name] = parentOf(this.root, path);
    const n = dir.entries.get(name);
    if (n === undefined) throw new FuseError(Errno.ENOENT);
    if (n instanceof DirNode) throw new FuseError(Errno.EISDIR);
    dir.entries.delete(name);
    dir.modified();
    n.nlink--;
    n.changed();
    this.maybeFree(n);
  }

  rmdir(path: string): void {
    const [dir, name] = parentOf(this.root, path);
    const n = dir.entries.get(name);
    if (n === undefined) throw new FuseError(Errno.ENOENT);
    if (!(n instanceof DirNode)) throw new FuseError(Errno.ENOTDIR);
    if (n.entries.size > 0) throw new FuseError(Errno.ENOTEMPTY);
    dir.entries.delete(name);
    dir.nlink--;
    dir.modified();
    n.nlink = 0;
  }

  rename(from: string, to: string, flags: number): void {
    rename(this.root, from, to, flags);
  }

  chmod(path: string, mode: number, fh: FileHandle | undefined): void {
    const n = this.node(path, fh);
    n.mode = (n.mode & S_IFMT) | (mode & 0o7777);
    n.changed();
  }

  chown(path: string, uid: number, gid: number, fh: FileHandle | undefined): void {
    const n = this.node(path, fh);
    if (uid !== -1) n.uid = uid;
    if (gid !== -1) n.gid = gid;
    n.changed();
  }

  truncate(path: string, size: number, fh: FileHandle | undefined): void {
    const n = this.node(path, fh);
    if (n instanceof DirNode) throw new FuseError(Errno.EISDIR);
    if (!(n instanceof FileNode)) throw new FuseError(Errno.EINVAL);
    n.data.truncate(size);
    n.modified();
  }

  utimens(path: string, atime: TimeSpec | undefined, mtime: TimeSpec | undefined, fh: FileHandle | undefined): void {
    const n = this.node(path, fh);
    if (atime !== undefined) n.atime = { sec: atime.sec, nsec: atime.nsec };
    if (mtime !== undefined) n.mtime = { sec: mtime.sec, nsec: mtime.nsec };
    n.ctime = now();
  }

  create(path: string, mode: number, flags: number, ctx: PathContext): FileHandle {
    const [dir, name] = parentOf(this.root, path);
    const existing = dir.entries.get(name);
    if (existing !== undefined) {
      if (flags & O_EXCL) throw new FuseError(Errno.EEXIST);
      if (!(existing instanceof FileNode)) throw new FuseError(existing instanceof DirNode ? Errno.EISDIR : Errno.EINVAL);
      return this.openFile(existing, flags);
    }
    const n = this.add(path, () => new FileNode(S_IFREG | (mode & 0o7777), ctx.uid, ctx.gid, this.space)) as FileNode;
    return this.openFile(n, flags);
  }

  open(path: string, flags: number): FileHandle {
    const n = resolve(this.root, path);
    if (n instanceof DirNode) throw new FuseError(Errno.EISDIR);
    if (!(n instanceof FileNode)) throw new FuseError(Errno.ENXIO ?? 6);
    return this.openFile(n, flags);
  }

  read(path: string, fh: FileHandle, buffer: Buffer, position: number): number {
    return this.file(path, fh).node.data.read(position, buffer.length, buffer);
  }

  write(path: string, fh: FileHandle, data: Buffer, position: number): number {
    const h = this.file(path, fh);
    const d = h.node.data;
    d.write(h.flags & O_APPEND ? d.size : position, data);
    h.node.modified();
    return data.length;
  }

  release(_path: string, fh: FileHandle): void {
    const h = this.handles.get(fh);
    if (h === undefined) return;
    this.handles.delete(fh);
    h.node.opens--;
    this.maybeFree(h.node);
  }

  fsync(): void {}

  fallocate(path: string, fh: FileHandle, offset: number, length: number, mode: number): void {
    const h = this.file(path, fh);
    h.node.data.fallocate(offset, length, mode);
    h.node.modified();
  }

  lseek(path: string, fh: FileHandle, offset: number, whence: number): number {
    return this.file(path, fh).node.data.seek(offset, whence);
  }

  setxattr(path: string, name: string, value: Buffer, flags: number): void {
    const n = resolve(this.root, path);
    const x = n.xattrs ??= new Map();
    if ((flags & XATTR_CREATE) && x.has(name)) throw new FuseError(Errno.EEXIST);
    if ((flags & XATTR_REPLACE) && !x.has(name)) throw new FuseError(Errno.ENODATA);
    x.set(name, Buffer.from(value));
    n.changed();
  }

  getxattr(path: string, name: string): Buffer | undefined {
    return resolve(this.root, path).xattrs?.get(name);
  }

  listxattr(path: string): string[] {
    return [...(resolve(this.root, path).xattrs?.keys() ?? [])];
  }

  removexattr(path: string, name: string): void {
    const n = resolve(this.root, path);
    if (!n.xattrs?.delete(name)) throw new FuseError(Errno.ENODATA);
    n.changed();
  }

  /** A file with no name and no open handle gives its memory back. */
  private maybeFree(n: MemNode): void {
    if (n instanceof FileNode && n.nlink <= 0 && n.opens === 0) n.data.clear();
  }
}
