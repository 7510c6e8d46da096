// Adding and removing names: mkdir, create, mknod, symlink, link, unlink, rmdir, and the nameless
// O_TMPFILE (rename has its own file). These keep the link counts — a directory's nlink is 2 +
// its subdirectories, a file's the number of names it has — and the POSIX timestamps: the
// parent's mtime and ctime change with its entries, the target's ctime with its nlink.
// Each takes an optional Caller: given one, it makes the permission checks the kernel would
// have made with default_permissions (search, then write on the parent, the sticky rule), in
// Linux's order: search permission before any ENOENT or EEXIST, write permission after them.
import { FuseError, Errno } from '../../errors.js';
import type { RequestContext } from '../../filesystem.js';
import { nameByteLength } from '../../abi/names.js';
import {
  LINK_MAX, MODE_PERM, O_EXCL, PATH_MAX, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFMT, S_IFREG, S_IFSOCK, S_ISGID,
} from './constants.js';
import { mayCreate, mayDelete, search, type Caller } from './access.js';
import { checkName } from './directory.js';
import { DirInode, FileInode, type Inode, type SpecialInode, type SymlinkInode } from './inode.js';
import type { InodeTable } from './table.js';
import { now } from './time.js';

/** Checks that `name` may be created in `parent` (by `who`, when given). */
function checkNew(parent: DirInode, name: string, who: Caller | undefined): void {
  if (who) search(parent, who);
  checkName(name);
  if (parent.entries.get(name)) throw new FuseError(Errno.EEXIST);
  // A removed directory that is still someone's cwd accepts no new entries (as on Linux).
  if (parent.nlink === 0) throw new FuseError(Errno.ENOENT);
  if (who) mayCreate(parent, who);
}

/**
 * The new inode's group: the caller's, or the parent's when the parent is set-gid (which new
 * subdirectories inherit), as Linux does.
 */
function groupFor(ctx: RequestContext, parent: DirInode): number {
  return parent.mode & S_ISGID ? parent.gid : ctx.gid;
}

export function mkdir(table: InodeTable, ctx: RequestContext, parent: DirInode, name: string,
  mode: number, umask: number, who?: Caller): DirInode {
  checkNew(parent, name, who);
  const perm = (mode & MODE_PERM & ~umask) | (parent.mode & S_ISGID);
  const dir = table.newDir(perm, ctx.uid, groupFor(ctx, parent), parent);
  parent.entries.add(name, dir);
  parent.nlink++;
  parent.modified();
  return dir;
}

export function createFile(table: InodeTable, ctx: RequestContext, parent: DirInode, name: string,
  mode: number, umask: number, who?: Caller): FileInode {
  checkNew(parent, name, who);
  const file = table.newFile(mode & MODE_PERM & ~umask, ctx.uid, groupFor(ctx, parent));
  parent.entries.add(name, file);
  parent.modified();
  return file;
}

/**
 * mknod(2). A zero type means a regular file, as in mknod(2); rdev is kept for device nodes only
 * (in the kernel's new_encode_dev form, which is what fuse_attr.rdev carries back).
 */
export function mknod(table: InodeTable, ctx: RequestContext, parent: DirInode, name: string,
  mode: number, rdev: number, umask: number, who?: Caller): FileInode | SpecialInode {
  const type = mode & S_IFMT;
  if (type === 0 || type === S_IFREG) return createFile(table, ctx, parent, name, mode, umask, who);
  if (type === S_IFDIR) throw new FuseError(Errno.EPERM);
  if (type !== S_IFCHR && type !== S_IFBLK && type !== S_IFIFO && type !== S_IFSOCK) throw new FuseError(Errno.EINVAL);
  checkNew(parent, name, who);
  const isDev = type === S_IFCHR || type === S_IFBLK;
  // Device nodes need CAP_MKNOD (vfs_mknod).
  if (isDev && who && !who.privileged) throw new FuseError(Errno.EPERM);
  const node = table.newSpecial(type | (mode & MODE_PERM & ~umask), isDev ? rdev : 0, ctx.uid, groupFor(ctx, parent));
  parent.entries.add(name, node);
  parent.modified();
  return node;
}

