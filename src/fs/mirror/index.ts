// mirror: a directory tree of the local system, presented through FUSE with every operation
// applied to the source. See README.md in this folder for the design: inode-based, one name at a
// time relative to held directory fds, never following a symlink of the source, a bounded fd
// cache, creations as the caller, and FUSE passthrough for the data of opened files.
//
//   const fs = new MirrorFs('/srv/data', { passthrough: true });
//   const session = await mount('/mnt/data', fs, { passthrough: true, defaultPermissions: true });
//   fs.attach(session);   // right away: passthrough needs the session's backing-file ioctls
import { closeSync, openSync, constants as fsc } from 'node:fs';
import { FuseError, Errno } from '../../errors.js';
import type {
  AttrReply, CreateReply, DirentPlusWriter, DirentWriter, Entry, FileHandle, Filesystem, InitInfo, NodeId,
  OpenReply, RequestContext, SetattrIn, Statfs, StatxReply,
} from '../../filesystem.js';
import { createReply } from '../../filesystem.js';
import type { Session } from '../../session.js';
import { Fopen, Init, Rename } from '../../abi/flags.js';
import { bufferToName } from '../../abi/names.js';
import { native } from '../../native.js';
import { checkAccess } from './access.js';
import {
  AT_FDCWD, AT_STATX_SYNC_TYPE, MODE_PERM, O_ACCMODE, O_APPEND, O_CREAT, O_DIRECTORY, O_EXCL, O_NOCTTY, O_NOFOLLOW,
  O_PATH, O_RDONLY, O_RDWR, O_TMPFILE, O_WRONLY, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, STATX_BASIC_STATS, STATX_BTIME,
  STATX_NLINK, UTIME_NOW, UTIME_OMIT,
} from './constants.js';
import { FdCache } from './fdcache.js';
import { HandleTable, type OpenDir, type OpenFile } from './handles.js';
import { DOT_NAME, component, linkTarget, procChild, procPath, xattrName } from './names.js';
import { NodeTable, type Node } from './nodes.js';
import type { MirrorFsOptions, MirrorStats } from './options.js';
import { readPage } from './readdir.js';
import {
  Stat, check, checkBuffer, closeAsync, copyFileRangeAsync, fallocateAsync, fsyncAsync, ftruncateAsync, openAsync,
  readAsync, renameAsync, rmdirAsync, statAt, statfs, sys, syncfsAsync, unlinkAsync, unlinkNow, writeAsync,
} from './sys.js';

export type { MirrorFsOptions, MirrorStats } from './options.js';

const DEFAULT_MAX_FDS = 2048;
/** Flags the kernel handles itself and that must not reach an open of an existing inode. */
const NOT_FOR_OPEN = O_CREAT | O_EXCL | O_NOCTTY | O_NOFOLLOW | O_TMPFILE;

const isDot = (b: Buffer): boolean => b.length === 1 && b[0] === 0x2e;
const isDotDot = (b: Buffer): boolean => b.length === 2 && b[0] === 0x2e && b[1] === 0x2e;
const isFdShortage = (e: unknown): boolean => e instanceof FuseError && (e.errno === Errno.EMFILE || e.errno === Errno.ENFILE);

export class MirrorFs implements Filesystem {
  /** The source directory, as given. */
  readonly source: string;
  private readonly nodes: NodeTable;
  private readonly fds: FdCache;
  private readonly handles = new HandleTable();
  private readonly rootIno: number;
  private readonly entryTimeout: number;
  private readonly attrTimeout: number;
  private readonly wantPassthrough: boolean;
  private readonly asCaller: boolean;
  private readonly log: (line: string) => void;
  private session: Session | undefined;
  private passthroughOn = false;
  private writeback = false;
  private dontMask = false;
  private refusalLogged = false;
  private readonly counts = {
    passthroughOpens: 0, userspaceOpens: 0, passthroughRefused: 0, reads: 0, writes: 0, bytesRead: 0, bytesWritten: 0,
    fsyncs: 0, fdatasyncs: 0, fsyncdirs: 0, syncfs: 0, flushes: 0,
  };

