// What the session and the dispatcher see of a transport: requests in, replies out, one end.
// Both transports are the same native channel; they differ in where requests arrive (ring
// entries or /dev/fuse reads) and in how a reply leaves (COMMIT_AND_FETCH batched per loop turn,
// or one writev).
import { native, type ChannelStats, type NativeChannel } from '../native.js';
import { Request } from '../abi/request.js';
import type { ReplySink } from '../dispatch.js';
import { Errno, errnoName } from '../errors.js';

export type TransportKind = 'uring' | 'dev';

export interface TransportEvents {
  request(req: Request): void;
  /** The connection ended: no error for an unmount or abort, an Error for a transport failure. */
  end(error?: Error): void;
}

/** How long to wait for the ring's idle entries to report ENOTCONN once /dev/fuse has died. */
const TEARDOWN_GRACE_MS = 2000;
const HUGE_PAGE = 2 * 1024 * 1024;

export class Transport implements ReplySink {
  readonly requests: Request[] = [];
  /** Bytes of header and payload buffers held for the kernel. */
  bufferBytes = 0;
  private events: TransportEvents | null = null;
  private devDead = false;
  private ended = false;
  private closed = false;
  private ringSlots = 0;
  private deadRingSlots = 0;
  private graceTimer: NodeJS.Timeout | null = null;
  /** Buffers stay referenced here (and by the addon) for as long as the kernel may write them. */
  private readonly buffers: ArrayBuffer[] = [];

  constructor(readonly kind: TransportKind, readonly ch: NativeChannel) {}

  /** Allocates `count` slots of `payloadSize` bytes from JavaScript and wraps them as Requests. */
  protected allocate(count: number, payloadSize: number, ring: boolean): { headers: ArrayBuffer; payloads: Uint8Array[] } {
    const stride = native.HEADER_STRIDE;
    const headers = new ArrayBuffer(count * stride);
    const payloads: Uint8Array[] = [];
    const first = this.requests.length;
    // One allocation for every payload, from a 2 MiB boundary on and advised for huge pages: the
    // kernel pins a payload's pages for each request it copies (1 MiB writes ran ≈10 % faster).
    const all = new ArrayBuffer(count * payloadSize + HUGE_PAGE);
    const base = native.adviseHuge(all);
    for (let i = 0; i < count; i++) {
      const p = Buffer.from(all, base + i * payloadSize, payloadSize);
      payloads.push(p);
      this.requests.push(new Request(first + i, ring, Buffer.from(headers, i * stride, stride), p));
    }
    this.buffers.push(headers, all);
    this.bufferBytes += headers.byteLength + all.byteLength;
    if (ring) this.ringSlots += count;
    return { headers, payloads };
  }

  /** Adds slots that read from /dev/fuse. */
  protected addDevSlots(count: number, payloadSize: number): void {
    const { headers, payloads } = this.allocate(count, payloadSize, false);
    const first = native.channelAddDevSlots(this.ch, headers, payloads);
    if (first !== this.requests.length - count) throw new Error(`fuse-uring: dev slots at ${first}, expected ${this.requests.length - count}`);
  }

  start(events: TransportEvents): void {
    this.events = events;
    const buf = new Int32Array(2 * (this.requests.length + 8));
    const onEvents = (count: number): void => this.onEvents(buf, count);
    const pending = native.channelStart(this.ch, buf, onEvents);
    if (pending > 0) this.onEvents(buf, pending);
  }

  private onEvents(buf: Int32Array, count: number): void {
    const reqs = this.requests;
    const ev = this.events!;
    for (let i = 0; i < count; i++) {
      const slot = buf[2 * i]!;
      const res = buf[2 * i + 1]!;
      if (slot < 0) { this.onDevError(-res); continue; }
      const req = reqs[slot]!;
      if (req.ring) {
        if (res === 0) { req.begin(0); ev.request(req); continue; }
        // ENOTCONN: torn down by an unmount; ECONNABORTED: a held entry after an abort.
        if (res === -Errno.ENOTCONN || res === -Errno.ECONNABORTED) { this.markDead(req); continue; }
        this.fail(new Error(`io_uring entry ${slot} completed with ${errnoName(-res)}`));
        continue;
      }
      req.begin(res);
      ev.request(req);
    }
    this.checkEnd();
  }

  private onDevError(errno: number): void {
    if (this.devDead) return;
    this.devDead = true;
    if (errno !== Errno.ENODEV && errno !== Errno.ECONNABORTED) {
      this.fail(new Error(`/dev/fuse read failed: ${errnoName(errno)}`));
    }
  }

  private markDead(req: Request): void {
    if (req.dead) return;
    req.dead = true;
    this.deadRingSlots++;
  }

  /** Ends once /dev/fuse is dead and every ring entry is torn down or held by a handler. */
  private checkEnd(): void {
    if (this.ended) return;
    if (this.ringSlots === 0) {
      if (this.devDead) this.finish();
      return;
    }
    const allGone = this.deadRingSlots === this.ringSlots;
    if (this.devDead && (allGone || this.requests.every((r) => !r.ring || r.dead || r.busy))) return this.finish();
    if ((this.devDead || allGone) && this.graceTimer === null) {
      this.graceTimer = setTimeout(() => this.finish(), TEARDOWN_GRACE_MS);
      this.graceTimer.unref();
    }
  }

  private finish(error?: Error): void {
    if (this.ended) return;
    this.ended = true;
    if (this.graceTimer) clearTimeout(this.graceTimer);
    for (const r of this.requests) r.dead = true;
    this.events?.end(error);
  }

  /** A failure of the transport itself: the session unmounts and rejects `closed`. */
  fail(error: Error): void {
    this.finish(error);
  }

  commit(req: Request): void {
    if (this.ended || req.dead) return;
    const r = native.commit(this.ch, req.index);
    // ENOENT: the request was interrupted or aborted meanwhile; nothing to answer any more.
    if (r < 0 && r !== -Errno.ENOENT && r !== -Errno.ENODEV && r !== -Errno.ECONNABORTED) {
      this.fail(new Error(`reply to ${req.unique} rejected by the kernel: ${errnoName(-r)}`));
    }
  }

  release(req: Request): void {
    if (this.ended || req.dead) return;
    if (req.ring) {
      // A ring entry only comes back through a commit: an empty one (NOTIFY_REPLY is the case).
      req.setReply(0);
      this.commit(req);
      return;
    }
    native.release(this.ch, req.index);
  }

  stats(): ChannelStats {
    return native.stats(this.ch);
  }

  /** Frees the ring and drops the buffers; only after the connection has ended (or never started). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.graceTimer) clearTimeout(this.graceTimer);
    native.channelClose(this.ch);
    this.buffers.length = 0;
  }

  get hasEnded(): boolean {
    return this.ended;
  }
}
