// One request slot: a view over the header and payload buffers the kernel writes into (a ring
// entry, or a /dev/fuse read buffer), reused for request after request without allocation. It is
// also the RequestContext handlers receive: its fields are valid until the reply is sent.
import type { RequestContext } from '../filesystem.js';
import { decodeName } from './names.js';
import { InHeader, OutHeader, RingHeader } from './layout.js';
import { getU64 } from './codec.js';

export class Request implements RequestContext {
  readonly index: number;
  /** True for a ring entry (op_in in the header, payload_sz in the header), false for /dev/fuse. */
  readonly ring: boolean;
  readonly header: Buffer;
  readonly hv: DataView;
  readonly payload: Buffer;
  readonly pv: DataView;

  opcode = 0;
  unique = 0;
  nodeid = 0;
  uid = 0;
  gid = 0;
  pid = 0;
  umask = 0;
  /** The size argument of READ/READDIR/…, kept because a reply may overwrite the request. */
  size = 0;
  /** Where the opcode's fixed argument struct is. */
  argView!: DataView;
  argOff = 0;
  /** Where the remaining arguments (names, write data) are in `payload`. */
  dataOff = 0;
  dataEnd = 0;
  /** Bumped per request, so a late settle of an earlier request is recognised and dropped. */
  seq = 0;
  /** A request is in the slot and no reply has been sent yet. */
  busy = false;
  /** The kernel tore this slot down (ENOTCONN) or the connection ended. */
  dead = false;

  private ac: AbortController | null = null;
  private interrupted = false;
  private outView: Buffer | null = null;
  private dataView: Buffer | null = null;

  constructor(index: number, ring: boolean, header: Buffer, payload: Buffer) {
    this.index = index;
    this.ring = ring;
    this.header = header;
    this.hv = new DataView(header.buffer, header.byteOffset, header.byteLength);
    this.payload = payload;
    this.pv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  }

  /** Reads fuse_in_header; called by the transport when a request lands in the slot. */
  begin(devBytes: number): void {
    const h = this.hv;
    this.opcode = h.getUint32(InHeader.opcode, true);
    this.unique = getU64(h, InHeader.unique);
    this.nodeid = getU64(h, InHeader.nodeid);
    this.uid = h.getUint32(InHeader.uid, true);
    this.gid = h.getUint32(InHeader.gid, true);
    this.pid = h.getUint32(InHeader.pid, true);
    this.umask = 0;
    this.seq++;
    this.busy = true;
    this.ac = null;
    this.interrupted = false;
    if (this.ring) {
      this.dataEnd = Math.min(h.getUint32(RingHeader.payload_sz, true), this.payload.length);
    } else {
      this.dataEnd = devBytes - InHeader.SIZE;
    }
  }

  /**
   * Places the fixed argument struct of `opInSize` bytes and the data after it; false if the
   * request is too short to hold them (a malformed request).
   */
  locate(opInSize: number): boolean {
    if (this.ring) {
      this.argView = this.hv;
      this.argOff = RingHeader.op_in;
      this.dataOff = 0;
      return true;
    }
    this.argView = this.pv;
    this.argOff = 0;
    this.dataOff = opInSize;
    return this.dataEnd >= opInSize;
  }

  /** The NUL-terminated name starting at `from` in the payload; sets `nameEnd` past its NUL. */
  name(from: number = this.dataOff): string {
    const p = this.payload;
    const end = this.dataEnd;
    let i = from;
    while (i < end && p[i] !== 0) i++;
    if (i >= end) throw new RangeError('name without NUL');
    this.nameEnd = i + 1;
    return decodeName(p, from, i);
  }
  nameEnd = 0;

  /** A view of payload[off, off+len), cached for the common case of the same size again. */
  dataSlice(off: number, len: number): Buffer {
    const v = this.dataView;
    if (v !== null && v.byteOffset === this.payload.byteOffset + off && v.length === len) return v;
    return (this.dataView = this.payload.subarray(off, off + len));
  }

  /** The reply buffer view handed to read(): payload[0, size). */
  out(size: number): Buffer {
    const v = this.outView;
    if (v !== null && v.length === size) return v;
    return (this.outView = this.payload.subarray(0, size));
  }

  get signal(): AbortSignal {
    if (this.ac === null) {
      this.ac = new AbortController();
      if (this.interrupted) this.ac.abort();
    }
    return this.ac.signal;
  }

  /** FUSE_INTERRUPT for this request. */
  interrupt(): void {
    this.interrupted = true;
    this.ac?.abort();
  }

  /** Writes the reply header: error 0 and `len` bytes of body already in the payload. */
  setReply(len: number): void {
    const h = this.hv;
    h.setUint32(OutHeader.len, OutHeader.SIZE + len, true);
    h.setInt32(OutHeader.error, 0, true);
    if (this.ring) h.setUint32(RingHeader.payload_sz, len, true);
  }

  /** Writes an error reply header (positive errno). */
  setError(errno: number): void {
    const h = this.hv;
    h.setUint32(OutHeader.len, OutHeader.SIZE, true);
    h.setInt32(OutHeader.error, -errno, true);
    if (this.ring) h.setUint32(RingHeader.payload_sz, 0, true);
  }
}
