// Namespace operations: LOOKUP, MKDIR, UNLINK, RMDIR, RENAME, RENAME2.
import type { Entry, Filesystem } from '../../filesystem.js';
import type { Request } from '../request.js';
import { Op } from '../opcodes.js';
import { MkdirIn, Rename2In, RenameIn } from '../layout.js';
import { getU64, writeEntry } from '../codec.js';
import { noBody, type OpRow } from '../op.js';

const entryReply = (req: Request, e: Entry): number => writeEntry(req.pv, 0, e);
export const describeEntry = (e: Entry): string =>
  `{n${e.nodeid} ino=${e.attr.ino} mode=0${e.attr.mode.toString(8)} size=${e.attr.size ?? 0}}`;
const q = (s: string): string => JSON.stringify(s);

export const lookup: OpRow = {
  opcode: Op.LOOKUP, name: 'LOOKUP', opIn: 0, method: 'lookup',
  call: (fs, r) => fs.lookup!(r, r.nodeid, r.name()),
  reply: entryReply,
  describe: (r) => q(r.name()),
  describeReply: describeEntry,
};

export const mkdir: OpRow = {
  opcode: Op.MKDIR, name: 'MKDIR', opIn: MkdirIn.SIZE, method: 'mkdir',
  call(fs, r) {
    const mode = r.argView.getUint32(r.argOff + MkdirIn.mode, true);
    r.umask = r.argView.getUint32(r.argOff + MkdirIn.umask, true);
    return fs.mkdir!(r, r.nodeid, r.name(), mode, r.umask);
  },
  reply: entryReply,
  describe: (r) => `${q(r.name())} mode=0${r.argView.getUint32(r.argOff + MkdirIn.mode, true).toString(8)}`,
  describeReply: describeEntry,
};

export const unlink: OpRow = {
  opcode: Op.UNLINK, name: 'UNLINK', opIn: 0, method: 'unlink',
  call: (fs, r) => fs.unlink!(r, r.nodeid, r.name()),
  reply: noBody,
  describe: (r) => q(r.name()),
};

export const rmdir: OpRow = {
  opcode: Op.RMDIR, name: 'RMDIR', opIn: 0, method: 'rmdir',
  call: (fs, r) => fs.rmdir!(r, r.nodeid, r.name()),
  reply: noBody,
  describe: (r) => q(r.name()),
};

function callRename(fs: Filesystem, r: Request, newdir: number, flags: number): unknown {
  const name = r.name();
  const newname = r.name(r.nameEnd);
  return fs.rename!(r, r.nodeid, name, newdir, newname, flags);
}
function describeRename(r: Request, newdir: number, flags: number): string {
  const name = r.name();
  return `${q(name)} -> n${newdir} ${q(r.name(r.nameEnd))}${flags ? ` flags=${flags}` : ''}`;
}

export const rename: OpRow = {
  opcode: Op.RENAME, name: 'RENAME', opIn: RenameIn.SIZE, method: 'rename',
  call: (fs, r) => callRename(fs, r, getU64(r.argView, r.argOff + RenameIn.newdir), 0),
  reply: noBody,
  describe: (r) => describeRename(r, getU64(r.argView, r.argOff + RenameIn.newdir), 0),
};

export const rename2: OpRow = {
  opcode: Op.RENAME2, name: 'RENAME2', opIn: Rename2In.SIZE, method: 'rename',
  call: (fs, r) => callRename(fs, r, getU64(r.argView, r.argOff + Rename2In.newdir),
    r.argView.getUint32(r.argOff + Rename2In.flags, true)),
  reply: noBody,
  describe: (r) => describeRename(r, getU64(r.argView, r.argOff + Rename2In.newdir),
    r.argView.getUint32(r.argOff + Rename2In.flags, true)),
};

export const rows: OpRow[] = [lookup, mkdir, unlink, rmdir, rename, rename2];
