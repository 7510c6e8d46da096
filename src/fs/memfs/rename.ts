// rename and renameat2 (RENAME_NOREPLACE, RENAME_EXCHANGE), with the POSIX rules for an existing
// target: a file may replace a file, a directory only an empty directory; a directory may not
// move below itself. Replacing keeps the target's readdir cookie (the entry changes its inode in
// place), so a concurrent readdir sees the name once.
//
// Given a Caller, the permission checks of vfs_rename come first, in its order: search on both
// parents, then may_delete on the source (write + search on its parent, the sticky rule), then
// may_delete on an existing target or may_create on the new parent, then — for a directory that
// changes parent, whose ".." is rewritten — write permission on the directory itself.
import { FuseError, Errno } from '../../errors.js';
import { Rename } from '../../abi/flags.js';
import { mayCreate, mayDelete, permitted, search, type Caller } from './access.js';
import { W_OK } from './constants.js';
import { checkName } from './directory.js';
import { DirInode, type Inode } from './inode.js';
import { lookup, removedDir } from './namespace.js';
import type { InodeTable } from './table.js';
import { now } from './time.js';

export function rename(table: InodeTable, parent: DirInode, name: string, newparent: DirInode,
  newname: string, flags: number, who?: Caller): void {
  // RENAME_WHITEOUT needs character devices (the POSIX issue); until then it is unsupported.
  if ((flags & ~(Rename.NOREPLACE | Rename.EXCHANGE)) !== 0 ||
    (flags & Rename.NOREPLACE && flags & Rename.EXCHANGE)) throw new FuseError(Errno.EINVAL);
  if (who) {
    search(parent, who);
    search(newparent, who);
  }
  const node = lookup(parent, name);
  checkName(newname);
  if (flags & Rename.EXCHANGE) return exchange(parent, name, newparent, newname, who);

  if (node instanceof DirInode && node.contains(newparent)) throw new FuseError(Errno.EINVAL);
  const dst = newparent.entries.get(newname);
  if (dst && flags & Rename.NOREPLACE) throw new FuseError(Errno.EEXIST);
  // Two names of one inode: POSIX says rename does nothing and succeeds (before any check).
  if (dst?.node === node) return;
  if (who) {
    mayDelete(parent, node, who);
    if (dst) mayDelete(newparent, dst.node, who);
    else mayCreate(newparent, who);
    if (node instanceof DirInode && parent !== newparent && !permitted(node, who, W_OK)) throw new FuseError(Errno.EACCES);
  }
  let replaced: Inode | undefined;
  if (dst) {
    replaced = dst.node;
    if (node instanceof DirInode) {
      if (!(replaced instanceof DirInode)) throw new FuseError(Errno.ENOTDIR);
      if (replaced.entries.count > 0) throw new FuseError(Errno.ENOTEMPTY);
    } else if (replaced instanceof DirInode) {
      throw new FuseError(Errno.EISDIR);
    }
  } else if (newparent.nlink === 0) {
    throw new FuseError(Errno.ENOENT);
  }

  const t = now();
  parent.entries.remove(name);
  if (dst) dst.node = node;
  else newparent.entries.add(newname, node);
  if (node instanceof DirInode && parent !== newparent) moveDir(node, parent, newparent);
  node.setCtime(t);
  parent.modified(t);
  newparent.modified(t);
  if (replaced) {
    if (replaced instanceof DirInode) {
      removedDir(newparent, replaced);
    } else {
      replaced.nlink--;
      replaced.setCtime(t);
    }
    table.release(replaced);
  }
}

/** RENAME_EXCHANGE: both names must exist; they swap inodes, whatever their types. */
function exchange(parent: DirInode, name: string, newparent: DirInode, newname: string, who: Caller | undefined): void {
  const src = parent.entries.get(name)!;
  const dst = newparent.entries.get(newname);
  if (!dst) throw new FuseError(Errno.ENOENT);
  const a = src.node;
  const b = dst.node;
  if (a === b) return;
  if (a instanceof DirInode && a.contains(newparent)) throw new FuseError(Errno.EINVAL);
  if (b instanceof DirInode && b.contains(parent)) throw new FuseError(Errno.EINVAL);
  if (who) {
    mayDelete(parent, a, who);
    mayDelete(newparent, b, who);
    if (parent !== newparent) {
      for (const d of [a, b]) {
        if (d instanceof DirInode && !permitted(d, who, W_OK)) throw new FuseError(Errno.EACCES);
      }
    }
  }

  src.node = b;
  dst.node = a;
  if (parent !== newparent) {
    if (a instanceof DirInode) moveDir(a, parent, newparent);
    if (b instanceof DirInode) moveDir(b, newparent, parent);
  }
  const t = now();
  a.setCtime(t);
  b.setCtime(t);
  parent.modified(t);
  newparent.modified(t);
}

/** A directory changes parent: its ".." now counts toward the new parent's nlink. */
function moveDir(dir: DirInode, from: DirInode, to: DirInode): void {
  from.nlink--;
  to.nlink++;
  dir.parent = to;
}
