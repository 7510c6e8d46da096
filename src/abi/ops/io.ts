// FALLOCATE, LSEEK, COPY_FILE_RANGE, COPY_FILE_RANGE_64, BMAP, IOCTL, POLL.
import type { Filesystem, IoctlReply } from '../../filesystem.js';
import type { Request } from '../request.js';
import { Op } from '../opcodes.js';
import {
  BmapIn, BmapOut, CopyFileRangeIn, CopyFileRangeOut, FallocateIn, IoctlIn, IoctlOut, LseekIn, LseekOut,
  PollIn, PollOut, WriteOut,
} from '../layout.js';
import { getU64, setU64, checkInt, checkObject, checkUint } from '../codec.js';
import { Ioctl, POLL_SCHEDULE_NOTIFY } from '../flags.js';
import { Errno, FuseError } from '../../errors.js';
import { noBody, type OpRow } from '../op.js';

const U32 = 0xffffffff;
const hex = (n: number): string => '0x' + n.toString(16);

export const fallocate: OpRow = {
  opcode: Op.FALLOCATE, name: 'FALLOCATE', opIn: FallocateIn.SIZE, method: 'fallocate',
  call(fs, r) {
    const v = r.argView, o = r.argOff;
    return fs.fallocate!(r, r.nodeid, getU64(v, o + FallocateIn.fh), getU64(v, o + FallocateIn.offset),
      getU64(v, o + FallocateIn.length), v.getUint32(o + FallocateIn.mode, true));
  },
  reply: noBody,
  describe: (r) => {
    const v = r.argView, o = r.argOff;
    return `fh=${getU64(v, o + FallocateIn.fh)} off=${getU64(v, o + FallocateIn.offset)} len=${getU64(v, o + FallocateIn.length)} mode=${hex(v.getUint32(o + FallocateIn.mode, true))}`;
  },
};

export const lseek: OpRow = {
  opcode: Op.LSEEK, name: 'LSEEK', opIn: LseekIn.SIZE, method: 'lseek',
  call(fs, r) {
    const v = r.argView, o = r.argOff;
    return fs.lseek!(r, r.nodeid, getU64(v, o + LseekIn.fh), getU64(v, o + LseekIn.offset), v.getUint32(o + LseekIn.whence, true));
  },
  reply(r, off: number) {
    setU64(r.pv, LseekOut.offset, checkUint(off, 'lseek offset'));
    return LseekOut.SIZE;
  },
  describe: (r) => `fh=${getU64(r.argView, r.argOff + LseekIn.fh)} off=${getU64(r.argView, r.argOff + LseekIn.offset)} whence=${r.argView.getUint32(r.argOff + LseekIn.whence, true)}`,
  describeReply: (off: number) => `off=${off}`,
};

function callCopy(fs: Filesystem, r: Request): unknown {
  const v = r.argView, o = r.argOff;
  const len = getU64(v, o + CopyFileRangeIn.len);
  r.size = len;
  return fs.copyFileRange!(r, r.nodeid, getU64(v, o + CopyFileRangeIn.fh_in), getU64(v, o + CopyFileRangeIn.off_in),
    getU64(v, o + CopyFileRangeIn.nodeid_out), getU64(v, o + CopyFileRangeIn.fh_out), getU64(v, o + CopyFileRangeIn.off_out),
    len, getU64(v, o + CopyFileRangeIn.flags));
}

function describeCopy(r: Request): string {
  const v = r.argView, o = r.argOff;
  return `fh=${getU64(v, o + CopyFileRangeIn.fh_in)} off=${getU64(v, o + CopyFileRangeIn.off_in)} -> n${getU64(v, o + CopyFileRangeIn.nodeid_out)} fh=${getU64(v, o + CopyFileRangeIn.fh_out)} off=${getU64(v, o + CopyFileRangeIn.off_out)} len=${getU64(v, o + CopyFileRangeIn.len)}`;
}

export const copyFileRange: OpRow = {
  opcode: Op.COPY_FILE_RANGE, name: 'COPY_FILE_RANGE', opIn: CopyFileRangeIn.SIZE, method: 'copyFileRange',
  call: callCopy,
  // fuse_write_out: a u32 count (the kernel caps len for this opcode; a larger count cannot be told).
  reply(r, n: number) {
    r.pv.setUint32(WriteOut.size, checkUint(n, 'copyFileRange count', Math.min(r.size, U32)), true);
    r.pv.setUint32(WriteOut.size + 4, 0, true);
    return WriteOut.SIZE;
  },
  describe: describeCopy,
  describeReply: (n: number) => `${n} bytes`,
};

export const copyFileRange64: OpRow = {
  opcode: Op.COPY_FILE_RANGE_64, name: 'COPY_FILE_RANGE_64', opIn: CopyFileRangeIn.SIZE, method: 'copyFileRange',
  call: callCopy,
  reply(r, n: number) {
    setU64(r.pv, CopyFileRangeOut.bytes_copied, checkUint(n, 'copyFileRange count', r.size));
    return CopyFileRangeOut.SIZE;
  },
  describe: describeCopy,
  describeReply: (n: number) => `${n} bytes`,
};

