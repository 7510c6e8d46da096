// ACCESS, FSYNCDIR, STATX, SYNCFS, TMPFILE; and the result checks the other ops files share.
import type { CreateReply, StatxReply } from '../../filesystem.js';
import type { Request } from '../request.js';
import { Op } from '../opcodes.js';
import { AccessIn, CreateIn, EntryOut, FsyncIn, Statx, StatxIn, StatxOut, SxTime, SyncfsIn } from '../layout.js';
import { getU64, setTimeout64, setU64, writeEntry, writeOpenOut, checkUint, checkInt, checkObject } from '../codec.js';
import { FSYNC_FDATASYNC, GETATTR_FH } from '../flags.js';
import { noBody, type OpRow } from '../op.js';
import { describeEntry } from './entry.js';

/** The largest double below 2^64: the most a u64 field takes from a JavaScript number. */
const U32 = 0xffffffff;
const oct = (n: number): string => '0' + n.toString(8);

export const access: OpRow = {
  opcode: Op.ACCESS, name: 'ACCESS', opIn: AccessIn.SIZE, method: 'access',
  call: (fs, r) => fs.access!(r, r.nodeid, r.argView.getUint32(r.argOff + AccessIn.mask, true)),
  reply: noBody,
  describe: (r) => `mask=${r.argView.getUint32(r.argOff + AccessIn.mask, true)}`,
};

export const fsyncdir: OpRow = {
  opcode: Op.FSYNCDIR, name: 'FSYNCDIR', opIn: FsyncIn.SIZE, method: 'fsyncdir',
  call: (fs, r) => fs.fsyncdir!(r, r.nodeid, getU64(r.argView, r.argOff + FsyncIn.fh),
    (r.argView.getUint32(r.argOff + FsyncIn.fsync_flags, true) & FSYNC_FDATASYNC) !== 0),
  reply: noBody,
  describe: (r) => `fh=${getU64(r.argView, r.argOff + FsyncIn.fh)} flags=${r.argView.getUint32(r.argOff + FsyncIn.fsync_flags, true)}`,
};

function statxFh(r: Request): number | undefined {
  const v = r.argView, o = r.argOff;
  return v.getUint32(o + StatxIn.getattr_flags, true) & GETATTR_FH ? getU64(v, o + StatxIn.fh) : undefined;
}