  /**
   * Opens `source` (a directory; a symlink in the path given here is the user's choice and is
   * followed once, now). Sets the process umask to 0, as libfuse's passthrough examples do: the
   * modes the kernel sends already carry each caller's umask, and the daemon's must not apply twice.
   */
  constructor(source: string, opts: MirrorFsOptions = {}) {
    this.source = source;
    this.entryTimeout = opts.entryTimeout ?? 1;
    this.attrTimeout = opts.attrTimeout ?? 1;
    this.wantPassthrough = opts.passthrough ?? process.geteuid?.() === 0;
    this.asCaller = opts.createAsCaller ?? process.geteuid?.() === 0;
    this.log = opts.log ?? ((line) => process.stderr.write(`fuse-uring mirror: ${line}\n`));
    this.fds = new FdCache(opts.maxCachedFds ?? DEFAULT_MAX_FDS);
    const fd = openSync(source, O_RDONLY | O_DIRECTORY);
    let st: Stat;
    try {
      st = statAt(fd, null);
    } catch (e) {
      native.close(fd);
      throw e;
    }
    this.rootIno = st.ino;
    this.nodes = new NodeTable(st.key, st.type, st.btime, (node) => this.fds.drop(node));
    this.nodes.root.fd = fd;
    process.umask(0);
  }

  /**
   * Gives the mirror its session: call it as soon as mount() resolves. Passthrough needs the
   * session (session.openBacking); until attach() — and on a session without FUSE_PASSTHROUGH —
   * opened files are served by userspace I/O.
   */
  attach(session: Session): void {
    this.session = session;
    const flags = session.connection.flags;
    this.passthroughOn = this.wantPassthrough && (flags & Init.PASSTHROUGH) !== 0n;
    this.writeback = (flags & Init.WRITEBACK_CACHE) !== 0n;
    this.dontMask = (flags & Init.DONT_MASK) !== 0n;
  }

  /** True once attach() saw FUSE_PASSTHROUGH negotiated (and the option is on). */
  get passthroughActive(): boolean {
    return this.passthroughOn;
  }

  stats(): MirrorStats {
    return {
      nodes: this.nodes.size, cachedFds: this.fds.size, maxCachedFds: this.fds.capacity,
      resolutions: this.fds.resolutions, stale: this.fds.stale, evictions: this.fds.evictions,
      openFiles: this.handles.files, openDirs: this.handles.dirs, ...this.counts,
    };
  }

  init(info: InitInfo): void {
    if (!this.wantPassthrough) info.want &= ~Init.PASSTHROUGH;
    this.writeback = (info.want & Init.WRITEBACK_CACHE) !== 0n && (info.want & Init.PASSTHROUGH) === 0n;
    this.dontMask = (info.want & Init.DONT_MASK) !== 0n;
  }

  destroy(): void {
    for (const h of this.handles.all()) {
      try { native.close(h.fd); } catch { /* already gone */ }
    }
    this.fds.clear();
    for (const node of this.nodes.all()) {
      if (node.fixed && node.fd >= 0) {
        try { native.close(node.fd); } catch { /* already gone */ }
        node.fd = -1;
      }
    }
  }

  // ---- names ----

  lookup(_ctx: RequestContext, parent: NodeId, name: string): Entry {
    const b = component(name);
    const p = this.nodes.get(parent);
    return this.fds.use(p, (pfd) => this.lookedUp(p, b, statAt(pfd, b)));
  }

  forget(nodeid: NodeId, nlookup: number): void {
    this.nodes.forget(nodeid, nlookup);
  }

  mkdir(ctx: RequestContext, parent: NodeId, name: string, mode: number, umask: number): Entry {
    const b = component(name);
    const p = this.nodes.get(parent);
    return this.fds.use(p, (pfd) => {
      check(sys.fsMkdirat(pfd, b, this.createMode(mode, umask), ...this.owner(ctx)));
      return this.lookedUp(p, b, statAt(pfd, b));
    });
  }

  mknod(ctx: RequestContext, parent: NodeId, name: string, mode: number, rdev: number, umask: number): Entry {
    const b = component(name);
    const p = this.nodes.get(parent);
    return this.fds.use(p, (pfd) => {
      check(sys.fsMknodat(pfd, b, (mode & S_IFMT) | this.createMode(mode, umask), rdev, ...this.owner(ctx)));
      return this.lookedUp(p, b, statAt(pfd, b));
    });
  }

