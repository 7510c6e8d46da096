// Directory operations: OPENDIR, READDIR, READDIRPLUS, RELEASEDIR.
import type { OpenReply } from '../../filesystem.js';
import type { Request } from '../request.js';
import { Op } from '../opcodes.js';
import { OpenIn, ReadIn, ReleaseIn } from '../layout.js';
import { getU64, writeOpenOut } from '../codec.js';
import { DirBuffer } from '../dirent.js';
import { Init } from '../flags.js';
import type { OpRow } from '../op.js';

const buffers = new WeakMap<Request, DirBuffer>();

/** The slot's own DirBuffer, reset over its payload (allocated once per slot). */
function dirBuffer(r: Request, plus: boolean): DirBuffer {
  let b = buffers.get(r);
  if (b === undefined) buffers.set(r, (b = new DirBuffer()));
  return b.reset(r.payload, r.pv, r.size, plus);
}

function callReaddir(r: Request, plus: boolean, method: (fh: number, off: number, b: DirBuffer) => unknown): unknown {
  const v = r.argView, o = r.argOff;
  r.size = Math.min(v.getUint32(o + ReadIn.size, true), r.payload.length);
  const fh = getU64(v, o + ReadIn.fh), off = getU64(v, o + ReadIn.offset);
  return method(fh, off, dirBuffer(r, plus));
}

const describeRead = (r: Request): string =>
  `fh=${getU64(r.argView, r.argOff + ReadIn.fh)} off=${getU64(r.argView, r.argOff + ReadIn.offset)} size=${r.argView.getUint32(r.argOff + ReadIn.size, true)}`;

export const opendir: OpRow = {
  opcode: Op.OPENDIR, name: 'OPENDIR', opIn: OpenIn.SIZE, method: 'opendir', fallback: {}, fallbackUnless: Init.NO_OPENDIR_SUPPORT,
  call: (fs, r) => fs.opendir!(r, r.nodeid, r.argView.getUint32(r.argOff + OpenIn.flags, true)),
  reply: (r, o: OpenReply) => writeOpenOut(r.pv, 0, o),
  describe: (r) => `flags=0${r.argView.getUint32(r.argOff + OpenIn.flags, true).toString(8)}`,
  describeReply: (o: OpenReply) => `{fh=${o.fh ?? 0}}`,
};

export const readdir: OpRow = {
  opcode: Op.READDIR, name: 'READDIR', opIn: ReadIn.SIZE, method: 'readdir',
  call: (fs, r) => callReaddir(r, false, (fh, off, b) => fs.readdir!(r, r.nodeid, fh, off, b)),
  reply: (r) => buffers.get(r)!.pos,
  describe: describeRead,
};

export const readdirplus: OpRow = {
  opcode: Op.READDIRPLUS, name: 'READDIRPLUS', opIn: ReadIn.SIZE, method: 'readdirplus',
  call: (fs, r) => callReaddir(r, true, (fh, off, b) => fs.readdirplus!(r, r.nodeid, fh, off, b)),
  reply: (r) => buffers.get(r)!.pos,
  describe: describeRead,
};

export const releasedir: OpRow = {
  opcode: Op.RELEASEDIR, name: 'RELEASEDIR', opIn: ReleaseIn.SIZE, method: 'releasedir', fallback: undefined,
  call: (fs, r) => fs.releasedir!(r, r.nodeid, getU64(r.argView, r.argOff + ReleaseIn.fh),
    r.argView.getUint32(r.argOff + ReleaseIn.flags, true)),
  reply: () => 0,
  describe: (r) => `fh=${getU64(r.argView, r.argOff + ReleaseIn.fh)}`,
};


export const rows: OpRow[] = [opendir, readdir, readdirplus, releasedir];
