// setattr: chmod, chown, truncate and utimensat arrive as one request with only the fields to
// change present. Every change sets ctime (utimensat too, per POSIX); truncating to a different
// size also sets mtime, and explicit times are applied after it so utimensat's values win.
import { FuseError, Errno } from '../../errors.js';
import type { SetattrIn } from '../../filesystem.js';
import { MODE_PERM, S_IFMT, S_ISGID, S_ISUID, S_IXGRP } from './constants.js';
import { DirInode, FileInode, type Inode } from './inode.js';
import { now, type Timespec } from './time.js';

export function setattr(node: Inode, set: SetattrIn): void {
  if (set.size !== undefined) {
    if (node instanceof DirInode) throw new FuseError(Errno.EISDIR);
    if (!(node instanceof FileInode)) throw new FuseError(Errno.EINVAL);
  }
  const t = now();
  let changed = false;
  if (set.size !== undefined && node instanceof FileInode) {
    if (set.size !== node.data.size) {
      node.data.truncate(set.size);
      node.setMtime(t);
    }
    changed = true;
  }
  if (set.mode !== undefined) {
    node.mode = (node.mode & S_IFMT) | (set.mode & MODE_PERM);
    changed = true;
  }
  if (set.uid !== undefined) { node.uid = set.uid; changed = true; }
  if (set.gid !== undefined) { node.gid = set.gid; changed = true; }
  if (set.killSuidgid) {
    killSuidgid(node);
    changed = true;
  }
  if (set.atimeNow) { node.setAtime(t); changed = true; }
  else if (set.atime !== undefined) { node.setAtime(time(set.atime, set.atimensec)); changed = true; }
  if (set.mtimeNow) { node.setMtime(t); changed = true; }
  else if (set.mtime !== undefined) { node.setMtime(time(set.mtime, set.mtimensec)); changed = true; }
  if (set.ctime !== undefined) node.setCtime(time(set.ctime, set.ctimensec));
  else if (changed) node.setCtime(t);
}

/**
 * What the kernel asks for on a write or chown by someone other than root: set-uid always goes,
 * set-gid only with group execute (without it, S_ISGID marks mandatory locking, not privilege).
 */
export function killSuidgid(node: Inode): void {
  node.mode &= ~S_ISUID;
  if (node.mode & S_IXGRP) node.mode &= ~S_ISGID;
}

function time(sec: number, nsec: number | undefined): Timespec {
  return { sec, nsec: nsec ?? 0 };
}
