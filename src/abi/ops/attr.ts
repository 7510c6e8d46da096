// Attribute operations: GETATTR, SETATTR, STATFS.
import type { AttrReply, SetattrIn as SetattrArgs, Statfs } from '../../filesystem.js';
import type { Request } from '../request.js';
import { Op } from '../opcodes.js';
import { GetattrIn, SetattrIn } from '../layout.js';
import { getU64, writeAttrOut, writeStatfs } from '../codec.js';
import { Fattr, GETATTR_FH } from '../flags.js';
import type { OpRow } from '../op.js';

const attrReply = (r: Request, a: AttrReply): number => writeAttrOut(r.pv, a.attr, a.timeout);
const describeAttr = (a: AttrReply): string =>
  `{ino=${a.attr.ino} mode=0${a.attr.mode.toString(8)} size=${a.attr.size ?? 0}}`;

function getattrFh(r: Request): number | undefined {
  const v = r.argView, o = r.argOff;
  return v.getUint32(o + GetattrIn.getattr_flags, true) & GETATTR_FH ? getU64(v, o + GetattrIn.fh) : undefined;
}

export const getattr: OpRow = {
  opcode: Op.GETATTR, name: 'GETATTR', opIn: GetattrIn.SIZE, method: 'getattr',
  call: (fs, r) => fs.getattr!(r, r.nodeid, getattrFh(r)),
  reply: attrReply,
  describe: (r) => { const fh = getattrFh(r); return fh === undefined ? '' : `fh=${fh}`; },
  describeReply: describeAttr,
};

/** Decodes fuse_setattr_in into the fields that `valid` says are set. */
export function decodeSetattr(r: Request): SetattrArgs {
  const v = r.argView, o = r.argOff;
  const valid = v.getUint32(o + SetattrIn.valid, true);
  const s: SetattrArgs = { valid };
  if (valid & Fattr.FH) s.fh = getU64(v, o + SetattrIn.fh);
  if (valid & Fattr.MODE) s.mode = v.getUint32(o + SetattrIn.mode, true);
  if (valid & Fattr.UID) s.uid = v.getUint32(o + SetattrIn.uid, true);
  if (valid & Fattr.GID) s.gid = v.getUint32(o + SetattrIn.gid, true);
  if (valid & Fattr.SIZE) s.size = getU64(v, o + SetattrIn.size);
  if (valid & Fattr.ATIME_NOW) s.atimeNow = true;
  else if (valid & Fattr.ATIME) {
    s.atime = Number(v.getBigInt64(o + SetattrIn.atime, true));
    s.atimensec = v.getUint32(o + SetattrIn.atimensec, true);
  }
  if (valid & Fattr.MTIME_NOW) s.mtimeNow = true;
  else if (valid & Fattr.MTIME) {
    s.mtime = Number(v.getBigInt64(o + SetattrIn.mtime, true));
    s.mtimensec = v.getUint32(o + SetattrIn.mtimensec, true);
  }
  if (valid & Fattr.CTIME) {
    s.ctime = Number(v.getBigInt64(o + SetattrIn.ctime, true));
    s.ctimensec = v.getUint32(o + SetattrIn.ctimensec, true);
  }
  if (valid & Fattr.LOCKOWNER) s.lockOwner = getU64(v, o + SetattrIn.lock_owner);
  if (valid & Fattr.KILL_SUIDGID) s.killSuidgid = true;
  return s;
}

export const setattr: OpRow = {
  opcode: Op.SETATTR, name: 'SETATTR', opIn: SetattrIn.SIZE, method: 'setattr',
  call: (fs, r) => fs.setattr!(r, r.nodeid, decodeSetattr(r)),
  reply: attrReply,
  describe: (r) => {
    const s = decodeSetattr(r);
    return Object.entries(s).map(([k, x]) => `${k}=${k === 'mode' || k === 'valid' ? '0' + (x as number).toString(8) : String(x)}`).join(' ');
  },
  describeReply: describeAttr,
};

export const statfs: OpRow = {
  opcode: Op.STATFS, name: 'STATFS', opIn: 0, method: 'statfs',
  call: (fs, r) => fs.statfs!(r, r.nodeid),
  reply: (r, s: Statfs) => writeStatfs(r.pv, s),
  describe: () => '',
  describeReply: (s: Statfs) => `{blocks=${s.blocks} bfree=${s.bfree} files=${s.files}}`,
};


export const rows: OpRow[] = [getattr, setattr, statfs];
