// The path bridge's nodeid ↔ path table on its own: lookup counts, FORGET, renames that re-path
// whole subtrees, exchanges, hard links with several paths, and nodes whose name is gone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NodeTable } from '../../src/paths/table.js';

const DIR = 0o040000, REG = 0o100000, LNK = 0o120000;

/** Builds /a/b/c/f with one lookup on each node, as `stat /a/b/c/f` would leave it. */
function tree(t: NodeTable) {
  const a = t.remember(t.root, 'a', DIR);
  const b = t.remember(a, 'b', DIR);
  const c = t.remember(b, 'c', DIR);
  const f = t.remember(c, 'f', REG);
  return { a, b, c, f };
}

test('a looked-up name gets a nodeid and a path; looking it up again counts, not allocates', () => {
  const t = new NodeTable();
  const { a, f } = tree(t);
  assert.equal(a.path, '/a');
  assert.equal(f.path, '/a/b/c/f');
  assert.equal(t.remember(t.root, 'a', DIR), a);
  assert.equal(a.nlookup, 2);
  assert.equal(t.size, 5);
  assert.deepEqual(t.paths(), ['/', '/a', '/a/b', '/a/b/c', '/a/b/c/f']);
});

test('FORGET removes a node at zero lookups, and then parents that only it kept', () => {
  const t = new NodeTable();
  const { a, b, c, f } = tree(t);
  // The kernel forgets the directories first (their lookups go to 0) while f is still held.
  t.forget(a.nodeid, 1);
  t.forget(b.nodeid, 1);
  t.forget(c.nodeid, 1);
  assert.equal(t.size, 5, 'directories stay while a known child hangs below them');
  assert.equal(f.path, '/a/b/c/f');
  t.forget(f.nodeid, 1);
  assert.equal(t.size, 1, 'only the root is left');
  assert.equal(t.find(a.nodeid), undefined);
  t.forget(f.nodeid, 1); // a late or duplicate FORGET is harmless
  t.forget(1, 5); // the root is never forgotten
  assert.equal(t.size, 1);
});

test('renaming a directory re-paths every known node below it', () => {
  const t = new NodeTable();
  const { a, b, c, f } = tree(t);
  const g = t.remember(c, 'g', REG);
  const z = t.remember(t.root, 'z', DIR);
  t.move(t.root, 'a', z, 'renamed');
  assert.equal(a.path, '/z/renamed');
  assert.equal(b.path, '/z/renamed/b');
  assert.equal(c.path, '/z/renamed/b/c');
  assert.equal(f.path, '/z/renamed/b/c/f');
  assert.equal(g.path, '/z/renamed/b/c/g');
  assert.equal(t.root.children?.get('a'), undefined);
  t.move(b, 'c', t.root, 'top');
  assert.equal(f.path, '/top/f');
  assert.deepEqual(t.paths(), ['/', '/top', '/top/f', '/top/g', '/z', '/z/renamed', '/z/renamed/b']);
});

test('rename over a known name detaches the old node; it keeps its last path until forgotten', () => {
  const t = new NodeTable();
  const x = t.remember(t.root, 'x', REG);
  const y = t.remember(t.root, 'y', REG);
  t.move(t.root, 'x', t.root, 'y');
  assert.equal(x.path, '/y');
  assert.equal(t.root.children?.get('y'), x);
  assert.equal(y.parent, undefined, 'the replaced file has no name');
  assert.equal(y.path, '/y', 'but keeps its last path for open handles');
  assert.equal(t.find(y.nodeid), y, 'the kernel still holds it');
  t.forget(y.nodeid, 1);
  assert.equal(t.find(y.nodeid), undefined);
  assert.equal(t.root.children?.get('y'), x, 'forgetting the old node leaves the new name alone');
});

test('RENAME_EXCHANGE swaps two names, subtrees included', () => {
  const t = new NodeTable();
  const { a, f } = tree(t);
  const d = t.remember(t.root, 'd', DIR);
  const inD = t.remember(d, 'in-d', REG);
  t.exchange(t.root, 'a', t.root, 'd');
  assert.equal(a.path, '/d');
  assert.equal(f.path, '/d/b/c/f');
  assert.equal(d.path, '/a');
  assert.equal(inD.path, '/a/in-d');
});

test('unlink detaches; a later lookup of the same name is a new nodeid', () => {
  const t = new NodeTable();
  const f = t.remember(t.root, 'f', REG);
  t.detach(t.root, 'f');
  assert.equal(f.parent, undefined);
  const again = t.remember(t.root, 'f', REG);
  assert.notEqual(again.nodeid, f.nodeid);
  t.forget(f.nodeid, 1);
  assert.equal(t.root.children?.get('f'), again);
});

test('a name whose file type changed is a different file: new nodeid', () => {
  const t = new NodeTable();
  const f = t.remember(t.root, 'n', REG);
  const d = t.remember(t.root, 'n', DIR);
  assert.notEqual(d.nodeid, f.nodeid);
  assert.equal(f.parent, undefined);
  assert.equal(t.remember(t.root, 'n', 0), d, 'an unknown type matches what is known');
});

test('hard links made through the mount share the nodeid; the next name takes over when the first goes', () => {
  const t = new NodeTable();
  const d = t.remember(t.root, 'd', DIR);
  const f = t.remember(t.root, 'f', REG);
  assert.equal(t.link(f, d, 'g'), f);
  assert.equal(f.nlookup, 2);
  assert.deepEqual(t.paths(), ['/', '/d', '/d/g', '/f']);
  assert.equal(t.remember(d, 'g', REG), f, 'a lookup of the link finds the same nodeid');
  t.detach(t.root, 'f');
  assert.equal(f.path, '/d/g', 'the remaining name is the path now');
  t.move(t.root, 'd', t.root, 'e');
  assert.equal(f.path, '/e/g', 'and it follows renames of its directory');
  // A link whose first name is in a renamed directory: the other name is computed when needed.
  const h = t.remember(t.root, 'h', REG);
  t.link(h, t.root.children!.get('e')!, 'h2');
  t.move(t.root, 'e', t.root, 'e2');
  t.detach(t.root, 'h');
  assert.equal(h.path, '/e2/h2');
  // rename of one link over another of the same file changes nothing.
  t.link(h, t.root, 'h3');
  t.move(t.root, 'h3', t.root.children!.get('e2')!, 'h2');
  assert.deepEqual(t.paths().filter((p) => p.includes('h')), ['/e2/h2', '/h3']);
  t.forget(h.nodeid, h.nlookup);
  assert.equal(t.find(h.nodeid), undefined);
  assert.deepEqual(t.paths().filter((p) => p.includes('h')), [], 'every name of a forgotten node is gone');
});

test('peek + release: a READDIRPLUS entry the kernel never got leaves nothing behind', () => {
  const t = new NodeTable();
  const n = t.peek(t.root, 'x', LNK);
  assert.equal(t.size, 2);
  t.release(n);
  assert.equal(t.size, 1);
  const kept = t.peek(t.root, 'y', REG);
  kept.nlookup++;
  t.release(kept);
  assert.equal(t.size, 2, 'a node the kernel holds stays');
});

test('a thousand files looked up and forgotten leave the table as it started', () => {
  const t = new NodeTable();
  const d = t.remember(t.root, 'd', DIR);
  const ids: number[] = [];
  for (let i = 0; i < 1000; i++) ids.push(t.remember(d, `f${i}`, REG).nodeid);
  assert.equal(t.size, 1002);
  for (const id of ids) t.forget(id, 1);
  t.forget(d.nodeid, 1);
  assert.equal(t.size, 1);
  assert.equal(t.root.children, undefined);
});
