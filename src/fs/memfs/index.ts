// memfs: the in-memory reference filesystem. This file maps each FUSE operation onto the inode
// table, the handle table and the namespace helpers; the rules live with the concepts they are
// about (namespace.ts, rename.ts, setattr.ts, readdir.ts, filedata.ts). Every method answers with
// a plain value, never a Promise: the session replies to those without a microtask.
import { FuseError, Errno } from '../../errors.js';
import type {
  AttrReply, CreateReply, DirentPlusWriter, DirentWriter, Entry, FileHandle, Filesystem, InitInfo,
  NodeId, OpenReply, RequestContext, SetattrIn, Statfs,
} from '../../filesystem.js';
import { Init, Write } from '../../abi/flags.js';
import { MODE_PERM, O_APPEND, O_EXCL, O_TRUNC } from './constants.js';
import { NAME_MAX } from './directory.js';
import { HandleTable, type Handle } from './handles.js';
import { BLKSIZE, DirInode, FileInode, type Inode } from './inode.js';
import * as ns from './namespace.js';
import { readdir, readdirplus } from './readdir.js';
import { rename } from './rename.js';
import { killSuidgid, setattr } from './setattr.js';
import { Space } from './space.js';
import { InodeTable } from './table.js';
import { now } from './time.js';

export interface MemFsOptions {
  /** Owner of the root directory (default: this process's uid). */
  uid?: number;
  /** Group of the root directory (default: this process's gid). */
  gid?: number;
  /** Permission bits of the root directory (default 0o755). */
  rootMode?: number;
  /** Bytes of file data the filesystem may hold; writes past it fail with ENOSPC. Default unlimited. */
  sizeLimit?: number;
  /** Seconds the kernel may cache names (default 1). */
  entryTimeout?: number;
  /** Seconds the kernel may cache attributes (default 1). */
  attrTimeout?: number;
}

/** What statfs reports as the total without a sizeLimit: 1 PiB, so df shows a sensible "size". */
const UNLIMITED_BYTES = 2 ** 50;
/** Total inodes statfs reports; nodeids themselves are never reused and not bounded by this. */
const MAX_INODES = 2 ** 32;

export class MemFs implements Filesystem {
  private readonly space: Space;
  private readonly inodes: InodeTable;
  private readonly handles = new HandleTable();
  private readonly entryTimeout: number;
  private readonly attrTimeout: number;
  /** With the kernel's writeback cache, the kernel resolves O_APPEND itself (see write). */
  private writebackCache = false;

  constructor(opts: MemFsOptions = {}) {
    this.space = new Space(opts.sizeLimit ?? Infinity);
    this.inodes = new InodeTable(this.space, (opts.rootMode ?? 0o755) & MODE_PERM,
      opts.uid ?? process.getuid?.() ?? 0, opts.gid ?? process.getgid?.() ?? 0);
    this.entryTimeout = opts.entryTimeout ?? 1;
    this.attrTimeout = opts.attrTimeout ?? 1;
  }

  /** Inodes currently held in memory (linked, open, or still known to the kernel); the root counts. */
  inodeCount(): number {
    return this.inodes.count;
  }

  /** Open file and directory handles. */
  handleCount(): number {
    return this.handles.count;
  }

  /** Bytes of file data allocated (what sizeLimit is measured against). */
  bytesUsed(): number {
    return this.space.used;
  }

  init(info: InitInfo): void {
    this.writebackCache = (info.want & info.offered & Init.WRITEBACK_CACHE) !== 0n;
  }

  lookup(_ctx: RequestContext, parent: NodeId, name: string): Entry {
    return this.lookedUp(ns.child(this.inodes.dir(parent), name));
  }

  forget(nodeid: NodeId, nlookup: number): void {
    this.inodes.forget(nodeid, nlookup);
  }

  getattr(_ctx: RequestContext, nodeid: NodeId, _fh: FileHandle | undefined): AttrReply {
    return { attr: this.inodes.get(nodeid).attr(), timeout: this.attrTimeout };
  }

  setattr(_ctx: RequestContext, nodeid: NodeId, set: SetattrIn): AttrReply {
    const node = this.inodes.get(nodeid);
    setattr(node, set);
    return { attr: node.attr(), timeout: this.attrTimeout };
  }

  mkdir(ctx: RequestContext, parent: NodeId, name: string, mode: number, umask: number): Entry {
    return this.lookedUp(ns.mkdir(this.inodes, ctx, this.inodes.dir(parent), name, mode, umask));
  }

  unlink(_ctx: RequestContext, parent: NodeId, name: string): void {
    ns.unlink(this.inodes, this.inodes.dir(parent), name);
  }

  rmdir(_ctx: RequestContext, parent: NodeId, name: string): void {
    ns.rmdir(this.inodes, this.inodes.dir(parent), name);
  }

  rename(_ctx: RequestContext, parent: NodeId, name: string, newparent: NodeId, newname: string,
    flags: number): void {
    rename(this.inodes, this.inodes.dir(parent), name, this.inodes.dir(newparent), newname, flags);
  }

  open(_ctx: RequestContext, nodeid: NodeId, flags: number): OpenReply {
    const node = this.inodes.get(nodeid);
    if (node instanceof DirInode) throw new FuseError(Errno.EISDIR);
    this.openTrunc(node, flags);
    return { fh: this.handles.add(node, flags) };
  }

