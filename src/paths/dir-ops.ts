// Directories through the bridge. A path filesystem returns a whole listing; the kernel reads it
// in pages, passing back the cookie of the last entry it got. So each open directory keeps the
// listing it was given (fetched again when a reader rewinds to 0) and the cookie of an entry is
// its index + 1. Entries that carry a stat go out as READDIRPLUS entries, each one a lookup the
// kernel will forget; the others go with nodeid 0 and the kernel looks them up itself.
import type { Filesystem, RequestContext } from '../filesystem.js';
import { nameByteLength } from '../abi/names.js';
import { modeOf, S_IFDIR, S_IFMT, toAttr } from './attr.js';
import type { BridgeCore } from './core.js';
import { then } from './settle.js';
import type { PathNode } from './table.js';
import type { DirEntry, Stat } from './types.js';

/** d_ino when nothing better is known (libfuse's FUSE_UNKNOWN_INO). */
const UNKNOWN_INO = 0xffffffff;

const DOTS: readonly DirEntry[] = [{ name: '.', type: S_IFDIR }, { name: '..', type: S_IFDIR }];

/**
 * A listing as the filesystem gave it (no copy per entry: a big directory is listed once and
 * paged out many times), with "." and ".." in front when it had none. Entry `i` is dots[i] or
 * entries[i - dots.length]; its cookie is i + 1.
 */
class Listing {
  readonly length: number;
  constructor(readonly entries: readonly (string | DirEntry)[], readonly dots: readonly DirEntry[]) {
    this.length = entries.length + dots.length;
  }
  at(i: number): string | DirEntry | undefined {
    return i < this.dots.length ? this.dots[i] : this.entries[i - this.dots.length];
  }
}

class DirHandle {
  listing: Listing | undefined = undefined;
  constructor(readonly fsFh: number) {}
}

function hasDots(list: readonly (string | DirEntry)[]): boolean {
  for (const e of list) {
    const name = typeof e === 'string' ? e : e?.name;
    if (name === '.' || name === '..') return true;
  }
  return false;
}

function toListing(list: Iterable<string | DirEntry>): Listing {
  const entries = Array.isArray(list) ? list as (string | DirEntry)[] : Array.from(list ?? []);
  return new Listing(entries, hasDots(entries) ? [] : DOTS);
}

/** A name the kernel can take (others are skipped: one bad name must not fail the whole listing). */
function validName(name: unknown): name is string {
  if (typeof name !== 'string' || name === '' || name.includes('/') || name.includes('\0')) return false;
  return name.length <= 85 || nameByteLength(name) <= 255;
}

// What emit() learnt about the entry it looked at (no object per entry).
let eName = '';
let eStat: Stat | undefined;
let eType = 0;
let eIno = 0;

/** Reads entry `e` into eName/eStat/eType/eIno; false if it is to be skipped. */
function look(e: string | DirEntry | undefined, dir: PathNode, useIno: boolean): boolean {
  if (typeof e === 'string') {
    eName = e;
    eStat = undefined;
    eType = e === '.' || e === '..' ? S_IFDIR : 0;
    eIno = 0;
  } else {
    if (e === null || typeof e !== 'object') return false;
    eName = e.name;
    eStat = e.stat ?? undefined;
    if (eStat !== undefined) {
      eType = modeOf(eStat) & S_IFMT;
      eIno = useIno && eStat.ino !== undefined ? Number(eStat.ino) : 0;
    } else {
      eType = (e.type ?? 0) & S_IFMT;
      eIno = useIno ? e.ino ?? 0 : 0;
    }
  }
  if (!validName(eName)) return false;
  if (eIno <= 0) eIno = eName === '.' ? dir.nodeid : dir.children?.get(eName)?.nodeid ?? UNKNOWN_INO;
  return true;
}

export function dirOps(c: BridgeCore, readdirplus: boolean): Partial<Filesystem> {
  const fs = c.fs;
  if (fs.readdir === undefined) return {};
  const table = c.table;
  const handles = new Map<number, DirHandle>();
  let nextFh = 1;

  /** The listing of an open directory (fh 0, without opendir: a fresh one each time). */
  const listing = (ctx: RequestContext, node: PathNode, fh: number, offset: number) => {
    const h = handles.get(fh) ?? new DirHandle(0);
    if (offset > 0 && h.listing !== undefined) return h.listing;
    return then(fs.readdir!(node.path, h.fsFh, ctx), (list) => (h.listing = toListing(list)));
  };

  const ops: Partial<Filesystem> = {
    opendir(ctx, nodeid, flags) {
      const node = table.get(nodeid);
      return then(fs.opendir ? fs.opendir(node.path, flags, ctx) : undefined, (r) => {
        const open = c.openReply(r, undefined, undefined);
        const fh = nextFh++;
        handles.set(fh, new DirHandle(open.fh ?? 0));
        return { fh, openFlags: open.openFlags };
      });
    },

    releasedir(ctx, nodeid, fh) {
      const h = handles.get(fh);
      handles.delete(fh);
      if (h !== undefined && fs.releasedir) return fs.releasedir(table.get(nodeid).path, h.fsFh, ctx);
    },

    readdir(ctx, nodeid, fh, offset, out) {
      const node = table.get(nodeid);
      const useIno = c.policy.useIno;
      return then(listing(ctx, node, fh, offset), (list) => {
        for (let i = offset; i < list.length; i++) {
          if (look(list.at(i), node, useIno) && !out.add(eName, eIno, eType >>> 12, i + 1)) break;
        }
      });
    },
  };

  if (fs.fsyncdir) {
    ops.fsyncdir = (ctx, nodeid, fh, datasync) => fs.fsyncdir!(table.get(nodeid).path, handles.get(fh)?.fsFh ?? 0, datasync, ctx);
  }

  if (readdirplus) {
    ops.readdirplus = (ctx, nodeid, fh, offset, out) => {
      const node = table.get(nodeid);
      const useIno = c.policy.useIno;
      return then(listing(ctx, node, fh, offset), (list) => {
        for (let i = offset; i < list.length; i++) {
          if (!look(list.at(i), node, useIno)) continue;
          if (eStat === undefined || eName === '.' || eName === '..') {
            if (!out.add(eName, { nodeid: 0, attr: { ino: eIno, mode: eType } }, i + 1)) break;
            continue;
          }
          const n = table.peek(node, eName, eType);
          const entry = { nodeid: n.nodeid, attr: toAttr(eStat, n.nodeid, c.policy), entryTimeout: c.entryTimeout, attrTimeout: c.attrTimeout };
          if (!out.add(eName, entry, i + 1)) {
            table.release(n);
            break;
          }
          n.nlookup++;
        }
      });
    };
  }

  return ops;
}
