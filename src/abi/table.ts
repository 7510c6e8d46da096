// The opcode table: one row per opcode drives decoding, dispatch, reply encoding and the
// --debug trace. An opcode without a row answers ENOSYS.
import type { OpRow } from './op.js';
import { getattr, setattr, statfs } from './ops/attr.js';
import { lookup, mkdir, rename, rename2, rmdir, unlink } from './ops/entry.js';
import { create, flush, fsync, open, read, release, write } from './ops/file.js';
import { opendir, readdir, readdirplus, releasedir } from './ops/dir.js';
import { batchForget, destroy, forget, interrupt } from './ops/session.js';

const rows: OpRow[] = [
  lookup, forget, getattr, setattr, mkdir, unlink, rmdir, rename, open, read, write, statfs,
  release, fsync, flush, opendir, readdir, releasedir, create, interrupt, destroy, batchForget,
  readdirplus, rename2,
];

/** Indexed by opcode. */
export const table: ReadonlyArray<OpRow | undefined> = (() => {
  const t: (OpRow | undefined)[] = [];
  for (const r of rows) {
    if (t[r.opcode]) throw new Error(`opcode ${r.opcode} has two rows`);
    t[r.opcode] = r;
  }
  return t;
})();
