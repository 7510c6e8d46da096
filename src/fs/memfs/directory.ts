// A directory's entries and the readdir cookies that address them. Each entry gets a cookie from
// a per-directory counter when it is linked, and a Map iterates in insertion order, so iteration
// order is cookie order: "continue after cookie c" stays exact while entries come and go (removed
// entries are skipped, new ones appear at the end, no entry is returned twice or jumped over).
// Cookies 1 and 2 are "." and "..", so children start at 3 and offset 0 means "from the start".
import { FuseError, Errno } from '../../errors.js';
import { nameByteLength } from '../../abi/names.js';
import type { Inode } from './inode.js';

/** NAME_MAX, in bytes of the on-the-wire name. */
export const NAME_MAX = 255;
export const COOKIE_DOT = 1;
export const COOKIE_DOTDOT = 2;

export interface DirEntry {
  /** What the name points at; a rename over an existing name swaps it in place, keeping the cookie. */
  node: Inode;
  readonly cookie: number;
}

/** Throws ENAMETOOLONG for names longer than NAME_MAX bytes (an escaped byte counts as one). */
export function checkName(name: string): void {
  // Every UTF-16 unit encodes to at least one byte, so short strings need no byte count.
  if (name.length > NAME_MAX || (name.length * 3 > NAME_MAX && nameByteLength(name) > NAME_MAX)) {
    throw new FuseError(Errno.ENAMETOOLONG);
  }
}

export class Directory {
  private readonly entries = new Map<string, DirEntry>();
  private nextCookie = COOKIE_DOTDOT + 1;

  get count(): number {
    return this.entries.size;
  }

  get(name: string): DirEntry | undefined {
    return this.entries.get(name);
  }

  add(name: string, node: Inode): DirEntry {
    const e: DirEntry = { node, cookie: this.nextCookie++ };
    this.entries.set(name, e);
    return e;
  }

  remove(name: string): void {
    this.entries.delete(name);
  }

  /**
   * A cursor on the entries after `cookie`. An open directory handle keeps its cursor so that
   * sequential readdir pages continue where they stopped instead of rescanning from the start;
   * any other offset (seekdir, a second reader) scans.
   */
  cursorAfter(cookie: number, cached?: DirCursor): DirCursor {
    if (cached && cached.dir === this && cached.cookie === cookie && !cached.done) return cached;
    const cur = new DirCursor(this, cookie, this.entries.entries());
    for (;;) {
      const e = cur.next();
      if (!e) break;
      if (e[1].cookie > cookie) { cur.unget(e); break; }
    }
    return cur;
  }

  /** True while `e` is still linked under `name` (a held-back entry may have been removed since). */
  holds(name: string, e: DirEntry): boolean {
    return this.entries.get(name) === e;
  }
}

/** A position in a readdir stream: the cookie last returned, and the live Map iterator after it. */
export class DirCursor {
  private held: [string, DirEntry] | undefined;
  /**
   * A Map iterator that has once reported done stays done even if entries are added later, so an
   * exhausted cursor is not reused: the next readdir at this offset scans afresh and sees them.
   */
  done = false;

  constructor(readonly dir: Directory, public cookie: number,
    private readonly iter: Iterator<[string, DirEntry]>) {}

  next(): [string, DirEntry] | undefined {
    const h = this.held;
    if (h) {
      this.held = undefined;
      if (this.dir.holds(h[0], h[1])) return h;
    }
    const r = this.iter.next();
    if (r.done) { this.done = true; return undefined; }
    return r.value;
  }

  /** Puts back an entry that did not fit in the reply buffer: the next page starts with it. */
  unget(e: [string, DirEntry]): void {
    this.held = e;
  }
}
