// The nodeid ↔ path table. A nodeid stands for the (parent, name) positions the kernel knows it
// by; its path is the first of them, cached, and rewritten for a whole subtree when a directory
// above it is renamed, so a request on any nodeid costs one Map lookup to find its path. Lookup
// counts follow the kernel's: +1 per entry replied (lookup, create, mkdir, link, each
// READDIRPLUS entry), −n per FORGET; a node goes when the kernel holds none and no known child
// hangs below it.
//
// Hard links: a link made through the mount answers with the nodeid of the file linked to, as a
// filesystem of inodes would, so the kernel keeps one inode (one page cache, nlink right at
// once) and that nodeid has several paths. Requests use its first path; if that name goes,
// the next one takes over. A name that is a hard link the kernel never saw being made (say,
// made before the mount) is looked up as a nodeid of its own, as in libfuse's high-level API;
// st_ino (from Stat.ino) still shows stat, tar and cp -a that it is one file. A node whose last
// name is unlinked or renamed over keeps its last path (for the operations still coming on open
// handles) until the kernel forgets it.
import { Errno, FuseError } from '../errors.js';

export const ROOT_ID = 1;

interface Position { parent: PathNode; name: string }

export class PathNode {
  /** Kernel lookups outstanding. */
  nlookup = 0;
  /** Known children by name (only those the kernel holds, or that hold their own children). */
  children: Map<string, PathNode> | undefined = undefined;
  /** Further names of this node (hard links made through the mount). */
  links: Position[] | undefined = undefined;
  /** size:mtime seen at the last open, for autoCache. */
  openStamp: string | undefined = undefined;
  constructor(
    readonly nodeid: number,
    /** The first name; `parent` undefined once the node has no name left. */
    public name: string,
    public parent: PathNode | undefined,
    public path: string,
    /** mode & S_IFMT, 0 while unknown. */
    public type: number,
  ) {}
}

/** The path of `name` in the directory at `dir`. */
export function childPath(dir: string, name: string): string {
  return dir === '/' ? '/' + name : dir + '/' + name;
}

export class NodeTable {
  readonly root = new PathNode(ROOT_ID, '', undefined, '/', 0o040000);
  private readonly byId = new Map<number, PathNode>([[ROOT_ID, this.root]]);
  private nextId = ROOT_ID + 1;

  /** Nodes held, the root included. */
  get size(): number {
    return this.byId.size;
  }

  /** The node for a nodeid the kernel sent; ESTALE for one it should not hold. */
  get(nodeid: number): PathNode {
    const n = this.byId.get(nodeid);
    if (n === undefined) throw new FuseError(Errno.ESTALE ?? 116, `nodeid ${nodeid} is not known`);
    return n;
  }

  find(nodeid: number): PathNode | undefined {
    return this.byId.get(nodeid);
  }

  /**
   * The node at (parent, name), created if new, without counting a lookup: count one on it once
   * the kernel has it, or `release` it if the kernel never got it. A known node whose file type
   * changed is another file now: it loses that name and a new nodeid takes its place.
   */
  peek(parent: PathNode, name: string, type: number): PathNode {
    let n = parent.children?.get(name);
    if (n !== undefined) {
      if (type === 0 || n.type === 0 || n.type === type) {
        if (n.type === 0) n.type = type;
        return n;
      }
      this.detach(parent, name, false);
    }
    n = new PathNode(this.nextId++, name, undefined, '', type);
    this.byId.set(n.nodeid, n);
    this.addName(n, parent, name);
    return n;
  }

  /** The node at (parent, name) with one more kernel lookup: what an entry reply hands out. */
  remember(parent: PathNode, name: string, type: number): PathNode {
    const n = this.peek(parent, name, type);
    n.nlookup++;
    return n;
  }

  /** After link(2) through the mount: `n` is also (parent, name), with one more kernel lookup. */
  link(n: PathNode, parent: PathNode, name: string): PathNode {
    if (parent.children?.get(name) !== n) {
      this.detach(parent, name, false);
      this.addName(n, parent, name);
    }
    n.nlookup++;
    return n;
  }

  /** Drops a node from peek() that the kernel never received (if nothing else holds it). */
  release(n: PathNode): void {
    this.collect(n);
  }

  /** FORGET / BATCH_FORGET. */
  forget(nodeid: number, nlookup: number): void {
    const n = this.byId.get(nodeid);
    if (n === undefined || n === this.root) return;
    n.nlookup = Math.max(0, n.nlookup - nlookup);
    this.collect(n);
  }