function writeSxTime(v: DataView, off: number, sec: unknown, nsec: unknown, what: string): void {
  const s = checkInt(sec ?? 0, `statx ${what}`, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  setU64(v, off + SxTime.tv_sec, s);
  v.setUint32(off + SxTime.tv_nsec, checkUint(nsec ?? 0, `statx ${what}nsec`, 999999999), true);
}

/** struct fuse_statx_out (288) at 0: every byte written, unset fields and spares zero. */
function writeStatxOut(r: Request, s: StatxReply): number {
  checkObject(s, 'statx');
  const a = checkObject(s.attr, 'statx (attr)');
  const v = r.pv;
  r.payload.fill(0, 0, StatxOut.SIZE);
  setTimeout64(v, StatxOut.attr_valid, StatxOut.attr_valid_nsec, s.timeout ?? 1);
  const b = StatxOut.stat;
  v.setUint32(b + Statx.mask, checkUint(a.mask, 'statx mask', U32), true);
  v.setUint32(b + Statx.blksize, checkUint(a.blksize ?? 4096, 'statx blksize', U32), true);
  setU64(v, b + Statx.attributes, checkUint(a.attributes ?? 0, 'statx attributes'));
  v.setUint32(b + Statx.nlink, checkUint(a.nlink ?? 1, 'statx nlink', U32), true);
  v.setUint32(b + Statx.uid, checkUint(a.uid ?? 0, 'statx uid', U32), true);
  v.setUint32(b + Statx.gid, checkUint(a.gid ?? 0, 'statx gid', U32), true);
  v.setUint16(b + Statx.mode, checkUint(a.mode, 'statx mode', 0xffff), true); // u16, then a u16 spare
  setU64(v, b + Statx.ino, checkUint(a.ino, 'statx ino'));
  setU64(v, b + Statx.size, checkUint(a.size ?? 0, 'statx size'));
  setU64(v, b + Statx.blocks, checkUint(a.blocks ?? 0, 'statx blocks'));
  setU64(v, b + Statx.attributes_mask, checkUint(a.attributesMask ?? 0, 'statx attributesMask'));
  writeSxTime(v, b + Statx.atime, a.atime, a.atimensec, 'atime');
  writeSxTime(v, b + Statx.btime, a.btime, a.btimensec, 'btime');
  writeSxTime(v, b + Statx.ctime, a.ctime, a.ctimensec, 'ctime');
  writeSxTime(v, b + Statx.mtime, a.mtime, a.mtimensec, 'mtime');
  v.setUint32(b + Statx.rdev_major, checkUint(a.rdevMajor ?? 0, 'statx rdevMajor', U32), true);
  v.setUint32(b + Statx.rdev_minor, checkUint(a.rdevMinor ?? 0, 'statx rdevMinor', U32), true);
  v.setUint32(b + Statx.dev_major, checkUint(a.devMajor ?? 0, 'statx devMajor', U32), true);
  v.setUint32(b + Statx.dev_minor, checkUint(a.devMinor ?? 0, 'statx devMinor', U32), true);
  return StatxOut.SIZE;
}

export const statx: OpRow = {
  opcode: Op.STATX, name: 'STATX', opIn: StatxIn.SIZE, method: 'statx',
  call(fs, r) {
    const v = r.argView, o = r.argOff;
    return fs.statx!(r, r.nodeid, statxFh(r), v.getUint32(o + StatxIn.sx_flags, true),
      v.getUint32(o + StatxIn.sx_mask, true));
  },
  reply: writeStatxOut,
  describe(r) {
    const fh = statxFh(r);
    const v = r.argView, o = r.argOff;
    return `${fh === undefined ? '' : `fh=${fh} `}flags=0x${v.getUint32(o + StatxIn.sx_flags, true).toString(16)} mask=0x${v.getUint32(o + StatxIn.sx_mask, true).toString(16)}`;
  },
  describeReply: (s: StatxReply) =>
    `{mask=0x${s.attr.mask.toString(16)} ino=${s.attr.ino} mode=${oct(s.attr.mode)} size=${s.attr.size ?? 0}}`,
};

export const syncfs: OpRow = {
  opcode: Op.SYNCFS, name: 'SYNCFS', opIn: SyncfsIn.SIZE, method: 'syncfs',
  call: (fs, r) => fs.syncfs!(r, r.nodeid),
  reply: noBody,
  describe: () => '',
};

export const tmpfile: OpRow = {
  opcode: Op.TMPFILE, name: 'TMPFILE', opIn: CreateIn.SIZE, method: 'tmpfile',
  // fuse_create_in as for CREATE; the name the kernel may put in the payload means nothing.
  call(fs, r) {
    const v = r.argView, o = r.argOff;
    r.umask = v.getUint32(o + CreateIn.umask, true);
    return fs.tmpfile!(r, r.nodeid, v.getUint32(o + CreateIn.mode, true), r.umask,
      v.getUint32(o + CreateIn.flags, true));
  },
  reply: (r, c: CreateReply) => writeEntry(r.pv, 0, checkObject(c, 'tmpfile')) + writeOpenOut(r.pv, EntryOut.SIZE, c),
  describe: (r) => `mode=${oct(r.argView.getUint32(r.argOff + CreateIn.mode, true))} flags=${oct(r.argView.getUint32(r.argOff + CreateIn.flags, true))}`,
  describeReply: (c: CreateReply) => `${describeEntry(c)} {fh=${c.fh ?? 0}${c.openFlags ? ` flags=0x${c.openFlags.toString(16)}` : ''}}`,
};

export const rows: OpRow[] = [access, fsyncdir, statx, syncfs, tmpfile];
