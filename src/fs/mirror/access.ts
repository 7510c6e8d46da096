// access(2) for mounts without default_permissions (with it, the kernel answers access itself
// from the attributes and never asks). Decided from the source inode's mode and owner as
// generic_permission would for the caller; the supplementary groups come from /proc, as libfuse's
// fuse_req_getgroups reads them.
import { FuseError, Errno } from '../../errors.js';
import type { RequestContext } from '../../filesystem.js';
import { procGroups } from '../memfs/access.js';
import { R_OK, S_IFDIR, S_IXUGO, W_OK, X_OK } from './constants.js';
import type { Stat } from './sys.js';

export function checkAccess(ctx: Pick<RequestContext, 'uid' | 'gid' | 'pid'>, st: Stat, mask: number,
  groups: (pid: number) => readonly number[] | undefined = procGroups): void {
  if (mask & ~(R_OK | W_OK | X_OK)) throw new FuseError(Errno.EINVAL);
  if (mask === 0) return;
  const mode = st.mode;
  if (ctx.uid === 0) {
    // CAP_DAC_OVERRIDE: read and write always; execute if anyone may (a directory: always).
    if (!(mask & X_OK) || st.type === S_IFDIR || (mode & S_IXUGO) !== 0) return;
    throw new FuseError(Errno.EACCES);
  }
  let granted: number;
  if (ctx.uid === st.uid) granted = (mode >> 6) & 7;
  else if (ctx.gid === st.gid || (((mode >> 3) ^ mode) & 7 & mask && (groups(ctx.pid) ?? []).includes(st.gid))) granted = (mode >> 3) & 7;
  else granted = mode & 7;
  if ((mask & ~granted) !== 0) throw new FuseError(Errno.EACCES);
}