  /**
   * The name is gone (unlink, rmdir, renamed over). `collectParent` false while the parent is
   * about to be used again.
   */
  detach(parent: PathNode, name: string, collectParent = true): void {
    const n = parent.children?.get(name);
    if (n === undefined) return;
    this.dropName(n, parent, name);
    this.collect(n);
    if (collectParent) this.collect(parent);
  }

  /** After a successful rename: the node (and every known node below it) moves. */
  move(parent: PathNode, name: string, newparent: PathNode, newname: string): void {
    if (parent === newparent && name === newname) return;
    const n = parent.children?.get(name);
    if (n !== undefined && newparent.children?.get(newname) === n) {
      // Two names of one file: rename(2) does nothing.
      return;
    }
    this.detach(newparent, newname, false);
    if (n !== undefined) {
      this.dropName(n, parent, name);
      this.addName(n, newparent, newname);
    }
    this.collect(parent);
    this.collect(newparent);
  }

  /** After RENAME_EXCHANGE: the two names swap files. */
  exchange(parent: PathNode, name: string, newparent: PathNode, newname: string): void {
    const a = parent.children?.get(name);
    const b = newparent.children?.get(newname);
    if (a === b) return;
    if (a !== undefined) this.dropName(a, parent, name);
    if (b !== undefined) this.dropName(b, newparent, newname);
    if (a !== undefined) this.addName(a, newparent, newname);
    if (b !== undefined) this.addName(b, parent, name);
  }

  /** Every path of every named node (for debugging and tests), sorted. */
  paths(): string[] {
    const out: string[] = [];
    for (const n of this.byId.values()) {
      if (n === this.root) { out.push('/'); continue; }
      if (n.parent === undefined) continue;
      out.push(n.path);
      for (const l of n.links ?? []) out.push(childPath(l.parent.path, l.name));
    }
    return out.sort();
  }

  /** Gives `n` the name (parent, name): its first name (and path) if it has none. */
  private addName(n: PathNode, parent: PathNode, name: string): void {
    if (parent.children === undefined) parent.children = new Map();
    parent.children.set(name, n);
    if (n.parent === undefined) {
      n.parent = parent;
      n.name = name;
      this.repath(n);
    } else {
      (n.links ??= []).push({ parent, name });
    }
  }

  /** Takes the name (parent, name) from `n`; if it was the first, the next name takes over. */
  private dropName(n: PathNode, parent: PathNode, name: string): void {
    if (parent.children?.get(name) === n) parent.children.delete(name);
    if (n.parent === parent && n.name === name) {
      const next = n.links?.shift();
      if (n.links?.length === 0) n.links = undefined;
      if (next === undefined) {
        n.parent = undefined;
        return;
      }
      n.parent = next.parent;
      n.name = next.name;
      this.repath(n);
    } else if (n.links !== undefined) {
      const i = n.links.findIndex((l) => l.parent === parent && l.name === name);
      if (i >= 0) n.links.splice(i, 1);
      if (n.links.length === 0) n.links = undefined;
    }
  }

  /** Rewrites the cached paths of `top` and of every node named below it (iteratively: trees can be deep). */
  private repath(top: PathNode): void {
    const stack = [top];
    for (let n = stack.pop(); n !== undefined; n = stack.pop()) {
      n.path = childPath(n.parent!.path, n.name);
      if (n.children === undefined) continue;
      // Only directories have children, and a directory has one name: each child below is
      // reached once; a hard-linked file's other names are computed when they are needed.
      for (const [name, c] of n.children) if (c.parent === n && c.name === name) stack.push(c);
    }
  }

  /** Removes nodes the kernel holds no lookup on and no known child hangs below; then their parents. */
  private collect(start: PathNode): void {
    const stack = [start];
    for (let n = stack.pop(); n !== undefined; n = stack.pop()) {
      if (n === this.root || n.nlookup !== 0 || (n.children !== undefined && n.children.size > 0)) continue;
      if (this.byId.get(n.nodeid) !== n) continue;
      this.byId.delete(n.nodeid);
      const names: Position[] = n.parent === undefined ? [] : [{ parent: n.parent, name: n.name }];
      if (n.links !== undefined) names.push(...n.links);
      for (const { parent, name } of names) {
        if (parent.children?.get(name) === n) {
          parent.children.delete(name);
          if (parent.children.size === 0) parent.children = undefined;
        }
        stack.push(parent);
      }
      n.parent = undefined;
      n.links = undefined;
    }
  }
}
