// The inode table: one Node per source inode (st_dev, st_ino) the kernel holds a nodeid for.
//
// Nodeids are handed out in increasing order and never reused (2^53 of them), so generation is
// always 0. A node lives while the kernel's lookup count is above zero or while another live node
// names it as its parent (its children need it to be found again, see fdcache.ts); then it is
// freed and its fd closed. A node remembers one (parent, name) under which it was last seen:
// every lookup that finds it refreshes them, and renames through the mount move them.
import { FuseError, Errno } from '../../errors.js';
import type { NodeId } from '../../filesystem.js';

export class Node {
  /** The daemon's fd for the inode: O_PATH (root: O_RDONLY directory), or -1 when not held. */
  fd = -1;
  /** The kernel's lookup count. */
  nlookup = 0;
  /** Live nodes whose parent this is. */
  children = 0;
  /** Operations using `fd` right now: it is not closed under them. */
  pins = 0;
  /** The fd cannot be re-resolved (root; an O_TMPFILE inode with no name yet): never evicted. */
  fixed = false;
  /** Freed while pinned: the fd closes when the last pin goes. */
  dead = false;
  /**
   * The passthrough backing id shared by every open file of this inode, and how many use it: the
   * kernel keeps one backing file per inode and fails an open (EIO) that brings a different one.
   */
  backingId = 0;
  backingUsers = 0;

  constructor(
    readonly nodeid: NodeId,
    /** st_dev:st_ino, exact. */
    readonly key: string,
    /** st_mode & S_IFMT. */
    readonly type: number,
    /** The birth time, when the filesystem reports one. */
    readonly btime: string | undefined,
    public parent: Node | null,
    public name: Buffer | null,
  ) {}
}

export class NodeTable {
  private readonly byId = new Map<NodeId, Node>();
  private readonly byKey = new Map<string, Node>();
  private nextId = 2;
  readonly root: Node;

  /** `onFree`: the node is gone from the table; close its fd. */
  constructor(rootKey: string, rootType: number, rootBtime: string | undefined, private readonly onFree: (node: Node) => void) {
    this.root = new Node(1, rootKey, rootType, rootBtime, null, null);
    this.root.fixed = true;
    this.root.nlookup = 1;
    this.byId.set(1, this.root);
    this.byKey.set(rootKey, this.root);
  }

  get size(): number {
    return this.byId.size;
  }

  get(nodeid: NodeId): Node {
    const node = this.byId.get(nodeid);
    if (node === undefined) throw new FuseError(Errno.ESTALE, `unknown nodeid ${nodeid}`);
    return node;
  }

  /** The node already known for this inode, if any. */
  known(key: string): Node | undefined {
    return this.byKey.get(key);
  }

  /**
   * The node for the inode `key` just seen as `name` in `parent` (parent null: an inode with no
   * name, from O_TMPFILE), created if new; counts one lookup for the kernel. An inode number
   * reused by the filesystem (another type, another birth time) gets a new node: the kernel must
   * not take a new file for the old one it still holds.
   */
  found(key: string, type: number, btime: string | undefined, parent: Node | null, name: Buffer | null): Node {
    let node = this.byKey.get(key);
    if (node !== undefined && (node.type !== type || (btime !== undefined && node.btime !== undefined && btime !== node.btime))) {
      this.byKey.delete(key); // the old node stays reachable by nodeid until the kernel forgets it
      node = undefined;
    }
    if (node === undefined) {
      node = new Node(this.nextId++, key, type, btime, null, null);
      this.byId.set(node.nodeid, node);
      this.byKey.set(key, node);
    }
    if (parent !== null && name !== null && node !== this.root) this.rename(node, parent, name);
    node.nlookup++;
    return node;
  }

  /** The kernel did not get a reference found() counted (a readdirplus entry that did not fit). */
  unfound(node: Node): void {
    this.forget(node.nodeid, 1);
  }

  forget(nodeid: NodeId, nlookup: number): void {
    const node = this.byId.get(nodeid);
    if (node === undefined || node === this.root) return;
    node.nlookup = Math.max(0, node.nlookup - nlookup);
    this.maybeFree(node);
  }

  /**
   * Records that `node` is now `name` in `parent`. A parent that is (by our stale records) below
   * the node itself is refused: that would make a cycle, and the old name is kept instead (if it
   * is wrong, resolving it fails with ESTALE and the kernel looks the name up again).
   */
  rename(node: Node, parent: Node, name: Buffer): void {
    if (node.parent === parent && node.name !== null && node.name.equals(name)) return;
    for (let p: Node | null = parent; p !== null; p = p.parent) if (p === node) return;
    const old = node.parent;
    parent.children++;
    node.parent = parent;
    node.name = Buffer.from(name); // name may be a view of a shared buffer
    if (old !== null) {
      old.children--;
      this.maybeFree(old);
    }
  }

  /** Every node, for destroy(). */
  all(): IterableIterator<Node> {
    return this.byId.values();
  }

  private maybeFree(start: Node): void {
    let node: Node | null = start;
    while (node !== null && node !== this.root && node.nlookup === 0 && node.children === 0) {
      this.byId.delete(node.nodeid);
      if (this.byKey.get(node.key) === node) this.byKey.delete(node.key);
      this.onFree(node);
      const parent: Node | null = node.parent;
      node.parent = null;
      if (parent !== null) parent.children--;
      node = parent;
    }
  }
}
