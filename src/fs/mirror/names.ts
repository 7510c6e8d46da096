// The only paths the mirror ever hands to the kernel. Each is either
//   - one checked name component relative to a directory fd the daemon holds (the *at() calls), or
//   - /proc/self/fd/<fd>: the magic link lands on exactly the inode <fd> refers to, and the walk
//     ends there (a symlink's O_PATH fd gives the symlink itself, never its target), or
//   - /proc/self/fd/<dirfd>/<name>: one checked component inside the directory <dirfd> holds,
//     for Node's own async fs calls (unlink, rmdir, open); with O_NOFOLLOW where it opens.
// No path built from several names of the source ever reaches the kernel, so no component can be
// swapped for a symlink between a check and a use, and `..` never climbs out of a held directory.
import { FuseError, Errno } from '../../errors.js';
import { nameToBuffer } from '../../abi/names.js';
import { NAME_MAX, PATH_MAX, XATTR_NAME_MAX } from './constants.js';

const SLASH = 0x2f;
const DOT = 0x2e;

/**
 * The bytes of a name the kernel sent for a directory entry. The kernel never sends '', '.',
 * '..' or a name with '/' or NUL: one that does is refused (EINVAL) rather than interpreted.
 */
export function component(name: string): Buffer {
  const b = nameToBuffer(name);
  const n = b.length;
  if (n === 0 || b.includes(SLASH) || b.includes(0) || (b[0] === DOT && (n === 1 || (n === 2 && b[1] === DOT)))) {
    throw new FuseError(Errno.EINVAL, `refusing the name ${JSON.stringify(name)}`);
  }
  if (n > NAME_MAX) throw new FuseError(Errno.ENAMETOOLONG);
  return b;
}

/** A symlink target: any bytes but NUL, shorter than PATH_MAX. It is stored, never resolved. */
export function linkTarget(target: string): Buffer {
  const b = nameToBuffer(target);
  if (b.length === 0 || b.includes(0)) throw new FuseError(Errno.EINVAL);
  if (b.length >= PATH_MAX) throw new FuseError(Errno.ENAMETOOLONG);
  return b;
}

/** An xattr name: non-empty, no NUL, at most XATTR_NAME_MAX bytes. */
export function xattrName(name: string): Buffer {
  const b = nameToBuffer(name);
  if (b.length === 0 || b.includes(0)) throw new FuseError(Errno.EINVAL);
  if (b.length > XATTR_NAME_MAX) throw new FuseError(Errno.ERANGE);
  return b;
}

/** "/proc/self/fd/<fd>": exactly the inode that fd refers to. */
export function procPath(fd: number): string {
  return `/proc/self/fd/${fd}`;
}

/** "/proc/self/fd/<dirfd>/<name>" for a name that passed component(). */
export function procChild(dirfd: number, name: Buffer): Buffer {
  const prefix = `/proc/self/fd/${dirfd}/`;
  const out = Buffer.allocUnsafe(prefix.length + name.length);
  out.write(prefix, 0, 'latin1');
  name.copy(out, prefix.length);
  return out;
}

/** "." for opening a directory through its O_PATH fd. */
export const DOT_NAME = Buffer.from('.');
