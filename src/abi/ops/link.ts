// READLINK, SYMLINK, MKNOD, LINK.
import type { Entry } from '../../filesystem.js';
import type { Request } from '../request.js';
import { Op } from '../opcodes.js';
import { LinkIn, MknodIn } from '../layout.js';
import { getU64, writeEntry } from '../codec.js';
import { encodeNameInto } from '../names.js';
import { Errno, FuseError } from '../../errors.js';
import type { OpRow } from '../op.js';
import { describeEntry } from './entry.js';

const entryReply = (r: Request, e: Entry): number => writeEntry(r.pv, 0, e);
const q = (s: string): string => JSON.stringify(s);
const oct = (n: number): string => '0' + n.toString(8);

/**
 * The longest target READLINK answers: the kernel asks for at most a page less its NUL
 * (fuse_readlink_folio) and the VFS never makes a symlink longer than PATH_MAX - 1.
 */
const MAX_TARGET = 4095;

export const readlink: OpRow = {
  opcode: Op.READLINK, name: 'READLINK', opIn: 0, method: 'readlink',
  call(fs, r) {
    r.size = Math.min(r.payload.length, MAX_TARGET);
    return fs.readlink!(r, r.nodeid);
  },
  reply(r, target: string) {
    if (typeof target !== 'string') throw new TypeError('readlink must return a string');
    if (target.includes('\0')) throw new RangeError('readlink: the target contains a NUL');
    // The target's bytes, no NUL: the kernel terminates it itself.
    const n = encodeNameInto(r.payload, 0, r.size, target);
    if (n < 0) throw new FuseError(Errno.ENAMETOOLONG);
    return n;
  },
  describe: () => '',
  describeReply: (t: string) => q(t),
};

export const symlink: OpRow = {
  opcode: Op.SYMLINK, name: 'SYMLINK', opIn: 0, method: 'symlink',
  call(fs, r) {
    // The new entry's name comes first, then the target.
    const name = r.name();
    const target = r.name(r.nameEnd);
    return fs.symlink!(r, r.nodeid, name, target);
  },
  reply: entryReply,
  describe: (r) => { const name = r.name(); return `${q(name)} -> ${q(r.name(r.nameEnd))}`; },
  describeReply: describeEntry,
};

export const mknod: OpRow = {
  opcode: Op.MKNOD, name: 'MKNOD', opIn: MknodIn.SIZE, method: 'mknod',
  call(fs, r) {
    const v = r.argView, o = r.argOff;
    r.umask = v.getUint32(o + MknodIn.umask, true);
    return fs.mknod!(r, r.nodeid, r.name(), v.getUint32(o + MknodIn.mode, true),
      v.getUint32(o + MknodIn.rdev, true), r.umask);
  },
  reply: entryReply,
  describe: (r) => `${q(r.name())} mode=${oct(r.argView.getUint32(r.argOff + MknodIn.mode, true))} rdev=0x${r.argView.getUint32(r.argOff + MknodIn.rdev, true).toString(16)}`,
  describeReply: describeEntry,
};

export const link: OpRow = {
  opcode: Op.LINK, name: 'LINK', opIn: LinkIn.SIZE, method: 'link',
  // fuse_link_in.oldnodeid is the existing inode; the request's nodeid is the new parent.
  call: (fs, r) => fs.link!(r, getU64(r.argView, r.argOff + LinkIn.oldnodeid), r.nodeid, r.name()),
  reply: entryReply,
  describe: (r) => `n${getU64(r.argView, r.argOff + LinkIn.oldnodeid)} as ${q(r.name())}`,
  describeReply: describeEntry,
};

export const rows: OpRow[] = [readlink, symlink, mknod, link];
