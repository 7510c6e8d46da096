// File operations: OPEN, CREATE, READ, WRITE, FLUSH, RELEASE, FSYNC.
import type { CreateReply, OpenReply } from '../../filesystem.js';
import type { Request } from '../request.js';
import { Op } from '../opcodes.js';
import { CreateIn, EntryOut, FlushIn, FsyncIn, OpenIn, ReadIn, ReleaseIn, WriteIn, WriteOut } from '../layout.js';
import { getU64, writeEntry, writeOpenOut } from '../codec.js';
import { FSYNC_FDATASYNC, Init } from '../flags.js';
import { noBody, type OpRow } from '../op.js';
import { describeEntry } from './entry.js';

const describeOpen = (o: OpenReply): string =>
  `{fh=${o.fh ?? 0}${o.openFlags ? ` flags=0x${o.openFlags.toString(16)}` : ''}${o.backingId ? ` backing=${o.backingId}` : ''}}`;
const oct = (n: number): string => '0' + n.toString(8);

export const open: OpRow = {
  opcode: Op.OPEN, name: 'OPEN', opIn: OpenIn.SIZE, method: 'open', fallback: {}, fallbackUnless: Init.NO_OPEN_SUPPORT,
  call: (fs, r) => fs.open!(r, r.nodeid, r.argView.getUint32(r.argOff + OpenIn.flags, true),
    r.argView.getUint32(r.argOff + OpenIn.open_flags, true)),
  reply: (r, o: OpenReply) => writeOpenOut(r.pv, 0, o),
  describe: (r) => `flags=${oct(r.argView.getUint32(r.argOff + OpenIn.flags, true))}`,
  describeReply: describeOpen,
};

export const create: OpRow = {
  opcode: Op.CREATE, name: 'CREATE', opIn: CreateIn.SIZE, method: 'create',
  call(fs, r) {
    const v = r.argView, o = r.argOff;
    r.umask = v.getUint32(o + CreateIn.umask, true);
    return fs.create!(r, r.nodeid, r.name(), v.getUint32(o + CreateIn.mode, true), r.umask,
      v.getUint32(o + CreateIn.flags, true), v.getUint32(o + CreateIn.open_flags, true));
  },
  reply: (r, c: CreateReply) => writeEntry(r.pv, 0, c) + writeOpenOut(r.pv, EntryOut.SIZE, c),
  describe: (r) => `${JSON.stringify(r.name())} mode=${oct(r.argView.getUint32(r.argOff + CreateIn.mode, true))} flags=${oct(r.argView.getUint32(r.argOff + CreateIn.flags, true))}`,
  describeReply: (c: CreateReply) => describeEntry(c) + ' ' + describeOpen(c),
};

export const read: OpRow = {
  opcode: Op.READ, name: 'READ', opIn: ReadIn.SIZE, method: 'read',
  call(fs, r) {
    const v = r.argView, o = r.argOff;
    const size = Math.min(v.getUint32(o + ReadIn.size, true), r.payload.length);
    r.size = size;
    return fs.read!(r, r.nodeid, getU64(v, o + ReadIn.fh), getU64(v, o + ReadIn.offset), size, r.out(size));
  },
  reply(r, res: number | Uint8Array) {
    if (typeof res === 'number') {
      if (!Number.isInteger(res) || res < 0 || res > r.size) throw new RangeError(`read returned ${res} for a ${r.size}-byte request`);
      return res;
    }
    if (!(res instanceof Uint8Array)) throw new TypeError('read must return a byte count or a Uint8Array');
    if (res.length > r.size) throw new RangeError(`read returned ${res.length} bytes for a ${r.size}-byte request`);
    if (res.buffer !== r.payload.buffer || res.byteOffset !== r.payload.byteOffset) r.payload.set(res, 0);
    return res.length;
  },
  describe: (r) => `fh=${getU64(r.argView, r.argOff + ReadIn.fh)} off=${getU64(r.argView, r.argOff + ReadIn.offset)} size=${r.argView.getUint32(r.argOff + ReadIn.size, true)}`,
  describeReply: (res: number | Uint8Array) => `${typeof res === 'number' ? res : res.length} bytes`,
};

export const write: OpRow = {
  opcode: Op.WRITE, name: 'WRITE', opIn: WriteIn.SIZE, method: 'write',
  call(fs, r) {
    const v = r.argView, o = r.argOff;
    const size = v.getUint32(o + WriteIn.size, true);
    if (size > r.dataEnd - r.dataOff) throw new RangeError(`WRITE of ${size} bytes carries only ${r.dataEnd - r.dataOff}`);
    r.size = size;
    return fs.write!(r, r.nodeid, getU64(v, o + WriteIn.fh), getU64(v, o + WriteIn.offset),
      r.dataSlice(r.dataOff, size), v.getUint32(o + WriteIn.write_flags, true), v.getUint32(o + WriteIn.flags, true));
  },
  reply(r, n: number) {
    if (!Number.isInteger(n) || n < 0 || n > r.size) throw new RangeError(`write returned ${n} for a ${r.size}-byte request`);
    r.pv.setUint32(WriteOut.size, n, true);
    r.pv.setUint32(WriteOut.size + 4, 0, true);
    return WriteOut.SIZE;
  },
  describe: (r) => `fh=${getU64(r.argView, r.argOff + WriteIn.fh)} off=${getU64(r.argView, r.argOff + WriteIn.offset)} size=${r.argView.getUint32(r.argOff + WriteIn.size, true)}`,
  describeReply: (n: number) => `${n} bytes`,
};

export const flush: OpRow = {
  opcode: Op.FLUSH, name: 'FLUSH', opIn: FlushIn.SIZE, method: 'flush',
  call: (fs, r) => fs.flush!(r, r.nodeid, getU64(r.argView, r.argOff + FlushIn.fh), getU64(r.argView, r.argOff + FlushIn.lock_owner)),
  reply: noBody,
  describe: (r) => `fh=${getU64(r.argView, r.argOff + FlushIn.fh)}`,
};

export const release: OpRow = {
  opcode: Op.RELEASE, name: 'RELEASE', opIn: ReleaseIn.SIZE, method: 'release', fallback: undefined,
  call(fs, r) {
    const v = r.argView, o = r.argOff;
    return fs.release!(r, r.nodeid, getU64(v, o + ReleaseIn.fh), v.getUint32(o + ReleaseIn.flags, true),
      v.getUint32(o + ReleaseIn.release_flags, true), getU64(v, o + ReleaseIn.lock_owner));
  },
  reply: noBody,
  describe: (r) => `fh=${getU64(r.argView, r.argOff + ReleaseIn.fh)}`,
};

export const fsync: OpRow = {
  opcode: Op.FSYNC, name: 'FSYNC', opIn: FsyncIn.SIZE, method: 'fsync',
  call: (fs, r) => fs.fsync!(r, r.nodeid, getU64(r.argView, r.argOff + FsyncIn.fh),
    (r.argView.getUint32(r.argOff + FsyncIn.fsync_flags, true) & FSYNC_FDATASYNC) !== 0),
  reply: noBody,
  describe: (r) => `fh=${getU64(r.argView, r.argOff + FsyncIn.fh)} flags=${r.argView.getUint32(r.argOff + FsyncIn.fsync_flags, true)}`,
};

export const rows: OpRow[] = [open, create, read, write, flush, release, fsync];