  symlink(ctx: RequestContext, parent: NodeId, name: string, target: string): Entry {
    const b = component(name);
    const t = linkTarget(target);
    const p = this.nodes.get(parent);
    return this.fds.use(p, (pfd) => {
      check(sys.fsSymlinkat(t, pfd, b, ...this.owner(ctx)));
      return this.lookedUp(p, b, statAt(pfd, b));
    });
  }

  /** The new name for exactly the inode the kernel means (linkat on its own fd, AT_EMPTY_PATH). */
  link(_ctx: RequestContext, nodeid: NodeId, newparent: NodeId, newname: string): Entry {
    const b = component(newname);
    const node = this.nodes.get(nodeid);
    const np = this.nodes.get(newparent);
    return this.fds.use2(node, np, (fd, npfd) => {
      check(sys.fsLinkat(fd, npfd, b));
      return this.lookedUp(np, b, statAt(fd, null));
    });
  }

  /**
   * The last name of a file goes in the thread pool: that frees a large file's blocks then and
   * there. One of several names goes on the event loop, because the kernel lowers its cached link
   * count itself when our reply arrives: an attribute reply computed after the unlink and delivered
   * before that reply (another caller's READDIRPLUS, answered while the unlink ran in the pool)
   * would leave the count one too low, and link(2) of a remaining name fails with ENOENT without
   * asking us (the soak found it). See rename for the same with a replaced name.
   */
  unlink(_ctx: RequestContext, parent: NodeId, name: string): Promise<void> | void {
    const b = component(name);
    const p = this.nodes.get(parent);
    const onLoop = this.fds.use(p, (pfd) => {
      if (this.linksAt(pfd, b) <= 1) return false;
      unlinkNow(procChild(pfd, b));
      return true;
    });
    if (!onLoop) return this.fds.useAsync(p, (pfd) => unlinkAsync(procChild(pfd, b)));
  }

  rmdir(_ctx: RequestContext, parent: NodeId, name: string): Promise<void> {
    const b = component(name);
    return this.fds.useAsync(this.nodes.get(parent), (pfd) => rmdirAsync(procChild(pfd, b)));
  }

  /**
   * rename(2) in the thread pool (replacing the last name of a large file frees its blocks then
   * and there), unless it replaces one of several names of a file (see unlink); renameat2 with the
   * kernel's flags (NOREPLACE, EXCHANGE, WHITEOUT), which replace nothing or need the addon, on the
   * event loop. Moved nodes are recorded under their new names.
   */
  async rename(_ctx: RequestContext, parent: NodeId, name: string, newparent: NodeId, newname: string, flags: number): Promise<void> {
    const b = component(name);
    const nb = component(newname);
    const p = this.nodes.get(parent);
    const np = this.nodes.get(newparent);
    if (flags === 0 && this.fds.use(np, (npfd) => this.linksAt(npfd, nb) <= 1)) {
      await this.fds.useAsync(p, (pfd) => this.fds.useAsync(np, async (npfd) => {
        const moving = this.knownAt(pfd, b);
        await renameAsync(procChild(pfd, b), procChild(npfd, nb));
        if (moving !== undefined) this.nodes.rename(moving, np, nb);
      }));
      return;
    }
    this.fds.use2(p, np, (pfd, npfd) => {
      const moving = this.knownAt(pfd, b);
      const other = flags & Rename.EXCHANGE ? this.knownAt(npfd, nb) : undefined;
      check(sys.fsRenameat2(pfd, b, npfd, nb, flags));
      if (moving !== undefined) this.nodes.rename(moving, np, nb);
      if (other !== undefined) this.nodes.rename(other, p, b);
    });
  }

  readlink(_ctx: RequestContext, nodeid: NodeId): string {
    return this.fds.use(this.nodes.get(nodeid), (fd) => bufferToName(checkBuffer(sys.fsReadlink(fd))));
  }

  // ---- attributes ----

  getattr(_ctx: RequestContext, nodeid: NodeId, fh: FileHandle | undefined): AttrReply {
    const h = this.handles.find(fh);
    const st = h !== undefined ? statAt(h.fd, null) : this.statNode(this.nodes.get(nodeid));
    return { attr: st.attr(), timeout: this.attrTimeout };
  }

