// memfs: the in-memory reference filesystem. This file maps each FUSE operation onto the inode
// table, the handle table and the namespace helpers; the rules live with the concepts they are
// about (namespace.ts, rename.ts, setattr.ts, readdir.ts, filedata.ts, xattr.ts, access.ts,
// locks.ts). Every method answers with a plain value, never a Promise: the session replies to
// those without a microtask. The one exception is a lock request that has to wait (F_SETLKW,
// flock without LOCK_NB): it answers with a Promise that settles when the lock is granted.
// bmap and ioctl stay unimplemented (ENOSYS): memfs is no block device and has no ioctls.
//
// Permissions: with default_permissions the kernel checks every operation against the
// attributes memfs reports, and memfs checks only what reaches it unchecked (access(2), xattrs).
// Without default_permissions the kernel checks nothing, and the checkPermissions option makes
// memfs check everything itself (access.ts has the rules, namespace.ts, rename.ts and setattr.ts
// apply them where Linux does).
import { FuseError, Errno } from '../../errors.js';
import type {
  AttrReply, CreateReply, DirentPlusWriter, DirentWriter, Entry, FileHandle, FileLock, Filesystem, InitInfo,
  NodeId, OpenReply, RequestContext, SetattrIn, Statfs, StatxReply,
} from '../../filesystem.js';
import { createReply } from '../../filesystem.js';
import { Fopen, Init, OPEN_KILL_SUIDGID, Release, Write } from '../../abi/flags.js';
import {
  access, Caller, mayOpen, mayOpendir, procGroups, search, writableFlags, type GroupsLookup,
} from './access.js';
import { DEFAULT_POLLMASK, MODE_PERM, O_APPEND, O_EXCL, O_TRUNC, STATX_BASIC_STATS, STATX_BTIME } from './constants.js';
import { NAME_MAX } from './directory.js';
import { HandleTable, type Handle } from './handles.js';
import { BLKSIZE, DirInode, FileInode, SymlinkInode, type Inode } from './inode.js';
import { InodeLocks, Locks } from './locks.js';
import * as ns from './namespace.js';
import { readdir, readdirplus } from './readdir.js';
import { rename } from './rename.js';
import { killCaps, killSuidgid, setattr } from './setattr.js';
import { Space } from './space.js';
import { InodeTable } from './table.js';
import { now } from './time.js';
import * as xattr from './xattr.js';

export interface MemFsOptions {
  /** Owner of the root directory (default: this process's uid). */
  uid?: number;
  /** Group of the root directory (default: this process's gid). */
  gid?: number;
  /** Permission bits of the root directory (default 0o755). */
  rootMode?: number;
  /** Bytes of file data the filesystem may hold; writes past it fail with ENOSPC. Default unlimited. */
  sizeLimit?: number;
  /**
   * Seconds the kernel may cache names (default a day, as libfuse's passthrough_hp; 0 with
   * checkPermissions). memfs changes only through the kernel, which updates or drops what it has
   * cached on every change, so nothing it caches goes stale; a short timeout only costs a LOOKUP
   * per name per timeout (an unlink of a name created a second ago: three round trips, not two).
   */
  entryTimeout?: number;
  /** Seconds the kernel may cache attributes (default a day, for the same reason). */
  attrTimeout?: number;
  /**
   * Check permissions here, for a mount without default_permissions (default false). Such a
   * mount has the kernel check nothing, so memfs then makes every check a Linux filesystem
   * makes for a caller that is not root, from the caller's uid, gid and supplementary groups:
   * search permission for lookup; write and search on the parent to create, link, remove or
   * rename, with the sticky-directory rule; read/write by the open mode (and write for O_TRUNC);
   * read to open a directory; who may chmod, chown, chgrp, truncate and set times. Root (uid 0)
   * passes them all, as with the capabilities. Leave it off with default_permissions: the
   * kernel has already checked.
   *
   * A cached name is not looked up again, so its directory's search permission would not be
   * checked again either: with this option entryTimeout defaults to 0. FIFOs and device nodes
   * are opened by the kernel without asking the filesystem, so their modes bind no one here.
   */
  checkPermissions?: boolean;
  /**
   * The supplementary groups of a caller, by pid (default: the "Groups:" line of
   * /proc/<pid>/task/<pid>/status). Asked only when a check needs it.
   */
  groups?: GroupsLookup;
}

