// READDIR and READDIRPLUS pages. The offset the kernel sends back is the cookie of the last entry
// it received: "." is 1, ".." is 2, children carry the cookies their directory gave them. A page
// ends when the writer reports the reply buffer full; the entry that did not fit is held back in
// the handle's cursor and starts the next page.
import type { DirentPlusWriter, DirentWriter, Entry } from '../../filesystem.js';
import { DT, dtFromMode } from '../../abi/flags.js';
import { COOKIE_DOT, COOKIE_DOTDOT } from './directory.js';
import type { Handle } from './handles.js';
import type { DirInode, Inode } from './inode.js';

export function readdir(dir: DirInode, h: Handle, offset: number, out: DirentWriter): void {
  if (offset < COOKIE_DOT && !out.add('.', dir.ino, DT.DIR, COOKIE_DOT)) return;
  if (offset < COOKIE_DOTDOT && !out.add('..', dir.parent.ino, DT.DIR, COOKIE_DOTDOT)) return;
  const cur = dir.entries.cursorAfter(Math.max(offset, COOKIE_DOTDOT), h.cursor);
  h.cursor = cur;
  for (let e = cur.next(); e; e = cur.next()) {
    const { node, cookie } = e[1];
    if (!out.add(e[0], node.ino, dtFromMode(node.mode), cookie)) { cur.unget(e); return; }
    cur.cookie = cookie;
  }
}

/**
 * Like readdir, with each child's entry as lookup would return it. `lookedUp` builds that entry;
 * each child the writer accepts gains a lookup reference, since the kernel will forget it.
 */
export function readdirplus(dir: DirInode, h: Handle, offset: number, out: DirentPlusWriter,
  lookedUp: (node: Inode) => Entry): void {
  // "." and ".." go with nodeid 0: the kernel takes no reference from them.
  if (offset < COOKIE_DOT && !out.add('.', { nodeid: 0, attr: dir.attr() }, COOKIE_DOT)) return;
  if (offset < COOKIE_DOTDOT && !out.add('..', { nodeid: 0, attr: dir.parent.attr() }, COOKIE_DOTDOT)) return;
  const cur = dir.entries.cursorAfter(Math.max(offset, COOKIE_DOTDOT), h.cursor);
  h.cursor = cur;
  for (let e = cur.next(); e; e = cur.next()) {
    const { node, cookie } = e[1];
    if (!out.add(e[0], lookedUp(node), cookie)) { cur.unget(e); return; }
    node.nlookup++;
    cur.cookie = cookie;
  }
}
