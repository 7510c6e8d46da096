// rename(2) and renameat2(2) on pathmem's tree, with Linux's rules: what may replace what, no
// directory into itself, RENAME_NOREPLACE and RENAME_EXCHANGE, directory link counts.
import { Errno, FuseError } from '../../errors.js';
import { DirNode, parentOf, resolve, within, type MemNode } from './tree.js';

const NOREPLACE = 1, EXCHANGE = 2;

function setParent(n: MemNode, from: DirNode, to: DirNode): void {
  if (!(n instanceof DirNode) || from === to) return;
  n.parent = to;
  from.nlink--;
  to.nlink++;
}

export function rename(root: DirNode, from: string, to: string, flags: number): void {
  if (flags & ~(NOREPLACE | EXCHANGE)) throw new FuseError(Errno.EINVAL);
  if ((flags & NOREPLACE) && (flags & EXCHANGE)) throw new FuseError(Errno.EINVAL);
  const [sdir, sname] = parentOf(root, from);
  const [ddir, dname] = parentOf(root, to);
  const src = sdir.entries.get(sname);
  if (src === undefined) throw new FuseError(Errno.ENOENT);
  const dst = ddir.entries.get(dname);
  if (src instanceof DirNode && within(ddir, src)) throw new FuseError(Errno.EINVAL);
  if (flags & EXCHANGE) {
    if (dst === undefined) throw new FuseError(Errno.ENOENT);
    if (dst instanceof DirNode && within(sdir, dst)) throw new FuseError(Errno.EINVAL);
    sdir.entries.set(sname, dst);
    ddir.entries.set(dname, src);
    setParent(src, sdir, ddir);
    setParent(dst, ddir, sdir);
    src.changed();
    dst.changed();
    sdir.modified();
    ddir.modified();
    return;
  }
  if (dst === src) return; // two names of one file: POSIX says do nothing
  if (dst !== undefined) {
    if (flags & NOREPLACE) throw new FuseError(Errno.EEXIST);
    if (src instanceof DirNode) {
      if (!(dst instanceof DirNode)) throw new FuseError(Errno.ENOTDIR);
      if (dst.entries.size > 0) throw new FuseError(Errno.ENOTEMPTY);
      ddir.nlink--;
    } else if (dst instanceof DirNode) {
      throw new FuseError(Errno.EISDIR);
    }
    dst.nlink = dst instanceof DirNode ? 0 : dst.nlink - 1;
    dst.changed();
  }
  sdir.entries.delete(sname);
  ddir.entries.set(dname, src);
  setParent(src, sdir, ddir);
  src.changed();
  sdir.modified();
  if (ddir !== sdir) ddir.modified();
}

/** For link(2): the node at `path`, which must not be a directory. */
export function linkable(root: DirNode, path: string): MemNode {
  const n = resolve(root, path);
  if (n instanceof DirNode) throw new FuseError(Errno.EPERM);
  return n;
}