/** What statfs reports as the total without a sizeLimit: 1 PiB, so df shows a sensible "size". */
const UNLIMITED_BYTES = 2 ** 50;
/** Total inodes statfs reports; nodeids themselves are never reused and not bounded by this. */
const MAX_INODES = 2 ** 32;
/** The negative entry for a missing name; frozen, since every miss shares it. */
/** How long the kernel may keep names and attributes by default: a day (see entryTimeout). */
const CACHE_SECONDS = 86_400;

const MISSING: Entry = Object.freeze({ nodeid: 0, attr: Object.freeze({ ino: 0, mode: 0 }), entryTimeout: 0, attrTimeout: 0 });

export class MemFs implements Filesystem {
  private readonly space: Space;
  private readonly inodes: InodeTable;
  private readonly handles = new HandleTable();
  private readonly locks = new Locks();
  private readonly entryTimeout: number;
  private readonly attrTimeout: number;
  /** With the kernel's writeback cache, the kernel resolves O_APPEND itself (see write). */
  private writebackCache = false;
  /**
   * FOPEN_NOFLUSH unless the kernel forwards POSIX locks to us: FLUSH at close(2) only matters
   * here for dropping the closer's locks, and saves one request of the four a create costs.
   */
  private openFlags: number = Fopen.NOFLUSH;
  private readonly checkPermissions: boolean;
  private readonly groups: GroupsLookup;

  constructor(opts: MemFsOptions = {}) {
    this.space = new Space(opts.sizeLimit ?? Infinity);
    this.inodes = new InodeTable(this.space, (opts.rootMode ?? 0o755) & MODE_PERM,
      opts.uid ?? process.getuid?.() ?? 0, opts.gid ?? process.getgid?.() ?? 0);
    this.checkPermissions = opts.checkPermissions ?? false;
    this.groups = opts.groups ?? procGroups;
    this.entryTimeout = opts.entryTimeout ?? (this.checkPermissions ? 0 : CACHE_SECONDS);
    this.attrTimeout = opts.attrTimeout ?? CACHE_SECONDS;
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
    this.openFlags = info.want & info.offered & Init.POSIX_LOCKS ? 0 : Fopen.NOFLUSH;
    // We drop set-id bits and file capabilities ourselves (the flags the kernel sends with write,
    // truncate, chown and O_TRUNC open say when): without this the kernel asks GETXATTR
    // security.capability before every write, doubling the requests a write costs.
    info.want |= info.offered & Init.HANDLE_KILLPRIV_V2;
  }

  /** A missing name is a negative entry with no timeout: to the kernel, exactly ENOENT. */
  lookup(ctx: RequestContext, parent: NodeId, name: string): Entry {
    const node = ns.find(this.inodes.dir(parent), name, this.checker(ctx));
    return node ? this.lookedUp(node) : MISSING;
  }

  forget(nodeid: NodeId, nlookup: number): void {
    this.inodes.forget(nodeid, nlookup);
  }

  getattr(_ctx: RequestContext, nodeid: NodeId, _fh: FileHandle | undefined): AttrReply {
    return { attr: this.inodes.get(nodeid).attr(), timeout: this.attrTimeout };
  }

  setattr(ctx: RequestContext, nodeid: NodeId, set: SetattrIn): AttrReply {
    const node = this.inodes.get(nodeid);
    const who = this.checker(ctx);
    // ftruncate(2) needs no write permission, only a handle open for writing.
    const writable = who !== undefined && set.fh !== undefined && writableFlags(this.handles.find(set.fh, nodeid)?.flags ?? 0);
    setattr(node, set, who, writable);
    return { attr: node.attr(), timeout: this.attrTimeout };
  }

  mkdir(ctx: RequestContext, parent: NodeId, name: string, mode: number, umask: number): Entry {
    return this.lookedUp(ns.mkdir(this.inodes, ctx, this.inodes.dir(parent), name, mode, umask, this.checker(ctx)));
  }

  unlink(ctx: RequestContext, parent: NodeId, name: string): void {
    ns.unlink(this.inodes, this.inodes.dir(parent), name, this.checker(ctx));
  }