export const bmap: OpRow = {
  opcode: Op.BMAP, name: 'BMAP', opIn: BmapIn.SIZE, method: 'bmap',
  call: (fs, r) => fs.bmap!(r, r.nodeid, r.argView.getUint32(r.argOff + BmapIn.blocksize, true), getU64(r.argView, r.argOff + BmapIn.block)),
  reply(r, block: number) {
    setU64(r.pv, BmapOut.block, checkUint(block, 'bmap block'));
    return BmapOut.SIZE;
  },
  describe: (r) => `block=${getU64(r.argView, r.argOff + BmapIn.block)} blocksize=${r.argView.getUint32(r.argOff + BmapIn.blocksize, true)}`,
  describeReply: (block: number) => `block=${block}`,
};

export const ioctl: OpRow = {
  opcode: Op.IOCTL, name: 'IOCTL', opIn: IoctlIn.SIZE, method: 'ioctl',
  call(fs, r) {
    const v = r.argView, o = r.argOff;
    const flags = v.getUint32(o + IoctlIn.flags, true);
    // Unrestricted ioctls (iovec retries) are for CUSE; libfuse refuses them for a filesystem too.
    if (flags & Ioctl.UNRESTRICTED) throw new FuseError(Errno.ENOTTY);
    const inSize = v.getUint32(o + IoctlIn.in_size, true);
    if (inSize > r.dataEnd - r.dataOff) throw new RangeError(`IOCTL in_size ${inSize} but only ${r.dataEnd - r.dataOff} bytes carried`);
    r.size = v.getUint32(o + IoctlIn.out_size, true);
    return fs.ioctl!(r, r.nodeid, getU64(v, o + IoctlIn.fh), v.getUint32(o + IoctlIn.cmd, true),
      getU64(v, o + IoctlIn.arg), r.dataSlice(r.dataOff, inSize), r.size, flags);
  },
  // fuse_ioctl_out, then the data (at most out_size bytes).
  reply(r, res: IoctlReply) {
    checkObject(res, 'ioctl');
    const result = checkInt(res.result, 'ioctl result', -0x80000000, 0x7fffffff);
    let n = 0;
    if (res.data !== undefined) {
      const data = res.data;
      if (!(data instanceof Uint8Array)) throw new TypeError('ioctl: data must be a Uint8Array');
      n = data.length;
      if (n > r.size) throw new RangeError(`ioctl returned ${n} bytes for an out_size of ${r.size}`);
      if (IoctlOut.SIZE + n > r.payload.length) throw new RangeError(`ioctl: ${n} bytes do not fit the reply buffer`);
      // First, as `data` may view the request (set() copies overlapping ranges correctly).
      r.payload.set(data, IoctlOut.SIZE);
    }
    const v = r.pv;
    v.setInt32(IoctlOut.result, result, true);
    v.setUint32(IoctlOut.flags, 0, true);
    v.setUint32(IoctlOut.in_iovs, 0, true);
    v.setUint32(IoctlOut.out_iovs, 0, true);
    return IoctlOut.SIZE + n;
  },
  describe: (r) => {
    const v = r.argView, o = r.argOff;
    return `fh=${getU64(v, o + IoctlIn.fh)} cmd=${hex(v.getUint32(o + IoctlIn.cmd, true))} flags=${hex(v.getUint32(o + IoctlIn.flags, true))} in=${v.getUint32(o + IoctlIn.in_size, true)} out=${v.getUint32(o + IoctlIn.out_size, true)}`;
  },
  describeReply: (res: IoctlReply) => `result=${res.result} ${res.data?.length ?? 0} bytes`,
};

function pollKh(r: Request): number | undefined {
  const v = r.argView, o = r.argOff;
  return v.getUint32(o + PollIn.flags, true) & POLL_SCHEDULE_NOTIFY ? getU64(v, o + PollIn.kh) : undefined;
}

export const poll: OpRow = {
  opcode: Op.POLL, name: 'POLL', opIn: PollIn.SIZE, method: 'poll',
  call: (fs, r) => fs.poll!(r, r.nodeid, getU64(r.argView, r.argOff + PollIn.fh), pollKh(r),
    r.argView.getUint32(r.argOff + PollIn.events, true)),
  reply(r, revents: number) {
    r.pv.setUint32(PollOut.revents, checkUint(revents, 'poll revents', U32), true);
    r.pv.setUint32(PollOut.revents + 4, 0, true);
    return PollOut.SIZE;
  },
  describe: (r) => {
    const kh = pollKh(r);
    return `fh=${getU64(r.argView, r.argOff + PollIn.fh)} events=${hex(r.argView.getUint32(r.argOff + PollIn.events, true))}${kh === undefined ? '' : ` kh=${kh}`}`;
  },
  describeReply: (revents: number) => `revents=${hex(revents)}`,
};

export const rows: OpRow[] = [fallocate, lseek, copyFileRange, copyFileRange64, bmap, ioctl, poll];
