// Permission checks from st_mode, st_uid and st_gid, as Linux's generic_permission makes them:
// the owner's bits, else the group's, else the others'. Root bypasses read and write, and
// execute too when any execute bit is set (on a directory, always). Only the caller's primary
// group is known (the request carries no supplementary groups).
import { FuseError, Errno } from '../../errors.js';
import type { RequestContext } from '../../filesystem.js';
import { R_OK, S_IXUGO, W_OK, X_OK } from './constants.js';
import { DirInode, type Inode } from './inode.js';

/** True when the caller may do everything in `mask` (R_OK | W_OK | X_OK) to `node`. */
export function permitted(node: Inode, ctx: Pick<RequestContext, 'uid' | 'gid'>, mask: number): boolean {
  if (ctx.uid === 0) return !(mask & X_OK) || node instanceof DirInode || (node.mode & S_IXUGO) !== 0;
  const shift = ctx.uid === node.uid ? 6 : ctx.gid === node.gid ? 3 : 0;
  const granted = (node.mode >> shift) & 7;
  return (mask & 7 & ~granted) === 0;
}

/** access(2): F_OK (0) asks only that the inode exists, which reaching it here proves. */
export function access(node: Inode, ctx: RequestContext, mask: number): void {
  if (mask & ~(R_OK | W_OK | X_OK)) throw new FuseError(Errno.EINVAL);
  if (!permitted(node, ctx, mask)) throw new FuseError(Errno.EACCES);
}
