// The opcode table: one row per opcode drives decoding, dispatch, reply encoding and the
// --debug trace. An opcode without a row answers ENOSYS. Each file of ops/ exports its rows.
import type { OpRow } from './op.js';
import { rows as attr } from './ops/attr.js';
import { rows as dir } from './ops/dir.js';
import { rows as entry } from './ops/entry.js';
import { rows as file } from './ops/file.js';
import { rows as io } from './ops/io.js';
import { rows as link } from './ops/link.js';
import { rows as lock } from './ops/lock.js';
import { rows as misc } from './ops/misc.js';
import { rows as notifyReply } from './ops/notify_reply.js';
import { rows as session } from './ops/session.js';
import { rows as xattr } from './ops/xattr.js';

/** Indexed by opcode. */
export const table: ReadonlyArray<OpRow | undefined> = (() => {
  const t: (OpRow | undefined)[] = [];
  for (const r of [attr, dir, entry, file, io, link, lock, misc, notifyReply, session, xattr].flat()) {
    if (t[r.opcode]) throw new Error(`opcode ${r.opcode} has two rows`);
    t[r.opcode] = r;
  }
  return t;
})();
