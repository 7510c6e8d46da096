// What every bridge operation shares: the path filesystem, the node table, the attribute policy
// and timeouts, and the two steps most replies end with — stat a path, hand out an entry.
import type { AttrReply, Entry, MaybePromise, OpenReply, RequestContext } from '../filesystem.js';
import { Errno, FuseError } from '../errors.js';
import { Fopen } from '../abi/flags.js';
import { nameByteLength } from '../abi/names.js';
import { defaultRootAttr, modeOf, S_IFMT, toAttr, type AttrPolicy } from './attr.js';
import { then } from './settle.js';
import { NodeTable, ROOT_ID, type PathNode } from './table.js';
import type { OpenReturn, PathFilesystem, PathOptions, Stat } from './types.js';

/** NAME_MAX: a longer name could never be listed (a dirent's name is at most 255 bytes). */
const NAME_MAX = 255;

/** ENAMETOOLONG for a name over 255 bytes, as Linux filesystems answer (the kernel lets up to 1024 through). */
export function checkName(name: string): string {
  if (name.length > NAME_MAX / 3 && nameByteLength(name) > NAME_MAX) throw new FuseError(Errno.ENAMETOOLONG);
  return name;
}

export class BridgeCore {
  readonly table = new NodeTable();
  readonly policy: AttrPolicy;
  readonly entryTimeout: number;
  readonly attrTimeout: number;
  readonly negativeTimeout: number;
  readonly keepCache: boolean;
  readonly autoCache: boolean;
  readonly noforget: boolean;

  constructor(readonly fs: PathFilesystem, o: PathOptions) {
    this.policy = { useIno: o.useIno ?? true, uid: o.uid, gid: o.gid, umask: o.umask };
    this.entryTimeout = o.entryTimeout ?? 1;
    this.attrTimeout = o.attrTimeout ?? 1;
    this.negativeTimeout = o.negativeTimeout ?? 0;
    this.keepCache = o.keepCache ?? false;
    this.autoCache = o.autoCache ?? false;
    this.noforget = o.noforget ?? false;
  }

  /** lstat of `path` through the filesystem's getattr (root only, when it has none). */
  stat(path: string, fh: number | undefined, ctx: RequestContext): MaybePromise<Stat> {
    const fs = this.fs;
    if (fs.getattr !== undefined) return fs.getattr(path, fh, ctx);
    if (path === '/') return { mode: 0o040755, nlink: 2 };
    throw new FuseError(Errno.ENOENT);
  }

  attrReply(st: Stat, node: PathNode): AttrReply {
    const t = modeOf(st) & S_IFMT;
    if (node.type === 0) node.type = t;
    return { attr: toAttr(st, node.nodeid, this.policy), timeout: this.attrTimeout };
  }

  /** The entry reply for (parent, name) whose lstat is `st`: one more kernel lookup on its node. */
  entry(parent: PathNode, name: string, st: Stat): Entry {
    const n = this.table.remember(parent, name, modeOf(st) & S_IFMT);
    return { nodeid: n.nodeid, attr: toAttr(st, n.nodeid, this.policy), entryTimeout: this.entryTimeout, attrTimeout: this.attrTimeout };
  }

  /** The entry reply for a hard link made through the mount: the linked node's own nodeid. */
  linked(src: PathNode, parent: PathNode, name: string, st: Stat): Entry {
    const n = (modeOf(st) & S_IFMT) === src.type || src.type === 0 ? this.table.link(src, parent, name) : this.table.remember(parent, name, modeOf(st) & S_IFMT);
    return { nodeid: n.nodeid, attr: toAttr(st, n.nodeid, this.policy), entryTimeout: this.entryTimeout, attrTimeout: this.attrTimeout };
  }

  /** Stats the new (parent, name) and hands out its entry: the end of mkdir, mknod, symlink, link. */
  created(parent: PathNode, name: string, path: string, ctx: RequestContext): MaybePromise<Entry> {
    return then(this.stat(path, undefined, ctx), (st) => this.entry(parent, name, st));
  }

  /** A cached "no such name" when negativeTimeout asks for one; otherwise ENOENT as thrown. */
  negative(e: unknown): Entry {
    if (this.negativeTimeout > 0 && e instanceof FuseError && e.errno === Errno.ENOENT) {
      return { nodeid: 0, attr: { ino: 0, mode: 0 }, entryTimeout: this.negativeTimeout };
    }
    throw e;
  }

  rootAttr(): AttrReply {
    return { attr: defaultRootAttr(this.policy), timeout: this.attrTimeout };
  }

  /** The node for a directory nodeid (the root is always there). */
  dir(nodeid: number): PathNode {
    return nodeid === ROOT_ID ? this.table.root : this.table.get(nodeid);
  }

  /** open/create/opendir's return as the kernel's open reply, with the mount's cache policy. */
  openReply(r: OpenReturn, node: PathNode | undefined, st: Stat | undefined): OpenReply {
    let fh = 0;
    let flags = 0;
    if (typeof r === 'number') fh = r;
    else if (r !== null && typeof r === 'object') {
      fh = r.fh ?? 0;
      if (r.directIo) flags |= Fopen.DIRECT_IO;
      if (r.keepCache) flags |= Fopen.KEEP_CACHE;
      if (r.nonSeekable) flags |= Fopen.NONSEEKABLE;
      if (r.cacheDir) flags |= Fopen.CACHE_DIR;
    } else if (r !== undefined && r !== null) {
      throw new FuseError(Errno.EIO, `open returned ${String(r)}: a file handle number, an OpenResult or nothing`);
    }
    if (!Number.isInteger(fh) || fh < 0) throw new FuseError(Errno.EIO, `open returned the file handle ${String(fh)}: not a non-negative integer`);
    if (this.keepCache) flags |= Fopen.KEEP_CACHE;
    else if (node !== undefined && st !== undefined) {
      // libfuse's auto_cache: the cache stays if size and mtime are what the last open saw.
      const a = toAttr(st, node.nodeid, this.policy);
      const stamp = `${a.size}:${a.mtime}:${a.mtimensec}`;
      if (node.openStamp === stamp) flags |= Fopen.KEEP_CACHE;
      node.openStamp = stamp;
    }
    return { fh, openFlags: flags };
  }
}