  /** chmod, chown, truncate, utimens (with UTIME_NOW / UTIME_OMIT), in that order, on exactly the inode. */
  async setattr(_ctx: RequestContext, nodeid: NodeId, set: SetattrIn): Promise<AttrReply> {
    const node = this.nodes.get(nodeid);
    const h = this.handles.find(set.fh);
    const meta = (f: (fd: number) => number): void => {
      if (h !== undefined) check(f(h.fd));
      else this.fds.use(node, (fd) => check(f(fd)));
    };
    if (set.mode !== undefined) meta((fd) => sys.fsChmod(fd, set.mode! & MODE_PERM));
    if (set.uid !== undefined || set.gid !== undefined) {
      meta((fd) => sys.fsChown(fd, set.uid === undefined ? -1 : set.uid | 0, set.gid === undefined ? -1 : set.gid | 0));
    }
    if (set.size !== undefined) {
      const size = set.size;
      if (h?.kind === 'file') {
        await ftruncateAsync(h.fd, size);
      } else {
        if (node.type !== S_IFREG) throw new FuseError(node.type === S_IFDIR ? Errno.EISDIR : Errno.EINVAL);
        await this.retryOnFdShortage(() => this.fds.useAsync(node, async (opfd) => {
          const fd = await openAsync(procPath(opfd), O_WRONLY);
          try {
            await ftruncateAsync(fd, size);
          } finally {
            await closeAsync(fd);
          }
        }));
      }
    }
    if (set.atime !== undefined || set.atimeNow || set.mtime !== undefined || set.mtimeNow) {
      const [as, ans] = set.atimeNow ? [0, UTIME_NOW] : set.atime !== undefined ? [set.atime, set.atimensec ?? 0] : [0, UTIME_OMIT];
      const [ms, mns] = set.mtimeNow ? [0, UTIME_NOW] : set.mtime !== undefined ? [set.mtime, set.mtimensec ?? 0] : [0, UTIME_OMIT];
      meta((fd) => sys.fsUtimens(fd, as, ans, ms, mns));
    }
    const st = h !== undefined ? statAt(h.fd, null) : this.statNode(node);
    return { attr: st.attr(), timeout: this.attrTimeout };
  }

  statx(_ctx: RequestContext, nodeid: NodeId, fh: FileHandle | undefined, flags: number, mask: number): StatxReply {
    const m = mask | STATX_BASIC_STATS;
    const f = flags & AT_STATX_SYNC_TYPE;
    const h = this.handles.find(fh);
    const st = h !== undefined ? statAt(h.fd, null, m, f) : this.statNode(this.nodes.get(nodeid), m, f);
    return { attr: st.statx(), timeout: this.attrTimeout };
  }

  statfs(_ctx: RequestContext, nodeid: NodeId): Statfs {
    return this.fds.use(this.nodes.get(nodeid), (fd) => statfs(fd));
  }

  /** Only asked without default_permissions: decided from the source inode for the caller. */
  access(ctx: RequestContext, nodeid: NodeId, mask: number): void {
    checkAccess(ctx, this.statNode(this.nodes.get(nodeid)), mask);
  }

  // ---- xattrs, on exactly the inode (its /proc/self/fd magic link, any type) ----

  setxattr(_ctx: RequestContext, nodeid: NodeId, name: string, value: Buffer, flags: number, _setxattrFlags: number): void {
    const n = xattrName(name);
    this.fds.use(this.nodes.get(nodeid), (fd) => check(sys.fsSetxattr(fd, n, value, flags)));
  }

  getxattr(_ctx: RequestContext, nodeid: NodeId, name: string, _size: number): Uint8Array {
    const n = xattrName(name);
    return this.fds.use(this.nodes.get(nodeid), (fd) => checkBuffer(sys.fsGetxattr(fd, n)));
  }

  listxattr(_ctx: RequestContext, nodeid: NodeId, _size: number): string[] {
    const list = this.fds.use(this.nodes.get(nodeid), (fd) => checkBuffer(sys.fsListxattr(fd)));
    const names: string[] = [];
    for (let start = 0; start < list.length;) {
      let end = list.indexOf(0, start);
      if (end < 0) end = list.length;
      if (end > start) names.push(bufferToName(list.subarray(start, end)));
      start = end + 1;
    }
    return names;
  }

