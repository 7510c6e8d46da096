// GETLK, SETLK, SETLKW (POSIX record locks, and BSD flock with FUSE_LK_FLOCK).
import type { FileLock, Filesystem } from '../../filesystem.js';
import type { Request } from '../request.js';
import { Op } from '../opcodes.js';
import { FileLock as FileLockL, LkIn, LkOut } from '../layout.js';
import { getU64, setU64, checkObject, checkUint } from '../codec.js';
import { LK_FLOCK } from '../flags.js';
import { Errno, FuseError } from '../../errors.js';
import { noBody, type OpRow } from '../op.js';

/** fcntl lock types. */
export const F_RDLCK = 0, F_WRLCK = 1, F_UNLCK = 2;
/** flock(2) operations. */
export const LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4, LOCK_UN = 8;

/**
 * The kernel's OFFSET_MAX (2^63 - 1), "to the end of the file". As a JavaScript number it reads
 * as 2^63; any end (or start) of 2^63 or more, Infinity included, is written back as OFFSET_MAX,
 * since the kernel refuses a lock past it with EIO.
 */
const OFFSET_MAX = 0x7fffffffffffffffn;
const TWO63 = 2 ** 63;

function decodeLock(v: DataView, o: number): FileLock {
  return {
    start: getU64(v, o + FileLockL.start),
    end: getU64(v, o + FileLockL.end),
    type: v.getUint32(o + FileLockL.type, true),
    pid: v.getUint32(o + FileLockL.pid, true),
  };
}

function setOffset(v: DataView, off: number, n: unknown, what: string): void {
  if (n === Infinity || (typeof n === 'number' && n >= TWO63)) { v.setBigUint64(off, OFFSET_MAX, true); return; }
  setU64(v, off, checkUint(n, what));
}

interface LkArgs { fh: number; owner: number; lock: FileLock; flock: boolean }

function decodeLk(r: Request): LkArgs {
  const v = r.argView, o = r.argOff;
  return {
    fh: getU64(v, o + LkIn.fh),
    owner: getU64(v, o + LkIn.owner),
    lock: decodeLock(v, o + LkIn.lk),
    flock: (v.getUint32(o + LkIn.lk_flags, true) & LK_FLOCK) !== 0,
  };
}

const typeName = (t: number): string => (t === F_RDLCK ? 'RD' : t === F_WRLCK ? 'WR' : t === F_UNLCK ? 'UN' : `type${t}`);
const describeLock = (l: FileLock): string => `${typeName(l.type)} ${l.start}-${l.end >= TWO63 ? 'EOF' : l.end} pid=${l.pid}`;
function describeLk(r: Request): string {
  const a = decodeLk(r);
  return `fh=${a.fh} owner=0x${a.owner.toString(16)} ${a.flock ? 'flock ' : ''}${describeLock(a.lock)}`;
}

export const getlk: OpRow = {
  opcode: Op.GETLK, name: 'GETLK', opIn: LkIn.SIZE, method: 'getlk',
  call(fs, r) {
    const a = decodeLk(r);
    return fs.getlk!(r, r.nodeid, a.fh, a.owner, a.lock);
  },
  reply(r, l: FileLock) {
    checkObject(l, 'getlk');
    const v = r.pv, o = LkOut.lk;
    const type = checkUint(l.type, 'getlk type', F_UNLCK);
    setOffset(v, o + FileLockL.start, l.start, 'getlk start');
    setOffset(v, o + FileLockL.end, l.end, 'getlk end');
    v.setUint32(o + FileLockL.type, type, true);
    v.setUint32(o + FileLockL.pid, checkUint(l.pid ?? 0, 'getlk pid', 0xffffffff), true);
    return LkOut.SIZE;
  },
  describe: describeLk,
  describeReply: (l: FileLock) => `{${describeLock(l)}}`,
};

/** The flock(2) operation a SETLK/SETLKW with FUSE_LK_FLOCK stands for. */
export function flockOperation(type: number, sleep: boolean): number {
  let op: number;
  if (type === F_RDLCK) op = LOCK_SH;
  else if (type === F_WRLCK) op = LOCK_EX;
  else if (type === F_UNLCK) op = LOCK_UN;
  else throw new FuseError(Errno.EINVAL);
  return sleep ? op : op | LOCK_NB;
}

function callSetlk(fs: Filesystem, r: Request, sleep: boolean): unknown {
  const a = decodeLk(r);
  if (a.flock) {
    if (typeof fs.flock !== 'function') throw new FuseError(Errno.ENOSYS);
    return fs.flock(r, r.nodeid, a.fh, a.owner, flockOperation(a.lock.type, sleep));
  }
  if (typeof fs.setlk !== 'function') throw new FuseError(Errno.ENOSYS);
  return fs.setlk(r, r.nodeid, a.fh, a.owner, a.lock, sleep);
}

// No static method: SETLK and SETLKW call setlk, or flock for FUSE_LK_FLOCK, and answer ENOSYS
// themselves when the one they need is missing.
export const setlk: OpRow = {
  opcode: Op.SETLK, name: 'SETLK', opIn: LkIn.SIZE,
  call: (fs, r) => callSetlk(fs, r, false),
  reply: noBody,
  describe: describeLk,
};

export const setlkw: OpRow = {
  opcode: Op.SETLKW, name: 'SETLKW', opIn: LkIn.SIZE,
  call: (fs, r) => callSetlk(fs, r, true),
  reply: noBody,
  describe: describeLk,
};

export const rows: OpRow[] = [getlk, setlk, setlkw];
