// Extended attributes: a per-inode Map name → value, with Linux's namespace rules (fs/xattr.c
// xattr_permission, and commoncap for security.*):
//   user.*     regular files and directories only (elsewhere: EPERM to write, ENODATA to read);
//              reading needs read permission, writing write permission, and on a sticky
//              directory only its owner (or root) may write;
//   trusted.*  root only (EPERM to write, ENODATA to read), and hidden from others' listxattr;
//   security.* anyone may read, only root may write;
//   anything else (system.*, no prefix) is not supported here: EOPNOTSUPP.
// Names are at most XATTR_NAME_MAX bytes (ERANGE), values XATTR_SIZE_MAX (E2BIG).
import { FuseError, Errno } from '../../errors.js';
import { nameByteLength } from '../../abi/names.js';
import { SETXATTR_ACL_KILL_SGID } from '../../abi/flags.js';
import {
  R_OK, S_ISGID, S_ISVTX, W_OK, XATTR_CREATE, XATTR_NAME_MAX, XATTR_REPLACE, XATTR_SIZE_MAX,
} from './constants.js';
import { permitted, type Caller } from './access.js';
import { DirInode, FileInode, type Inode } from './inode.js';
import { now } from './time.js';

const PREFIXES = ['user.', 'trusted.', 'security.'] as const;
type Prefix = (typeof PREFIXES)[number];

function checkName(name: string): Prefix {
  if (name === '' || (name.length * 3 > XATTR_NAME_MAX && nameByteLength(name) > XATTR_NAME_MAX)) {
    throw new FuseError(Errno.ERANGE);
  }
  const prefix = PREFIXES.find((p) => name.startsWith(p));
  if (!prefix) throw new FuseError(Errno.EOPNOTSUPP);
  // "user." alone names no attribute.
  if (name.length === prefix.length) throw new FuseError(Errno.EINVAL);
  return prefix;
}

/** Throws what Linux answers when the caller may not read (or write) `name` on `node`. */
function checkPermission(node: Inode, who: Caller, prefix: Prefix, write: boolean): void {
  const denied = write ? Errno.EPERM : Errno.ENODATA;
  if (prefix === 'trusted.') {
    if (!who.privileged) throw new FuseError(denied);
  } else if (prefix === 'security.') {
    if (write && !who.privileged) throw new FuseError(Errno.EPERM);
  } else {
    if (!(node instanceof FileInode || node instanceof DirInode)) throw new FuseError(denied);
    if (write && node instanceof DirInode && node.mode & S_ISVTX && !who.owns(node)) {
      throw new FuseError(Errno.EPERM);
    }
    if (!permitted(node, who, write ? W_OK : R_OK)) throw new FuseError(Errno.EACCES);
  }
}

export function setxattr(node: Inode, who: Caller, name: string, value: Uint8Array, flags: number,
  setxattrFlags: number): void {
  if (flags & ~(XATTR_CREATE | XATTR_REPLACE)) throw new FuseError(Errno.EINVAL);
  const prefix = checkName(name);
  if (value.length > XATTR_SIZE_MAX) throw new FuseError(Errno.E2BIG);
  checkPermission(node, who, prefix, true);
  const exists = node.xattrs?.has(name) ?? false;
  if (flags & XATTR_CREATE && exists) throw new FuseError(Errno.EEXIST);
  if (flags & XATTR_REPLACE && !exists) throw new FuseError(Errno.ENODATA);
  // `value` is a view of the request buffer: keep a copy.
  (node.xattrs ??= new Map()).set(name, Buffer.from(value));
  if (setxattrFlags & SETXATTR_ACL_KILL_SGID) node.mode &= ~S_ISGID;
  node.setCtime(now());
}

/** The stored value (never modified in place: setxattr replaces it), or ENODATA. */
export function getxattr(node: Inode, who: Caller, name: string): Buffer {
  checkPermission(node, who, checkName(name), false);
  const value = node.xattrs?.get(name);
  if (!value) throw new FuseError(Errno.ENODATA);
  return value;
}

export function listxattr(node: Inode, who: Caller): string[] {
  if (!node.xattrs) return [];
  const names = [...node.xattrs.keys()];
  return who.privileged ? names : names.filter((n) => !n.startsWith('trusted.'));
}

export function removexattr(node: Inode, who: Caller, name: string): void {
  checkPermission(node, who, checkName(name), true);
  if (!node.xattrs?.delete(name)) throw new FuseError(Errno.ENODATA);
  if (node.xattrs.size === 0) node.xattrs = undefined;
  node.setCtime(now());
}