  removexattr(_ctx: RequestContext, nodeid: NodeId, name: string): void {
    const n = xattrName(name);
    this.fds.use(this.nodes.get(nodeid), (fd) => check(sys.fsRemovexattr(fd, n)));
  }

  // ---- files ----

  async open(_ctx: RequestContext, nodeid: NodeId, flags: number): Promise<OpenReply> {
    const node = this.nodes.get(nodeid);
    if (node.type === S_IFDIR) throw new FuseError(Errno.EISDIR);
    // The kernel opens FIFOs and device nodes of a FUSE mount itself and never asks; were it to,
    // the daemon must not open a source device as root.
    if (node.type !== S_IFREG) throw new FuseError(node.type === S_IFLNK ? Errno.ELOOP : Errno.EINVAL);
    // Through the magic link of the node's O_PATH fd: exactly this inode, whatever its name is now.
    const fd = await this.retryOnFdShortage(() =>
      this.fds.useAsync(node, (opfd) => openAsync(procPath(opfd), this.ioFlags(flags) & ~NOT_FOR_OPEN)));
    return this.opened(node, fd);
  }

  /**
   * A new file, created as the caller (O_CREAT | O_EXCL | O_NOFOLLOW in the parent's fd). The
   * kernel sends CREATE only for a name it has just found absent. If it exists after all (made
   * meanwhile, in the source or through the mount) and the caller did not ask for O_EXCL, the
   * answer is ESTALE: the kernel then looks the name up again and opens what is there itself,
   * checking the caller's permissions on it (default_permissions), following a symlink in the
   * client's namespace, opening a FIFO or a device node under the mount's nodev. Opening the
   * existing file here instead would do it as root, with the caller's O_TRUNC and access mode,
   * after the kernel checked only the right to create in the directory: a race that hands a
   * writable fd on someone else's file to whoever wins it.
   */
  async create(ctx: RequestContext, parent: NodeId, name: string, mode: number, umask: number, flags: number): Promise<CreateReply> {
    const b = component(name);
    const p = this.nodes.get(parent);
    const io = this.ioFlags(flags) & ~NOT_FOR_OPEN;
    const owner = this.owner(ctx);
    const createIt = (): number => this.fds.use(p, (pfd) =>
      sys.fsOpenat(pfd, b, io | O_CREAT | O_EXCL | O_NOFOLLOW, this.createMode(mode, umask), ...owner));
    let fd = createIt();
    if (fd === -Errno.EMFILE || fd === -Errno.ENFILE) {
      this.fds.shrink();
      fd = createIt();
    }
    if (fd === -Errno.EEXIST && !(flags & O_EXCL)) fd = -Errno.ESTALE;
    check(fd);
    try {
      const st = statAt(fd, null);
      const node = this.nodes.found(st.key, st.type, st.btime, p, b);
      return createReply(this.entry(node, st), this.opened(node, fd));
    } catch (e) {
      await closeAsync(fd).catch(() => {});
      throw e;
    }
  }

  /** O_TMPFILE in the parent, as the caller; the inode has no name, so its O_PATH fd stays until forget. */
  tmpfile(ctx: RequestContext, parent: NodeId, mode: number, umask: number, flags: number): CreateReply {
    const p = this.nodes.get(parent);
    const io = this.ioFlags(flags) & ~(NOT_FOR_OPEN | O_DIRECTORY);
    const fd = check(this.fds.use(p, (pfd) => sys.fsOpenat(pfd, DOT_NAME, io | O_TMPFILE, this.createMode(mode, umask), ...this.owner(ctx))));
    try {
      const st = statAt(fd, null);
      const node = this.nodes.found(st.key, st.type, st.btime, null, null);
      if (node.fd < 0) {
        node.fd = check(sys.fsOpenat(AT_FDCWD, Buffer.from(procPath(fd)), O_PATH, 0, -1, -1));
        node.fixed = true;
      }
      return createReply(this.entry(node, st), this.opened(node, fd));
    } catch (e) {
      native.close(fd);
      throw e;
    }
  }

