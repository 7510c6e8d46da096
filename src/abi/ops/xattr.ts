// SETXATTR, GETXATTR, LISTXATTR, REMOVEXATTR.
import type { Request } from '../request.js';
import { Op } from '../opcodes.js';
import { GetxattrIn, GetxattrOut, SetxattrIn } from '../layout.js';
import { encodeNameInto, nameByteLength } from '../names.js';
import { Init } from '../flags.js';
import { checkUint } from '../codec.js';
import { Errno, FuseError } from '../../errors.js';
import { noBody, type OpRow } from '../op.js';

const q = (s: string): string => JSON.stringify(s);

/**
 * SETXATTR's fixed struct is 16 bytes with SETXATTR_EXT, the 8-byte compat form without. The row
 * declares the compat size, so that a short compat request ("user.a", empty value: 15 bytes) is
 * not refused as too short, and call() moves the data past the other 8 bytes when the extended
 * form was negotiated. Over the ring op_in is in the header and the payload holds only
 * name\0value, so nothing moves.
 */
function placeSetxattr(r: Request, ext: boolean): void {
  if (!ext || r.ring) return;
  if (r.dataEnd < r.argOff + SetxattrIn.SIZE) throw new RangeError(`SETXATTR shorter than fuse_setxattr_in (${r.dataEnd} bytes)`);
  r.dataOff = r.argOff + SetxattrIn.SIZE;
}

/**
 * For the trace only (describe sees no session flags): where a /dev/fuse SETXATTR's name starts.
 * With SETXATTR_EXT bytes 9..15 are the high bytes of setxattr_flags (0 or 1) and padding: zero;
 * in the compat form they are the name, never NUL at byte 9 for a real name ("user.x").
 */
function describeNameOff(r: Request): number {
  if (r.ring) return r.dataOff;
  const p = r.payload, o = r.argOff + SetxattrIn.COMPAT_SIZE;
  if (r.dataEnd < r.argOff + SetxattrIn.SIZE) return o;
  for (let i = o + 1; i < r.argOff + SetxattrIn.SIZE; i++) if (p[i] !== 0) return o;
  return r.argOff + SetxattrIn.SIZE;
}

export const setxattr: OpRow = {
  opcode: Op.SETXATTR, name: 'SETXATTR', opIn: SetxattrIn.COMPAT_SIZE, method: 'setxattr',
  call(fs, r, hooks) {
    const ext = (hooks.flags & Init.SETXATTR_EXT) !== 0n;
    placeSetxattr(r, ext);
    const v = r.argView, o = r.argOff;
    const size = v.getUint32(o + SetxattrIn.size, true);
    const flags = v.getUint32(o + SetxattrIn.flags, true);
    const setxattrFlags = ext ? v.getUint32(o + SetxattrIn.setxattr_flags, true) : 0;
    const name = r.name();
    const start = r.nameEnd;
    if (size > r.dataEnd - start) throw new RangeError(`SETXATTR value of ${size} bytes carries only ${r.dataEnd - start}`);
    r.size = size;
    return fs.setxattr!(r, r.nodeid, name, r.dataSlice(start, size), flags, setxattrFlags);
  },
  reply: noBody,
  describe(r) {
    const v = r.argView, o = r.argOff;
    return `${q(r.name(describeNameOff(r)))} size=${v.getUint32(o + SetxattrIn.size, true)} flags=${v.getUint32(o + SetxattrIn.flags, true)}`;
  },
};

/**
 * The size-probe rule of GETXATTR and LISTXATTR: size 0 asks for the length (fuse_getxattr_out);
 * otherwise a value longer than size is ERANGE, and one that fits is the reply.
 */
function sizedReply(r: Request, len: number, write: () => void): number {
  if (r.size === 0) {
    r.pv.setUint32(GetxattrOut.size, checkUint(len, 'xattr length', 0xffffffff), true);
    r.pv.setUint32(GetxattrOut.size + 4, 0, true);
    return GetxattrOut.SIZE;
  }
  if (len > r.size) throw new FuseError(Errno.ERANGE);
  if (len > r.payload.length) throw new RangeError(`${len} bytes do not fit the ${r.payload.length}-byte reply buffer`);
  write();
  return len;
}

export const getxattr: OpRow = {
  opcode: Op.GETXATTR, name: 'GETXATTR', opIn: GetxattrIn.SIZE, method: 'getxattr',
  call(fs, r) {
    // Kept: the reply overwrites the request.
    r.size = r.argView.getUint32(r.argOff + GetxattrIn.size, true);
    return fs.getxattr!(r, r.nodeid, r.name(), r.size);
  },
  reply(r, value: Uint8Array) {
    if (!(value instanceof Uint8Array)) throw new TypeError('getxattr must return a Uint8Array');
    return sizedReply(r, value.length, () => {
      if (value.buffer !== r.payload.buffer || value.byteOffset !== r.payload.byteOffset) r.payload.set(value, 0);
    });
  },
  describe: (r) => `${q(r.name())} size=${r.argView.getUint32(r.argOff + GetxattrIn.size, true)}`,
  describeReply: (value: Uint8Array) => `${value.length} bytes`,
};

export const listxattr: OpRow = {
  opcode: Op.LISTXATTR, name: 'LISTXATTR', opIn: GetxattrIn.SIZE, method: 'listxattr',
  call(fs, r) {
    r.size = r.argView.getUint32(r.argOff + GetxattrIn.size, true);
    return fs.listxattr!(r, r.nodeid, r.size);
  },
  reply(r, names: string[]) {
    if (!Array.isArray(names)) throw new TypeError('listxattr must return an array of names');
    let len = 0;
    for (const n of names) {
      if (typeof n !== 'string' || n.length === 0 || n.includes('\0')) throw new TypeError(`listxattr: not a name: ${q(String(n))}`);
      len += nameByteLength(n) + 1;
    }
    // name\0name\0…, each under the name rule.
    return sizedReply(r, len, () => {
      const p = r.payload;
      let pos = 0;
      for (const n of names) {
        pos += encodeNameInto(p, pos, len, n);
        p[pos++] = 0;
      }
    });
  },
  describe: (r) => `size=${r.argView.getUint32(r.argOff + GetxattrIn.size, true)}`,
  describeReply: (names: string[]) => `${names.length} names`,
};

export const removexattr: OpRow = {
  opcode: Op.REMOVEXATTR, name: 'REMOVEXATTR', opIn: 0, method: 'removexattr',
  call: (fs, r) => fs.removexattr!(r, r.nodeid, r.name()),
  reply: noBody,
  describe: (r) => q(r.name()),
};

export const rows: OpRow[] = [setxattr, getxattr, listxattr, removexattr];