/** symlink(2): the target is stored as given, never resolved; "" and PATH_MAX bytes are refused as Linux does. */
export function symlink(table: InodeTable, ctx: RequestContext, parent: DirInode, name: string,
  target: string, who?: Caller): SymlinkInode {
  if (target === '') throw new FuseError(Errno.ENOENT);
  if (target.length >= PATH_MAX || nameByteLength(target) >= PATH_MAX) throw new FuseError(Errno.ENAMETOOLONG);
  checkNew(parent, name, who);
  const node = table.newSymlink(target, ctx.uid, groupFor(ctx, parent));
  parent.entries.add(name, node);
  parent.modified();
  return node;
}

/**
 * link(2): another name for `node`. Directories cannot be hard-linked (EPERM, as on Linux). The
 * caller needs write and search permission on the new parent only (fs.protected_hardlinks, which
 * also asks for ownership or read+write access to the file, is the kernel's own check).
 */
export function link(node: Inode, newparent: DirInode, newname: string, who?: Caller): void {
  if (node instanceof DirInode) throw new FuseError(Errno.EPERM);
  // A file whose last name is gone (open, or still known to the kernel) cannot come back, except
  // an O_TMPFILE made for exactly that (linkat(fd, "", …, AT_EMPTY_PATH)).
  const revive = node.nlink === 0;
  if (revive && !(node instanceof FileInode && node.linkable)) throw new FuseError(Errno.ENOENT);
  if (node.nlink >= LINK_MAX) throw new FuseError(Errno.EMLINK);
  checkNew(newparent, newname, who);
  newparent.entries.add(newname, node);
  node.nlink++;
  if (revive) (node as FileInode).linkable = false;
  const t = now();
  node.setCtime(t);
  newparent.modified(t);
}

/**
 * O_TMPFILE: a regular file with no name (nlink 0), alive while a handle or a kernel reference
 * holds it. Without O_EXCL a later linkat(2) may name it. The directory itself does not change.
 */
export function tmpfile(table: InodeTable, ctx: RequestContext, parent: DirInode, mode: number, umask: number,
  flags: number, who?: Caller): FileInode {
  if (who) mayCreate(parent, who);
  if (parent.nlink === 0) throw new FuseError(Errno.ENOENT);
  const file = table.newFile(mode & MODE_PERM & ~umask, ctx.uid, groupFor(ctx, parent), 0);
  file.linkable = (flags & O_EXCL) === 0;
  return file;
}

/** The inode `name` names in `parent`, after the search check when a caller is given. */
export function lookup(parent: DirInode, name: string, who?: Caller): Inode {
  const node = find(parent, name, who);
  if (!node) throw new FuseError(Errno.ENOENT);
  return node;
}

/**
 * Like lookup, but a missing name is undefined rather than ENOENT: LOOKUP of a missing name is
 * the commonest miss there is, and V8 never optimises a function that always leaves by throwing.
 */
export function find(parent: DirInode, name: string, who?: Caller): Inode | undefined {
  if (who) search(parent, who);
  checkName(name);
  return parent.entries.get(name)?.node;
}

export function unlink(table: InodeTable, parent: DirInode, name: string, who?: Caller): void {
  const node = lookup(parent, name, who);
  if (who) mayDelete(parent, node, who);
  // Linux answers EISDIR where POSIX allows EPERM.
  if (node instanceof DirInode) throw new FuseError(Errno.EISDIR);
  parent.entries.remove(name);
  const t = now();
  parent.modified(t);
  node.nlink--;
  node.setCtime(t);
  table.release(node);
}

export function rmdir(table: InodeTable, parent: DirInode, name: string, who?: Caller): void {
  const node = lookup(parent, name, who);
  if (who) mayDelete(parent, node, who);
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