  /** Userspace I/O (no passthrough): pread in the thread pool straight into the reply buffer. */
  async read(_ctx: RequestContext, _nodeid: NodeId, fh: FileHandle, offset: number, size: number, out: Buffer): Promise<number> {
    const h = this.handles.file(fh);
    this.counts.reads++;
    let got = 0;
    while (got < size) {
      const n = await readAsync(h.fd, out, got, size - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    this.counts.bytesRead += got;
    return got;
  }

  /** pwrite in the thread pool from the request buffer (an O_APPEND fd appends, as on the source). */
  async write(_ctx: RequestContext, _nodeid: NodeId, fh: FileHandle, offset: number, data: Buffer,
    _writeFlags: number, _flags: number): Promise<number> {
    const h = this.handles.file(fh);
    this.counts.writes++;
    let done = 0;
    while (done < data.length) {
      done += await writeAsync(h.fd, data, done, data.length - done, offset + done);
    }
    this.counts.bytesWritten += done;
    return done;
  }

  /**
   * Nothing to do: no locks are kept here (the kernel does locking locally) and every WRITE was
   * already a pwrite on the source (with the writeback cache, the kernel sends the dirty pages
   * before FLUSH), so what close() leaves is in the source's page cache. Like close(2) on a local
   * filesystem, FLUSH does not make it durable: fsync does.
   */
  flush(_ctx: RequestContext, _nodeid: NodeId, fh: FileHandle, _lockOwner: number): void {
    this.handles.file(fh);
    this.counts.flushes++;
  }

  async release(_ctx: RequestContext, _nodeid: NodeId, fh: FileHandle): Promise<void> {
    const h = this.handles.remove(fh);
    if (h === undefined) return;
    if (h.kind === 'file' && h.backingId > 0 && --h.node.backingUsers === 0) {
      h.node.backingId = 0;
      try {
        this.session?.closeBacking(h.backingId);
      } catch (e) {
        this.log(`closeBacking(${h.backingId}): ${(e as Error).message}`);
      }
    }
    await closeAsync(h.fd);
  }

  /**
   * fsync(2) or fdatasync(2) of the open file's own fd on the source inode, in the thread pool.
   * With passthrough the kernel wrote into the source's page cache through the backing file;
   * syncing any fd of the inode writes those pages out, as with userspace I/O.
   */
  fsync(_ctx: RequestContext, _nodeid: NodeId, fh: FileHandle, datasync: boolean): Promise<void> {
    const fd = this.handles.file(fh).fd;
    if (datasync) this.counts.fdatasyncs++;
    else this.counts.fsyncs++;
    return fsyncAsync(fd, datasync);
  }

  fallocate(_ctx: RequestContext, _nodeid: NodeId, fh: FileHandle, offset: number, length: number, mode: number): Promise<void> {
    return fallocateAsync(this.handles.file(fh).fd, mode, offset, length).then(() => undefined);
  }

  lseek(_ctx: RequestContext, _nodeid: NodeId, fh: FileHandle, offset: number, whence: number): number {
    return check(sys.fsLseek(this.handles.file(fh).fd, offset, whence));
  }

  copyFileRange(_ctx: RequestContext, _nodeidIn: NodeId, fhIn: FileHandle, offsetIn: number, _nodeidOut: NodeId,
    fhOut: FileHandle, offsetOut: number, length: number, flags: number): Promise<number> {
    return copyFileRangeAsync(this.handles.file(fhIn).fd, offsetIn, this.handles.file(fhOut).fd, offsetOut, length, flags);
  }

  // ---- directories ----

  opendir(_ctx: RequestContext, nodeid: NodeId, _flags: number): OpenReply {
    const node = this.nodes.get(nodeid);
    if (node.type !== S_IFDIR) throw new FuseError(Errno.ENOTDIR);
    // Through the magic link of its O_PATH fd, not "." in it: "." is a lookup inside the directory
    // and needs search permission, which reading a directory does not (a daemon that is not root
    // could not list a directory of mode r--).
    const openIt = (): number => this.fds.use(node, (opfd) =>
      sys.fsOpenat(AT_FDCWD, Buffer.from(procPath(opfd)), O_RDONLY | O_DIRECTORY, 0, -1, -1));
    let fd = openIt();
    if (fd === -Errno.EMFILE || fd === -Errno.ENFILE) {
      this.fds.shrink();
      fd = openIt();
    }
    const dir: OpenDir = { kind: 'dir', node, fd: check(fd), cookies: [] };
    return { fh: this.handles.add(dir) };
  }

  readdir(_ctx: RequestContext, _nodeid: NodeId, fh: FileHandle, offset: number, out: DirentWriter): void {
    const h = this.handles.dir(fh);
    const atRoot = h.node === this.nodes.root;
    readPage(h, offset, (name, ino, type, off) =>
      // At the root, ".." is the mount's own business: show the root rather than the source's parent.
      out.add(bufferToName(name), atRoot && isDotDot(name) ? this.rootIno : ino, type, off));
  }

  /** Each entry as lookup would return it (stat of the name in the handle's fd): one lookup each. */
  readdirplus(_ctx: RequestContext, _nodeid: NodeId, fh: FileHandle, offset: number, out: DirentPlusWriter): void {
    const h = this.handles.dir(fh);
    const atRoot = h.node === this.nodes.root;
    readPage(h, offset, (name, ino, type, off) => {
      if (isDot(name) || isDotDot(name)) {
        const i = atRoot && isDotDot(name) ? this.rootIno : ino;
        return out.add(bufferToName(name), { nodeid: 0, attr: { ino: i, mode: type << 12 } }, off);
      }
      let st: Stat;
      try {
        st = statAt(h.fd, name);
      } catch (e) {
        if (e instanceof FuseError && e.errno === Errno.ENOENT) return true; // gone since getdents
        // A directory the daemon may read but not search (mode r--, a daemon that is not root):
        // the name without attributes, as getdents gives it; a lookup will say EACCES.
        if (e instanceof FuseError && (e.errno === Errno.EACCES || e.errno === Errno.EPERM)) {
          return out.add(bufferToName(name), { nodeid: 0, attr: { ino, mode: type << 12 } }, off);
        }
        throw e;
      }
      const node = this.nodes.found(st.key, st.type, st.btime, h.node, name);
      if (out.add(bufferToName(name), this.entry(node, st), off)) return true;
      this.nodes.unfound(node);
      return false;
    });
  }

  releasedir(_ctx: RequestContext, _nodeid: NodeId, fh: FileHandle, _flags: number): void {
    const h = this.handles.remove(fh);
    if (h !== undefined) native.close(h.fd);
  }

  /** fsync(2) of the directory on the source: its entries (a rename, a new name) become durable. */
  fsyncdir(_ctx: RequestContext, _nodeid: NodeId, fh: FileHandle, datasync: boolean): Promise<void> {
    const fd = this.handles.dir(fh).fd;
    this.counts.fsyncdirs++;
    return fsyncAsync(fd, datasync);
  }

  /**
   * syncfs(2) of the source filesystem. Linux (6.18) sends SYNCFS to virtiofs servers only: a
   * syncfs(2) on a /dev/fuse mount writes back the kernel's own dirty pages and never reaches
   * this method, so the source is not synced by it. Programs that need their data on disk call
   * fsync, which does reach the source (or sync(2), which syncs every filesystem).
   */
  syncfs(_ctx: RequestContext, _nodeid: NodeId): Promise<void> {
    this.counts.syncfs++;
    return syncfsAsync(this.nodes.root.fd).then(() => undefined);
  }

  // ---- helpers ----

  private entry(node: Node, st: Stat): Entry {
    return { nodeid: node.nodeid, generation: 0, attr: st.attr(), entryTimeout: this.entryTimeout, attrTimeout: this.attrTimeout };
  }

  /** The entry for an inode just seen as `name` in `parent`, counting the kernel's new reference. */
  private lookedUp(parent: Node, name: Buffer, st: Stat): Entry {
    return this.entry(this.nodes.found(st.key, st.type, st.btime, parent, name), st);
  }

  /** The link count of a name's inode; 0 if there is no such name (the operation then says why). */
  private linksAt(dirfd: number, name: Buffer): number {
    try {
      return statAt(dirfd, name, STATX_NLINK).nlink;
    } catch {
      return 0;
    }
  }

  /** The known node now at `name` in the directory `dirfd`, if any (for renames). */
  private knownAt(dirfd: number, name: Buffer): Node | undefined {
    try {
      return this.nodes.known(statAt(dirfd, name).key);
    } catch {
      return undefined;
    }
  }

  /**
   * stat of a node. Without an fd of its own, the name is stat'ed in the parent's fd instead of
   * opening one (what keeps `find` over a large tree from filling the cache with leaves); if the
   * name now leads to another inode, the node's own fd decides (and says ESTALE if it is gone).
   */
  private statNode(node: Node, mask = STATX_BASIC_STATS | STATX_BTIME, flags = 0): Stat {
    const { parent, name } = node;
    if (node.fd < 0 && parent !== null && name !== null && !node.dead) {
      let st: Stat | undefined;
      try {
        st = this.fds.use(parent, (pfd) => statAt(pfd, name, mask, flags));
      } catch {
        st = undefined;
      }
      if (st !== undefined && st.key === node.key) return st;
    }
    return this.fds.use(node, (fd) => statAt(fd, null, mask, flags));
  }

  /** [uid, gid] for the creating calls: the caller's (root only), or -1 for the daemon's own. */
  private owner(ctx: RequestContext): [number, number] {
    return this.asCaller ? [ctx.uid | 0, ctx.gid | 0] : [-1, -1];
  }

  /** The kernel applies the caller's umask unless DONT_MASK was negotiated. */
  private createMode(mode: number, umask: number): number {
    return (this.dontMask ? mode & ~umask : mode) & MODE_PERM;
  }

  /**
   * The flags to open the source with. With the writeback cache the kernel also reads files
   * opened write-only (to fill pages) and places appends itself; O_DIRECT only stays when
   * the kernel does the I/O (passthrough): our read buffers are not aligned for it.
   */
  private ioFlags(flags: number): number {
    let f = flags;
    if (this.writeback) {
      if ((f & O_ACCMODE) === O_WRONLY) f = (f & ~O_ACCMODE) | O_RDWR;
      f &= ~O_APPEND;
    }
    if (!this.passthroughOn) f &= ~fsc.O_DIRECT;
    return f;
  }

  /** Registers the open file's fd, with a backing id when passthrough is on and the kernel accepts it. */
  private opened(node: Node, fd: number): OpenReply {
    let backingId = 0;
    if (this.passthroughOn && this.session !== undefined && node.type === S_IFREG && node.backingUsers > 0) {
      backingId = node.backingId;
      node.backingUsers++;
    } else if (this.passthroughOn && this.session !== undefined && node.type === S_IFREG) {
      try {
        backingId = this.registerBacking(this.session, fd);
        node.backingId = backingId;
        node.backingUsers = 1;
      } catch (e) {
        this.counts.passthroughRefused++;
        if (!this.refusalLogged) {
          this.refusalLogged = true;
          this.log(`passthrough refused, serving by userspace I/O instead: ${(e as Error).message}`);
        }
      }
    }
    const file: OpenFile = { kind: 'file', node, fd, backingId };
    const fh = this.handles.add(file);
    if (backingId > 0) {
      this.counts.passthroughOpens++;
      return { fh, backingId, openFlags: Fopen.PASSTHROUGH };
    }
    this.counts.userspaceOpens++;
    return { fh };
  }

  /**
   * The inode's backing file: a read-write reopen of the opened file (through /proc/self/fd, so
   * no path is resolved), so that every later open of the inode, reading or writing, can share
   * it; the opener's own fd where that is refused (a read-only source). The kernel keeps its own
   * reference, so the reopened fd is closed at once.
   */
  private registerBacking(session: Session, fd: number): number {
    let rw = -1;
    try { rw = openSync(procPath(fd), fsc.O_RDWR); } catch { /* read-only: share the opener's fd */ }
    try {
      return session.openBacking(rw >= 0 ? rw : fd);
    } finally {
      if (rw >= 0) closeSync(rw);
    }
  }

  /** An fd shortage (EMFILE/ENFILE) gives back half of the cache and tries once more. */
  private async retryOnFdShortage<T>(f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      if (!isFdShortage(e)) throw e;
      this.fds.shrink();
      return f();
    }
  }
}