  rmdir(ctx: RequestContext, parent: NodeId, name: string): void {
    ns.rmdir(this.inodes, this.inodes.dir(parent), name, this.checker(ctx));
  }

  rename(ctx: RequestContext, parent: NodeId, name: string, newparent: NodeId, newname: string,
    flags: number): void {
    rename(this.inodes, this.inodes.dir(parent), name, this.inodes.dir(newparent), newname, flags, this.checker(ctx));
  }

  open(ctx: RequestContext, nodeid: NodeId, flags: number, fuseFlags = 0): OpenReply {
    const node = this.inodes.get(nodeid);
    if (node instanceof DirInode) throw new FuseError(Errno.EISDIR);
    const who = this.checker(ctx);
    if (who) mayOpen(node, who, flags);
    this.openTrunc(node, flags, fuseFlags);
    return { fh: this.handles.add(node, flags), openFlags: this.openFlags };
  }

  /**
   * The kernel sends CREATE only for a name it believes absent; if another request created it
   * meanwhile, behave as open(2) with O_CREAT would: open the existing file.
   */
  create(ctx: RequestContext, parent: NodeId, name: string, mode: number, umask: number,
    flags: number, fuseFlags = 0): CreateReply {
    const dir = this.inodes.dir(parent);
    const who = this.checker(ctx);
    if (who) search(dir, who);
    const existing = dir.entries.get(name)?.node;
    let node: Inode;
    if (existing) {
      if (existing instanceof DirInode) throw new FuseError(Errno.EISDIR);
      if (flags & O_EXCL) throw new FuseError(Errno.EEXIST);
      if (who) mayOpen(existing, who, flags);
      this.openTrunc(existing, flags, fuseFlags);
      node = existing;
    } else {
      node = ns.createFile(this.inodes, ctx, dir, name, mode, umask, who);
    }
    return this.opened(node, flags);
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
      killCaps(node);
    }
    return data.length;
  }

  /** close(2) of any descriptor drops the closing process's POSIX locks on the file (the kernel leaves that to us). */
  flush(_ctx: RequestContext, nodeid: NodeId, fh: FileHandle, lockOwner: number): void {
    const node = this.handles.get(fh, nodeid).node;
    this.unlocked(node, (l) => l.dropPosix(lockOwner));
  }

  /** The open file is gone: its flock locks go with it (FLOCK_UNLOCK names their owner). */
  release(_ctx: RequestContext, nodeid: NodeId, fh: FileHandle, _flags: number, releaseFlags: number,
    lockOwner: number): void {
    const node = this.handles.remove(fh, nodeid).node;
    this.unlocked(node, (l) => {
      l.dropFlocks(fh, releaseFlags & Release.FLOCK_UNLOCK ? lockOwner : undefined);
      if (releaseFlags & Release.FLUSH) l.dropPosix(lockOwner);
    });
    this.inodes.release(node);
  }

  fsync(_ctx: RequestContext, nodeid: NodeId, fh: FileHandle, _datasync: boolean): void {
    this.handles.get(fh, nodeid);
  }

  opendir(ctx: RequestContext, nodeid: NodeId, flags: number): OpenReply {
    const dir = this.inodes.dir(nodeid);
    const who = this.checker(ctx);
    if (who) mayOpendir(dir, who);
    return { fh: this.handles.add(dir, flags) };
  }

  /** Reading a directory marks its atime, as getdents(2) does. */
  readdir(_ctx: RequestContext, nodeid: NodeId, fh: FileHandle, offset: number, out: DirentWriter): void {
    const h = this.handles.get(fh, nodeid);
    const dir = this.dirOf(h.node);
    readdir(dir, h, offset, out);
    dir.setAtime(now());
  }

  readdirplus(_ctx: RequestContext, nodeid: NodeId, fh: FileHandle, offset: number,
    out: DirentPlusWriter): void {
    const h = this.handles.get(fh, nodeid);
    const dir = this.dirOf(h.node);
    readdirplus(dir, h, offset, out, (node) => this.entry(node));
    dir.setAtime(now());
  }

  releasedir(_ctx: RequestContext, nodeid: NodeId, fh: FileHandle, _flags: number): void {
    const node = this.handles.remove(fh, nodeid).node;
    this.unlocked(node, (l) => l.dropFlocks(fh));
    this.inodes.release(node);
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

  /** Reading a symlink (readlink(2), or following it in a path) marks its atime. */
  readlink(_ctx: RequestContext, nodeid: NodeId): string {
    const node = this.inodes.get(nodeid);
    if (!(node instanceof SymlinkInode)) throw new FuseError(Errno.EINVAL);
    node.setAtime(now());
    return node.target;
  }

  symlink(ctx: RequestContext, parent: NodeId, name: string, target: string): Entry {
    return this.lookedUp(ns.symlink(this.inodes, ctx, this.inodes.dir(parent), name, target, this.checker(ctx)));
  }

  mknod(ctx: RequestContext, parent: NodeId, name: string, mode: number, rdev: number, umask: number): Entry {
    return this.lookedUp(ns.mknod(this.inodes, ctx, this.inodes.dir(parent), name, mode, rdev, umask, this.checker(ctx)));
  }

  link(ctx: RequestContext, nodeid: NodeId, newparent: NodeId, newname: string): Entry {
    const node = this.inodes.get(nodeid);
    ns.link(node, this.inodes.dir(newparent), newname, this.checker(ctx));
    return this.lookedUp(node);
  }

  setxattr(ctx: RequestContext, nodeid: NodeId, name: string, value: Buffer, flags: number,
    setxattrFlags: number): void {
    xattr.setxattr(this.inodes.get(nodeid), this.caller(ctx), name, value, flags, setxattrFlags);
  }

  getxattr(ctx: RequestContext, nodeid: NodeId, name: string, _size: number): Uint8Array {
    return xattr.getxattr(this.inodes.get(nodeid), this.caller(ctx), name);
  }

  listxattr(ctx: RequestContext, nodeid: NodeId, _size: number): string[] {
    return xattr.listxattr(this.inodes.get(nodeid), this.caller(ctx));
  }

  removexattr(ctx: RequestContext, nodeid: NodeId, name: string): void {
    xattr.removexattr(this.inodes.get(nodeid), this.caller(ctx), name);
  }

  /** access(2) and chdir(2), which the kernel asks about only without default_permissions. */
  access(ctx: RequestContext, nodeid: NodeId, mask: number): void {
    access(this.inodes.get(nodeid), this.caller(ctx), mask);
  }

  fsyncdir(_ctx: RequestContext, nodeid: NodeId, fh: FileHandle, _datasync: boolean): void {
    this.handles.get(fh, nodeid);
  }

  getlk(_ctx: RequestContext, nodeid: NodeId, fh: FileHandle, owner: number, lock: FileLock): FileLock {
    return this.locks.getlk(this.handles.get(fh, nodeid).node.locks, owner, lock);
  }

  setlk(ctx: RequestContext, nodeid: NodeId, fh: FileHandle, owner: number, lock: FileLock,
    sleep: boolean): void | Promise<void> {
    const node = this.handles.get(fh, nodeid).node;
    return this.locks.setlk(node.locks ??= new InodeLocks(), owner, lock, sleep, ctx.signal);
  }

  flock(ctx: RequestContext, nodeid: NodeId, fh: FileHandle, owner: number, operation: number): void | Promise<void> {
    const node = this.handles.get(fh, nodeid).node;
    return this.locks.flock(node.locks ??= new InodeLocks(), fh, owner, operation, ctx.signal);
  }

  fallocate(_ctx: RequestContext, nodeid: NodeId, fh: FileHandle, offset: number, length: number, mode: number): void {
    const node = this.file(this.handles.get(fh, nodeid));
    node.data.fallocate(offset, length, mode);
    node.modified();
  }

  lseek(_ctx: RequestContext, nodeid: NodeId, fh: FileHandle, offset: number, whence: number): number {
    return this.file(this.handles.get(fh, nodeid)).data.seek(offset, whence);
  }

  /** Overlapping ranges of one file (after clamping to its end) are EINVAL, as copy_file_range(2) says. */
  copyFileRange(_ctx: RequestContext, nodeidIn: NodeId, fhIn: FileHandle, offsetIn: number, nodeidOut: NodeId,
    fhOut: FileHandle, offsetOut: number, length: number, flags: number): number {
    if (flags !== 0) throw new FuseError(Errno.EINVAL);
    const src = this.file(this.handles.get(fhIn, nodeidIn));
    const dst = this.file(this.handles.get(fhOut, nodeidOut));
    const len = Math.min(length, Math.max(0, src.data.size - offsetIn));
    if (src === dst && offsetOut < offsetIn + len && offsetIn < offsetOut + len) throw new FuseError(Errno.EINVAL);
    const n = dst.data.copyFrom(src.data, offsetIn, offsetOut, len);
    const t = now();
    src.setAtime(t);
    if (n > 0) dst.modified(t);
    return n;
  }

  tmpfile(ctx: RequestContext, parent: NodeId, mode: number, umask: number, flags: number): CreateReply {
    const node = ns.tmpfile(this.inodes, ctx, this.inodes.dir(parent), mode, umask, flags, this.checker(ctx));
    return this.opened(node, flags);
  }

  /** Everything getattr has, plus the birth time. */
  statx(_ctx: RequestContext, nodeid: NodeId, _fh: FileHandle | undefined, _flags: number, _mask: number): StatxReply {
    const node = this.inodes.get(nodeid);
    const a = node.attr();
    return {
      attr: {
        mask: STATX_BASIC_STATS | STATX_BTIME, ino: a.ino, mode: a.mode, nlink: a.nlink, uid: a.uid, gid: a.gid,
        size: a.size, blocks: a.blocks, blksize: a.blksize, attributes: 0, attributesMask: 0,
        atime: a.atime, atimensec: a.atimensec, mtime: a.mtime, mtimensec: a.mtimensec,
        ctime: a.ctime, ctimensec: a.ctimensec, btime: node.btime, btimensec: node.btimensec,
        // fuse_attr.rdev is the kernel's new_encode_dev() form: major in bits 8–19, minor around it.
        rdevMajor: (node.rdev >>> 8) & 0xfff, rdevMinor: (node.rdev & 0xff) | ((node.rdev >>> 12) & 0xfff00),
      },
      timeout: this.attrTimeout,
    };
  }

  syncfs(_ctx: RequestContext, _nodeid: NodeId): void {}

  /** Memory is always ready: the default poll mask, as for a file without a poll method. */
  poll(_ctx: RequestContext, nodeid: NodeId, fh: FileHandle, _kh: number | undefined, events: number): number {
    this.handles.get(fh, nodeid);
    return events & DEFAULT_POLLMASK;
  }

  /** The caller of a request, for a check memfs always makes. */
  private caller(ctx: RequestContext): Caller {
    return new Caller(ctx, this.groups);
  }

  /** The caller when memfs checks permissions itself (checkPermissions), else undefined. */
  private checker(ctx: RequestContext): Caller | undefined {
    return this.checkPermissions ? new Caller(ctx, this.groups) : undefined;
  }

  /** Runs `drop` on the node's locks, if it has any, and forgets the lock state once nothing uses it. */
  private unlocked(node: Inode, drop: (l: InodeLocks) => void): void {
    if (!node.locks) return;
    drop(node.locks);
    if (node.locks.idle) node.locks = undefined;
  }

  /** The entry for lookup, create and mkdir replies, counting the reference the kernel takes. */
  private lookedUp(node: Inode): Entry {
    node.nlookup++;
    return this.entry(node);
  }

  /** The reply to create and tmpfile: the entry and a new handle. */
  private opened(node: Inode, flags: number): CreateReply {
    return createReply(this.lookedUp(node), { fh: this.handles.add(node, flags), openFlags: this.openFlags });
  }

  private entry(node: Inode): Entry {
    return {
      nodeid: node.ino, generation: 0, attr: node.attr(),
      entryTimeout: this.entryTimeout, attrTimeout: this.attrTimeout,
    };
  }

  /** O_TRUNC on open (the session negotiates ATOMIC_O_TRUNC): POSIX sets mtime/ctime even if already empty. */
  private openTrunc(node: Inode, flags: number, fuseFlags: number): void {
    if (!(flags & O_TRUNC) || !(node instanceof FileInode)) return;
    node.data.truncate(0);
    node.modified();
    if (fuseFlags & OPEN_KILL_SUIDGID) killSuidgid(node);
    killCaps(node);
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
