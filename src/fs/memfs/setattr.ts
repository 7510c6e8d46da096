// setattr: chmod, chown, truncate and utimensat arrive as one request with only the fields to
// change present. Every change sets ctime (utimensat too, per POSIX); truncating to a different
// size also sets mtime, and explicit times are applied after it so utimensat's values win.
// utimensat's UTIME_NOW arrives as atimeNow/mtimeNow, UTIME_OMIT as the field left out.
import { FuseError, Errno } from '../../errors.js';
import type { SetattrIn } from '../../filesystem.js';
import { permitted, type Caller } from './access.js';
import { MODE_PERM, S_IFMT, S_ISGID, S_ISUID, S_IXGRP, W_OK } from './constants.js';
import { DirInode, FileInode, type Inode } from './inode.js';
import { now, type Timespec } from './time.js';

/**
 * Applies `set` to `node`. Given a Caller, first makes the checks the kernel leaves to the
 * filesystem without default_permissions (see checkSetattr); `writableHandle` says the request
 * came through a handle opened for writing (ftruncate(2)).
 */
export function setattr(node: Inode, set: SetattrIn, who?: Caller, writableHandle = false): void {
  if (set.size !== undefined) {
    if (node instanceof DirInode) throw new FuseError(Errno.EISDIR);
    if (!(node instanceof FileInode)) throw new FuseError(Errno.EINVAL);
  }
  const mode = who ? checkSetattr(node, set, who, writableHandle) : set.mode;
  const t = now();
  let changed = false;
  if (set.size !== undefined && node instanceof FileInode) {
    if (set.size !== node.data.size) {
      node.data.truncate(set.size);
      node.setMtime(t);
    }
    changed = true;
  }
  if (mode !== undefined) {
    node.mode = (node.mode & S_IFMT) | (mode & MODE_PERM);
    changed = true;
  }
  if (set.uid !== undefined) { node.uid = set.uid; changed = true; }
  if (set.gid !== undefined) { node.gid = set.gid; changed = true; }
  if (set.killSuidgid) {
    killSuidgid(node);
    changed = true;
  }
  if (set.size !== undefined || set.uid !== undefined || set.gid !== undefined) killCaps(node);
  if (set.atimeNow) { node.setAtime(t); changed = true; }
  else if (set.atime !== undefined) { node.setAtime(time(set.atime, set.atimensec)); changed = true; }
  if (set.mtimeNow) { node.setMtime(t); changed = true; }
  else if (set.mtime !== undefined) { node.setMtime(time(set.mtime, set.mtimensec)); changed = true; }
  if (set.ctime !== undefined) node.setCtime(time(set.ctime, set.ctimensec));
  else if (changed) node.setCtime(t);
}

/**
 * The checks of may_setattr, setattr_prepare and vfs_truncate, which the kernel skips for a FUSE
 * mount without default_permissions (it marks every change ATTR_FORCE). Returns the mode to
 * apply: chmod by someone not in the file's group (new group, if it changes too) drops S_ISGID.
 *   - truncate (size): write permission, unless through a handle opened for writing (EACCES);
 *   - chown: root only; the owner may "change" the owner to itself (EPERM);
 *   - chgrp: root, or the owner to a group it is in (EPERM);
 *   - chmod: the owner or root (EPERM) — except a mode that only clears set-uid/set-gid bits,
 *     which the kernel sends for whoever writes or truncates a set-id file (file_remove_privs):
 *     that needs write permission only;
 *   - utimensat with both times UTIME_NOW (or a NULL times): the owner, or write permission
 *     (EACCES); any other time change: the owner (EPERM). Times that come with a size are the
 *     truncate's own. With the writeback cache the kernel sends mtime and ctime as values it
 *     keeps itself, so a request with ctime is held to the UTIME_NOW rule.
 */
function checkSetattr(node: Inode, set: SetattrIn, who: Caller, writableHandle: boolean): number | undefined {
  if (who.privileged) return set.mode;
  if (set.size !== undefined && !writableHandle && !permitted(node, who, W_OK)) throw new FuseError(Errno.EACCES);
  const owner = who.uid === node.uid;
  if (set.size === undefined && (set.atimeNow || set.mtimeNow || set.atime !== undefined || set.mtime !== undefined)) {
    const touch = (set.atimeNow && set.mtimeNow) || set.ctime !== undefined;
    if (!owner) {
      if (!touch) throw new FuseError(Errno.EPERM);
      if (!permitted(node, who, W_OK)) throw new FuseError(Errno.EACCES);
    }
  }
  if (set.uid !== undefined && !(owner && set.uid === node.uid)) throw new FuseError(Errno.EPERM);
  if (set.gid !== undefined && !(owner && (set.gid === node.gid || who.inGroup(set.gid)))) throw new FuseError(Errno.EPERM);
  let mode = set.mode;
  if (mode === undefined) return mode;
  const old = node.mode & MODE_PERM;
  const dropsOnlySetid = (mode & MODE_PERM & ~old) === 0 && ((mode ^ old) & MODE_PERM & ~(S_ISUID | S_ISGID)) === 0;
  if (dropsOnlySetid && (mode & MODE_PERM) !== old) {
    // Removing bits gains nothing: no S_ISGID rule, and write permission is enough.
    if (!owner && !permitted(node, who, W_OK)) throw new FuseError(Errno.EPERM);
    return mode;
  }
  if (!owner) throw new FuseError(Errno.EPERM);
  if (mode & S_ISGID && !who.inGroup(set.gid ?? node.gid)) mode &= ~S_ISGID;
  return mode;
}

/**
 * What the kernel asks for on a write or chown by someone other than root: set-uid always goes,
 * set-gid only with group execute (without it, S_ISGID marks mandatory locking, not privilege).
 */
export function killSuidgid(node: Inode): void {
  node.mode &= ~S_ISUID;
  if (node.mode & S_IXGRP) node.mode &= ~S_ISGID;
}

/**
 * File capabilities go with any write, truncate or change of owner, whoever makes it (the
 * kernel's killpriv, which HANDLE_KILLPRIV_V2 leaves to us).
 */
export function killCaps(node: Inode): void {
  if (node.xattrs?.delete('security.capability') && node.xattrs.size === 0) node.xattrs = undefined;
}

function time(sec: number, nsec: number | undefined): Timespec {
  return { sec, nsec: nsec ?? 0 };
}