  /**
   * The kernel sends CREATE only for a name it believes absent; if another request created it
   * meanwhile, behave as open(2) with O_CREAT would: open the existing file.
   */
  create(ctx: RequestContext, parent: NodeId, name: string, mode: number, umask: number,
    flags: number): CreateReply {
    const dir = this.inodes.dir(parent);
    const existing = dir.entries.get(name)?.node;
    let node: Inode;
    if (existing) {
      if (existing instanceof DirInode) throw new FuseError(Errno.EISDIR);
      if (flags & O_EXCL) throw new FuseError(Errno.EEXIST);
      this.openTrunc(existing, flags);
      node = existing;
    } else {
      node = ns.createFile(this.inodes, ctx, dir, name, mode, umask);
    }
    const fh = this.handles.add(node, flags);
    return { ...this.lookedUp(node), fh };
  }

  read(_ctx: RequestContext, nodeid: NodeId, fh: FileHandle, offset: number, size: number,
    out: Buffer): number {
    const node = this.file(this.handles.get(fh, nodeid));
    const n = node.data.read(offset, size, out);
    node.setAtime(now());
    return n;
  }

  write(_ctx: RequestContext, nodeid: NodeId, fh: FileHandle, offset: number, data: Buffer,
    writeFlags: number, _flags: number): number {
    const h = this.handles.get(fh, nodeid);
    const node = this.file(h);
    // Without the writeback cache the kernel forwards O_APPEND writes at its own idea of the
    // size, which may be stale; the end of the file is only known here. With the writeback cache
    // the kernel has already placed the data at the end and flushes pages at their offsets.
    const at = h.flags & O_APPEND && !this.writebackCache ? node.data.size : offset;
    node.data.write(at, data);
    if (data.length > 0) {
      node.modified();
      if (writeFlags & Write.KILL_SUIDGID) killSuidgid(node);
    }
    return data.length;
  }

  flush(_ctx: RequestContext, nodeid: NodeId, fh: FileHandle, _lockOwner: number): void {
    this.handles.get(fh, nodeid);
  }

  release(_ctx: RequestContext, nodeid: NodeId, fh: FileHandle, _flags: number, _releaseFlags: number,
    _lockOwner: number): void {
    this.inodes.release(this.handles.remove(fh, nodeid).node);
  }

  fsync(_ctx: RequestContext, nodeid: NodeId, fh: FileHandle, _datasync: boolean): void {
    this.handles.get(fh, nodeid);
  }

  opendir(_ctx: RequestContext, nodeid: NodeId, flags: number): OpenReply {
    return { fh: this.handles.add(this.inodes.dir(nodeid), flags) };
  }

  readdir(_ctx: RequestContext, nodeid: NodeId, fh: FileHandle, offset: number, out: DirentWriter): void {
    const h = this.handles.get(fh, nodeid);
    readdir(this.dirOf(h.node), h, offset, out);
  }

  readdirplus(_ctx: RequestContext, nodeid: NodeId, fh: FileHandle, offset: number,
    out: DirentPlusWriter): void {
    const h = this.handles.get(fh, nodeid);
    readdirplus(this.dirOf(h.node), h, offset, out, (node) => this.entry(node));
  }

  releasedir(_ctx: RequestContext, nodeid: NodeId, fh: FileHandle, _flags: number): void {
    this.inodes.release(this.handles.remove(fh, nodeid).node);
  }

  statfs(_ctx: RequestContext, _nodeid: NodeId): Statfs {
    const total = Number.isFinite(this.space.limit) ? this.space.limit : UNLIMITED_BYTES;
    const blocks = Math.floor(total / BLKSIZE);
    const bfree = Math.max(0, Math.floor((total - this.space.used) / BLKSIZE));
    const ffree = Math.max(0, MAX_INODES - this.inodes.count);
    return {
      blocks, bfree, bavail: bfree, files: MAX_INODES, ffree,
      bsize: BLKSIZE, frsize: BLKSIZE, namelen: NAME_MAX,
    };
  }

  /** The entry for lookup, create and mkdir replies, counting the reference the kernel takes. */
  private lookedUp(node: Inode): Entry {
    node.nlookup++;
    return this.entry(node);
  }

  private entry(node: Inode): Entry {
    return {
      nodeid: node.ino, generation: 0, attr: node.attr(),
      entryTimeout: this.entryTimeout, attrTimeout: this.attrTimeout,
    };
  }

  /** O_TRUNC on open (the session negotiates ATOMIC_O_TRUNC): POSIX sets mtime/ctime even if already empty. */
  private openTrunc(node: Inode, flags: number): void {
    if (!(flags & O_TRUNC) || !(node instanceof FileInode)) return;
    node.data.truncate(0);
    node.modified();
  }

  private file(h: Handle): FileInode {
    const node = h.node;
    if (node instanceof DirInode) throw new FuseError(Errno.EISDIR);
    if (!(node instanceof FileInode)) throw new FuseError(Errno.EINVAL);
    return node;
  }

  private dirOf(node: Inode): DirInode {
    if (!(node instanceof DirInode)) throw new FuseError(Errno.ENOTDIR);
    return node;
  }
}
