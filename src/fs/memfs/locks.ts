// File locks, held here when the mount negotiates POSIX_LOCKS / FLOCK_LOCKS (otherwise the
// kernel keeps them itself and memfs never hears of them).
//
// POSIX record locks (fcntl F_SETLK/F_SETLKW/F_GETLK) belong to an owner — the kernel sends one
// id per process (its files_struct) — and cover inclusive byte ranges; an owner's locks never
// conflict with each other: a new lock replaces, splits or merges with the owner's own ranges.
// Closing any descriptor of the file drops all of the owner's locks on it (FLUSH carries the
// owner). flock(2) locks belong to an open file description (the kernel's owner for them is the
// struct file, and fh names the same open file); one per owner and inode, shared or exclusive,
// gone when the file is released.
//
// A request that may sleep and conflicts waits: every change to an inode's locks wakes its
// waiters, who try again. FUSE_INTERRUPT (ctx.signal) ends the wait with EINTR; a POSIX wait that
// would close a cycle of owners waiting on each other fails with EDEADLK instead.
import { FuseError, Errno } from '../../errors.js';
import type { FileHandle, FileLock } from '../../filesystem.js';
import { F_RDLCK, F_UNLCK, F_WRLCK, LOCK_EX, LOCK_NB, LOCK_SH, LOCK_UN } from './constants.js';

interface PosixLock {
  readonly owner: number;
  start: number;
  end: number;
  readonly type: number;
  readonly pid: number;
}

interface Flock {
  readonly owner: number;
  readonly fh: FileHandle;
  readonly type: number;
}

/** Both kinds of lock on one inode, and the requests waiting for them. */
export class InodeLocks {
  posix: PosixLock[] = [];
  flocks: Flock[] = [];
  readonly waiters = new Set<() => void>();
  private wakeQueued = false;

  get idle(): boolean {
    return this.posix.length === 0 && this.flocks.length === 0 && this.waiters.size === 0;
  }

  /** The locks changed: let every waiter try again, once the current request is done. */
  wake(): void {
    if (this.wakeQueued || this.waiters.size === 0) return;
    this.wakeQueued = true;
    queueMicrotask(() => {
      this.wakeQueued = false;
      for (const retry of [...this.waiters]) retry();
    });
  }

  /** The first lock of another owner that `type` over [start, end] would conflict with. */
  posixConflict(owner: number, type: number, start: number, end: number): PosixLock | undefined {
    for (const l of this.posix) {
      if (l.owner !== owner && l.start <= end && start <= l.end && (type === F_WRLCK || l.type === F_WRLCK)) return l;
    }
    return undefined;
  }

  /** Sets (or with F_UNLCK clears) [start, end] for `owner`, splitting and merging its own ranges. */
  applyPosix(owner: number, type: number, start: number, end: number, pid: number): void {
    const others: PosixLock[] = [];
    const own: PosixLock[] = [];
    for (const l of this.posix) {
      if (l.owner !== owner) { others.push(l); continue; }
      if (l.end < start || l.start > end) { own.push(l); continue; }
      if (l.start < start) own.push({ ...l, end: start - 1 });
      if (l.end > end) own.push({ ...l, start: end + 1 });
    }
    if (type !== F_UNLCK) own.push({ owner, start, end, type, pid });
    own.sort((a, b) => a.start - b.start);
    const merged: PosixLock[] = [];
    for (const l of own) {
      const last = merged.at(-1);
      // Adjacent or overlapping ranges of one type become one lock, as the kernel keeps them.
      if (last && last.type === l.type && l.start <= last.end + 1) last.end = Math.max(last.end, l.end);
      else merged.push({ ...l });
    }
    this.posix = others.concat(merged);
    this.wake();
  }

  dropPosix(owner: number): void {
    const before = this.posix.length;
    this.posix = this.posix.filter((l) => l.owner !== owner);
    if (this.posix.length !== before) this.wake();
  }

  /** Drops the flock locks of the open file `fh`, and of `owner` if given. */
  dropFlocks(fh: FileHandle, owner?: number): void {
    const before = this.flocks.length;
    this.flocks = this.flocks.filter((l) => l.fh !== fh && l.owner !== owner);
    if (this.flocks.length !== before) this.wake();
  }
}

function checkRange(lock: FileLock): void {
  if (!(lock.start >= 0) || !(lock.end >= lock.start)) throw new FuseError(Errno.EINVAL);
  if (lock.type !== F_RDLCK && lock.type !== F_WRLCK && lock.type !== F_UNLCK) throw new FuseError(Errno.EINVAL);
}

