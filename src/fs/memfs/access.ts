// Permission checks from st_mode, st_uid and st_gid, as Linux makes them (generic_permission,
// may_lookup, may_create, may_delete, may_open): the owner's bits, else the group's when the
// caller is in the file's group, else the others'. Root (uid 0) stands for the capabilities
// (CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_CHOWN, CAP_FSETID, CAP_MKNOD): it bypasses read and write, and
// execute too when any execute bit is set (on a directory, always).
//
// A FUSE request carries the caller's uid, gid and pid but not its supplementary groups; they
// are read from /proc/<pid>/task/<pid>/status ("Groups:"), as libfuse's fuse_req_getgroups does,
// and only when a check cannot be decided without them: the caller does not own the inode, is
// not in its group by its primary gid, and the group bits differ from the others' bits for what
// is asked. A request the kernel sends in the background (pid 0) has its primary group only.
//
// Two kinds of check live here. `permitted`/`access` answer access(2) and guard xattrs, which
// memfs always checks. The rest (`search`, `mayCreate`, `mayDelete`, `mayOpen`, …) are the checks
// the kernel makes itself when the mount has default_permissions; without it the kernel makes
// none of them, and MemFs runs these when its checkPermissions option is on.
import { readFileSync } from 'node:fs';
import { FuseError, Errno } from '../../errors.js';
import type { RequestContext } from '../../filesystem.js';
import {
  FMODE_EXEC, O_ACCMODE, O_RDWR, O_TRUNC, O_WRONLY, R_OK, S_ISVTX, S_IXUGO, W_OK, X_OK,
} from './constants.js';
import { DirInode, type Inode } from './inode.js';

/** The supplementary groups of a process, or undefined if they cannot be known (it is gone). */
export type GroupsLookup = (pid: number) => readonly number[] | undefined;

/** Reads the "Groups:" line of the thread's status file, as libfuse's fuse_req_getgroups does. */
export function procGroups(pid: number): number[] | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  // The pid in a request is the calling thread's id; a thread's credentials are its own.
  for (const path of [`/proc/${pid}/task/${pid}/status`, `/proc/${pid}/status`]) {
    let text: string;
    try {
      text = readFileSync(path, 'latin1');
    } catch {
      continue;
    }
    const m = /^Groups:(.*)$/m.exec(text);
    if (!m) return undefined;
    return m[1]!.split(/\s+/).filter((s) => s !== '').map(Number);
  }
  return undefined;
}

/** Who makes one request: uid, primary gid, and the supplementary groups once asked for. */
export class Caller {
  readonly uid: number;
  readonly gid: number;
  private readonly pid: number;
  private groups: readonly number[] | undefined;

  constructor(ctx: Pick<RequestContext, 'uid' | 'gid' | 'pid'>, private readonly lookup: GroupsLookup = procGroups) {
    this.uid = ctx.uid;
    this.gid = ctx.gid;
    this.pid = ctx.pid;
  }

  /** Root: every capability the checks know. */
  get privileged(): boolean {
    return this.uid === 0;
  }

  /** in_group_p(): the primary group, else the supplementary groups (read once, on first need). */
  inGroup(gid: number): boolean {
    if (gid === this.gid) return true;
    this.groups ??= (this.pid > 0 ? this.lookup(this.pid) : undefined) ?? [];
    return this.groups.includes(gid);
  }

  /** inode_owner_or_capable(): the owner, or root. */
  owns(node: Inode): boolean {
    return this.uid === 0 || this.uid === node.uid;
  }
}

/** True when the caller may do everything in `mask` (R_OK | W_OK | X_OK) to `node`. */
export function permitted(node: Inode, who: Caller, mask: number): boolean {
  mask &= R_OK | W_OK | X_OK;
  if (who.privileged) return !(mask & X_OK) || node instanceof DirInode || (node.mode & S_IXUGO) !== 0;
  let granted: number;
  if (who.uid === node.uid) {
    granted = node.mode >> 6;
  } else {
    const group = (node.mode >> 3) & 7;
    const other = node.mode & 7;
    // Group membership only matters where the group's bits differ from the others' (the
    // kernel's shortcut too): that keeps the groups lookup off most checks.
    granted = (group ^ other) & mask && who.inGroup(node.gid) ? group : other;
  }
  return (mask & ~granted) === 0;
}

function demand(node: Inode, who: Caller, mask: number): void {
  if (!permitted(node, who, mask)) throw new FuseError(Errno.EACCES);
}

/** access(2): F_OK (0) asks only that the inode exists, which reaching it here proves. */
export function access(node: Inode, who: Caller, mask: number): void {
  if (mask & ~(R_OK | W_OK | X_OK)) throw new FuseError(Errno.EINVAL);
  demand(node, who, mask);
}

/** may_lookup: search (execute) permission on a directory, to look a name up in it. */
export function search(dir: DirInode, who: Caller): void {
  demand(dir, who, X_OK);
}

/** may_create: write and search permission on the directory that gets the new name. */
export function mayCreate(dir: DirInode, who: Caller): void {
  demand(dir, who, W_OK | X_OK);
}

/**
 * The sticky-directory rule (__check_sticky): in a directory with S_ISVTX, only the entry's
 * owner, the directory's owner or root may remove or rename the entry.
 */
export function stickyForbids(dir: DirInode, victim: Inode, who: Caller): boolean {
  return (dir.mode & S_ISVTX) !== 0 && !who.privileged && who.uid !== victim.uid && who.uid !== dir.uid;
}

/**
 * may_delete: write and search permission on the directory (EACCES), then the sticky rule
 * (EPERM). For unlink, rmdir, and both names of a rename.
 */
export function mayDelete(dir: DirInode, victim: Inode, who: Caller): void {
  demand(dir, who, W_OK | X_OK);
  if (stickyForbids(dir, victim, who)) throw new FuseError(Errno.EPERM);
}

/**
 * may_open for a regular file: O_RDONLY needs read, O_WRONLY write, O_RDWR (and the ioctl-only
 * access mode 3) both; O_TRUNC needs write too. An open for execve(2) needs execute instead.
 */
export function mayOpen(node: Inode, who: Caller, flags: number): void {
  let mask: number;
  if (flags & FMODE_EXEC) {
    mask = X_OK;
  } else {
    const acc = flags & O_ACCMODE;
    mask = acc === O_WRONLY ? W_OK : acc === O_RDWR || acc === O_ACCMODE ? R_OK | W_OK : R_OK;
    if (flags & O_TRUNC) mask |= W_OK;
  }
  demand(node, who, mask);
}

/** opendir: listing a directory needs read permission on it. */
export function mayOpendir(dir: DirInode, who: Caller): void {
  demand(dir, who, R_OK);
}

/** True for open(2) flags that allow writing through the handle (O_WRONLY, O_RDWR). */
export function writableFlags(flags: number): boolean {
  const acc = flags & O_ACCMODE;
  return acc === O_WRONLY || acc === O_RDWR;
}

