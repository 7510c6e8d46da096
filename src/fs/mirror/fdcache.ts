// Bounded O_PATH fds for the inodes the kernel holds.
//
// A mirror that keeps one fd per known inode (as libfuse's passthrough_hp does) runs out of fds
// on a large tree: RLIMIT_NOFILE is often far below the number of inodes a `find` makes the kernel
// remember. Here a node holds an O_PATH fd only while it is among the `capacity` most recently
// used; an evicted node is opened again from its parent's fd by its name — one component,
// O_PATH | O_NOFOLLOW — and accepted only if (st_dev, st_ino), the type and the birth time are
// still the node's. A name that now leads elsewhere (renamed or replaced in the source, a
// directory swapped for a symlink, a deleted file's inode number reused) answers ESTALE: the
// kernel then looks the path up again, and nothing outside the inode the kernel meant is ever
// touched. The parent is resolved the same way, up to the root, whose fd is held for the whole
// session.
//
// Most operations need no fd of their own: lookup, getattr and readdirplus stat a name relative
// to the parent's fd. In practice the cache holds the directories being worked in.
//
// An fd in use is pinned: eviction skips it (the cache may exceed its capacity while many
// operations are in flight), and a node freed while pinned closes its fd when the last pin goes.
// Pins matter for the calls that run in the thread pool with a /proc/self/fd/N path: closing N
// meanwhile could let the number name another file by the time the path is resolved.
import { FuseError, Errno } from '../../errors.js';
import { native } from '../../native.js';
import { O_NOFOLLOW, O_PATH } from './constants.js';
import type { Node } from './nodes.js';
import { statAt, sys, type Stat } from './sys.js';

/** Deeper than any real tree: a guard against a parent chain gone wrong. */
const MAX_DEPTH = 4096;

export class FdCache {
  /** Nodes holding an evictable fd, least recently used first. */
  private readonly lru = new Map<Node, true>();
  /** Fds opened again for evicted (or never opened) nodes. */
  resolutions = 0;
  /** Resolutions refused because the name led to another inode (or nowhere). */
  stale = 0;
  evictions = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`the fd cache needs a capacity ≥ 1 (got ${capacity})`);
  }

  /** Cached O_PATH fds (the root's and O_TMPFILE inodes' are not counted). */
  get size(): number {
    return this.lru.size;
  }

  /** Runs `fn` with the node's fd, which stays open until fn returns. */
  use<T>(node: Node, fn: (fd: number) => T): T {
    const fd = this.fd(node, 0);
    node.pins++;
    try {
      return fn(fd);
    } finally {
      this.unpin(node);
    }
  }

  /** Runs `fn` with the fds of two nodes (the same node twice is fine). */
  use2<T>(a: Node, b: Node, fn: (fa: number, fb: number) => T): T {
    return this.use(a, (fa) => this.use(b, (fb) => fn(fa, fb)));
  }

  /** Runs `fn` with the node's fd, which stays open until fn's promise settles. */
  async useAsync<T>(node: Node, fn: (fd: number) => Promise<T>): Promise<T> {
    const fd = this.fd(node, 0);
    node.pins++;
    try {
      return await fn(fd);
    } finally {
      this.unpin(node);
    }
  }

  /** The node is gone from the table: close its fd now, or when its last pin goes. */
  drop(node: Node): void {
    node.dead = true;
    if (node.pins === 0) this.close(node);
  }

  /** Out of fds (EMFILE/ENFILE): give back half of the cache. */
  shrink(): void {
    this.evict(null, Math.floor(this.capacity / 2));
  }

  /** Closes every fd it holds (destroy). */
  clear(): void {
    for (const node of [...this.lru.keys()]) this.close(node);
  }

  /** The node's fd, opened again from its parent's when not held. */
  private fd(node: Node, depth: number): number {
    if (node.fd >= 0) {
      if (!node.fixed) {
        this.lru.delete(node);
        this.lru.set(node, true);
      }
      return node.fd;
    }
    const { parent, name } = node;
    if (node.dead || parent === null || name === null) throw new FuseError(Errno.ESTALE);
    if (depth > MAX_DEPTH) throw new FuseError(Errno.ELOOP);
    const pfd = this.fd(parent, depth + 1);
    parent.pins++;
    try {
      let fd = sys.fsOpenat(pfd, name, O_PATH | O_NOFOLLOW, 0, -1, -1);
      if (fd === -Errno.EMFILE || fd === -Errno.ENFILE) {
        this.shrink();
        fd = sys.fsOpenat(pfd, name, O_PATH | O_NOFOLLOW, 0, -1, -1);
      }
      if (fd < 0) {
        this.stale++;
        throw new FuseError(fd === -Errno.ENOENT || fd === -Errno.ENOTDIR ? Errno.ESTALE : -fd);
      }
      let st: Stat;
      try {
        st = statAt(fd, null);
      } catch (e) {
        native.close(fd);
        throw e;
      }
      // The same inode number with another type or birth time is a new file that reused it (the
      // node's was deleted): opening it as the node could, say, open a device node as a file.
      if (st.key !== node.key || st.type !== node.type || (st.btime !== undefined && node.btime !== undefined && st.btime !== node.btime)) {
        native.close(fd);
        this.stale++;
        throw new FuseError(Errno.ESTALE);
      }
      this.resolutions++;
      node.fd = fd;
      this.lru.set(node, true);
    } finally {
      parent.pins--;
    }
    this.evict(node, this.capacity);
    return node.fd;
  }

  private unpin(node: Node): void {
    node.pins--;
    if (node.pins > 0) return;
    if (node.dead) this.close(node);
    else if (this.lru.size > this.capacity) this.evict(null, this.capacity);
  }

  /** Closes the least recently used unpinned fds (never `keep`'s) until at most `target` remain. */
  private evict(keep: Node | null, target: number): void {
    if (this.lru.size <= target) return;
    for (const node of this.lru.keys()) {
      if (this.lru.size <= target) return;
      if (node.pins > 0 || node === keep) continue;
      this.close(node);
      this.evictions++;
    }
  }

  private close(node: Node): void {
    this.lru.delete(node);
    if (node.fd < 0) return;
    const fd = node.fd;
    node.fd = -1;
    try {
      native.close(fd);
    } catch { /* EBADF cannot happen for an fd we own; nothing to do either way */ }
  }
}