/** Longest chain of waiting owners followed when looking for a deadlock (Linux stops at 10 too). */
const MAX_DEADLOCK_STEPS = 10;

/** The lock table of one filesystem: per-inode state lives on the inodes, waits are global. */
export class Locks {
  /** POSIX owners blocked in setlk, and what they wait for: the input of deadlock detection. */
  private readonly waiting = new Map<number, { locks: InodeLocks; lock: FileLock }>();

  getlk(locks: InodeLocks | undefined, owner: number, lock: FileLock): FileLock {
    checkRange(lock);
    const c = lock.type === F_UNLCK ? undefined : locks?.posixConflict(owner, lock.type, lock.start, lock.end);
    return c ? { start: c.start, end: c.end, type: c.type, pid: c.pid } : { ...lock, type: F_UNLCK };
  }

  setlk(locks: InodeLocks, owner: number, lock: FileLock, sleep: boolean, signal: AbortSignal): void | Promise<void> {
    checkRange(lock);
    const attempt = (): boolean => {
      if (lock.type !== F_UNLCK && locks.posixConflict(owner, lock.type, lock.start, lock.end)) return false;
      locks.applyPosix(owner, lock.type, lock.start, lock.end, lock.pid);
      return true;
    };
    if (attempt()) return;
    if (!sleep) throw new FuseError(Errno.EAGAIN);
    if (this.wouldDeadlock(owner, locks, lock)) throw new FuseError(Errno.EDEADLK);
    this.waiting.set(owner, { locks, lock });
    return wait(locks, signal, attempt, () => this.waiting.delete(owner));
  }

  flock(locks: InodeLocks, fh: FileHandle, owner: number, operation: number, signal: AbortSignal): void | Promise<void> {
    const op = operation & ~LOCK_NB;
    if (op !== LOCK_SH && op !== LOCK_EX && op !== LOCK_UN) throw new FuseError(Errno.EINVAL);
    const type = op === LOCK_EX ? F_WRLCK : F_RDLCK;
    const mine = locks.flocks.find((l) => l.owner === owner);
    if (mine && op !== LOCK_UN && mine.type === type) return;
    // Converting is not atomic (flock(2)): the old lock goes first, even if the new one must wait.
    if (mine) {
      locks.flocks = locks.flocks.filter((l) => l !== mine);
      locks.wake();
    }
    if (op === LOCK_UN) return;
    const attempt = (): boolean => {
      if (locks.flocks.some((l) => l.owner !== owner && (type === F_WRLCK || l.type === F_WRLCK))) return false;
      locks.flocks.push({ owner, fh, type });
      return true;
    };
    if (attempt()) return;
    if (operation & LOCK_NB) throw new FuseError(Errno.EWOULDBLOCK);
    return wait(locks, signal, attempt, () => undefined);
  }

  /**
   * True if `owner` waiting for `lock` would close a cycle: some owner holding a conflicting lock
   * is itself waiting, directly or through others, for a lock `owner` holds.
   */
  private wouldDeadlock(owner: number, locks: InodeLocks, lock: FileLock): boolean {
    const seen = new Set<number>();
    let frontier = [{ locks, lock, requester: owner }];
    for (let step = 0; step < MAX_DEADLOCK_STEPS && frontier.length > 0; step++) {
      const next: typeof frontier = [];
      for (const w of frontier) {
        for (const l of w.locks.posix) {
          if (l.owner === w.requester || l.end < w.lock.start || l.start > w.lock.end) continue;
          if (w.lock.type !== F_WRLCK && l.type !== F_WRLCK) continue;
          if (l.owner === owner) return true;
          if (seen.has(l.owner)) continue;
          seen.add(l.owner);
          const blocked = this.waiting.get(l.owner);
          if (blocked) next.push({ ...blocked, requester: l.owner });
        }
      }
      frontier = next;
    }
    return false;
  }
}

/** Retries `attempt` each time the inode's locks change, until it succeeds or the request is interrupted. */
function wait(locks: InodeLocks, signal: AbortSignal, attempt: () => boolean, done: () => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const finish = () => {
      locks.waiters.delete(retry);
      signal.removeEventListener('abort', abort);
      done();
    };
    const retry = () => {
      let ok: boolean;
      try { ok = attempt(); } catch (e) { finish(); return reject(e); }
      if (ok) { finish(); resolve(); }
    };
    const abort = () => { finish(); reject(new FuseError(Errno.EINTR)); };
    if (signal.aborted) return abort();
    locks.waiters.add(retry);
    signal.addEventListener('abort', abort, { once: true });
  });
}
