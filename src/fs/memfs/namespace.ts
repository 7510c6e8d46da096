// Adding and removing names: mkdir, create, unlink, rmdir (rename has its own file). These keep
// the link counts — a directory's nlink is 2 + its subdirectories — and the POSIX timestamps: the
// parent's mtime and ctime change with its entries, the target's ctime with its nlink.
import { FuseError, Errno } from '../../errors.js';
import type { RequestContext } from '../../filesystem.js';
import { MODE_PERM, S_ISGID } from './constants.js';
import { checkName } from './directory.js';
import { DirInode, type FileInode, type Inode } from './inode.js';
import type { InodeTable } from './table.js';
import { now } from './time.js';

export function child(parent: DirInode, name: string): Inode {
  checkName(name);
  const e = parent.entries.get(name);
  if (!e) throw new FuseError(Errno.ENOENT);
  return e.node;
}

/** Checks that `name` may be created in `parent`. */
function checkNew(parent: DirInode, name: string): void {
  checkName(name);
  // A removed directory that is still someone's cwd accepts no new entries (as on Linux).
  if (parent.nlink === 0) throw new FuseError(Errno.ENOENT);
  if (parent.entries.get(name)) throw new FuseError(Errno.EEXIST);
}

/**
 * The new inode's group: the caller's, or the parent's when the parent is set-gid (which new
 * subdirectories inherit), as Linux does.
 */
function groupFor(ctx: RequestContext, parent: DirInode): number {
  return parent.mode & S_ISGID ? parent.gid : ctx.gid;
}

export function mkdir(table: InodeTable, ctx: RequestContext, parent: DirInode, name: string,
  mode: number, umask: number): DirInode {
  checkNew(parent, name);
  const perm = (mode & MODE_PERM & ~umask) | (parent.mode & S_ISGID);
  const dir = table.newDir(perm, ctx.uid, groupFor(ctx, parent), parent);
  parent.entries.add(name, dir);
  parent.nlink++;
  parent.modified();
  return dir;
}

export function createFile(table: InodeTable, ctx: RequestContext, parent: DirInode, name: string,
  mode: number, umask: number): FileInode {
  checkNew(parent, name);
  const file = table.newFile(mode & MODE_PERM & ~umask, ctx.uid, groupFor(ctx, parent));
  parent.entries.add(name, file);
  parent.modified();
  return file;
}

export function unlink(table: InodeTable, parent: DirInode, name: string): void {
  const node = child(parent, name);
  // Linux answers EISDIR where POSIX allows EPERM.
  if (node instanceof DirInode) throw new FuseError(Errno.EISDIR);
  parent.entries.remove(name);
  const t = now();
  parent.modified(t);
  node.nlink--;
  node.setCtime(t);
  table.release(node);
}

export function rmdir(table: InodeTable, parent: DirInode, name: string): void {
  const node = child(parent, name);
  if (!(node instanceof DirInode)) throw new FuseError(Errno.ENOTDIR);
  if (node.entries.count > 0) throw new FuseError(Errno.ENOTEMPTY);
  parent.entries.remove(name);
  removedDir(parent, node);
  table.release(node);
}

/** Link-count bookkeeping for a directory whose entry in `parent` is gone (rmdir, rename over it). */
export function removedDir(parent: DirInode, dir: DirInode): void {
  const t = now();
  parent.nlink--;
  parent.modified(t);
  dir.nlink = 0;
  dir.setCtime(t);
}
