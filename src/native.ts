// The whole surface of the C addon (native/*.c), typed. Nothing but src/transport/ and
// src/mount.ts imports this module.
import { createRequire } from 'node:module';

/** An opaque handle on one /dev/fuse connection's native state (its ring and its poll handles). */
export interface NativeChannel { readonly __brand: 'NativeChannel' }

/** Counters kept by the addon, independent of the session's own. */
export interface ChannelStats {
  /** io_uring_enter(2) calls made (submissions and waits). */
  enters: number;
  /** SQEs handed to the kernel (REGISTER + COMMIT_AND_FETCH). */
  sqes: number;
  /** CQEs reaped from the ring. */
  cqes: number;
  /** read(2)/readv(2) calls on /dev/fuse that returned a request. */
  devReads: number;
  /** writev(2) replies written to /dev/fuse. */
  devWrites: number;
  /** Times JavaScript was called back with a batch of events. */
  callbacks: number;
  /** The io_uring fd (-1 without a ring): /proc/<pid>/fdinfo/<ringFd> shows the kernel's own counters. */
  ringFd: number;
}

export interface FusermountResult {
  /** The /dev/fuse fd fusermount3 opened and passed back over the socket. */
  fd: number;
  /** Our end of the _FUSE_COMMFD socket, kept open for auto_unmount (-1 otherwise). */
  commFd: number;
  /** fusermount3's pid when it stays alive for auto_unmount (-1 otherwise: it has been reaped). */
  pid: number;
}

export interface Native {
  /** Header stride per slot in the headers ArrayBuffer (bytes; ≥ 288, the kernel's fuse_uring_req_header). */
  readonly HEADER_STRIDE: number;

  /** open("/dev/fuse", O_RDWR | O_CLOEXEC). */
  openDev(): number;
  /** mount(2). Throws an Error with .code ('EPERM', …) and .errno. */
  mount(source: string, target: string, fstype: string, flags: number, data: string): void;
  /** umount2(2). */
  umount(target: string, flags: number): void;
  /** Runs `fusermount3 -o <options> -- <mountpoint>` with _FUSE_COMMFD and receives the fd. Blocking. */
  fusermount(mountpoint: string, options: string, keepComm: boolean): FusermountResult;
  /** Blocking read(2) into buf; returns the byte count. Throws on error. */
  readSync(fd: number, buf: Uint8Array): number;
  /** write(2) of buf[0, len); returns the byte count. Throws on error. */
  writeSync(fd: number, buf: Uint8Array, len: number): number;
  close(fd: number): void;
  geteuid(): number;
  getegid(): number;
  /** waitpid(pid, WNOHANG) for a child the addon spawned; true when it has been reaped. */
  reap(pid: number): boolean;

  /** One native channel per session over an opened, mounted, INIT-answered /dev/fuse fd. */
  channelCreate(fd: number): NativeChannel;
  /**
   * Creates the io_uring (IORING_SETUP_SQE128 | extraFlags), registers `fd` as fixed file 0, and
   * REGISTERs slots [0, queues × depth): slot s serves qid = floor(s / depth), with header bytes
   * [s × HEADER_STRIDE, +288) of `headers` and payload `payloads[s]` (every one the same length).
   * Returns when every REGISTER has been issued; throws (with .errno) if one failed at once.
   */
  channelSetupRing(ch: NativeChannel, queues: number, depth: number, headers: ArrayBuffer,
    payloads: ArrayBuffer[], extraFlags: number): void;
  /**
   * Adds slots that read requests from /dev/fuse (readv: header bytes [0, 40) then the payload).
   * Returns the index of the first one (after the ring slots, if any).
   */
  channelAddDevSlots(ch: NativeChannel, headers: ArrayBuffer, payloads: ArrayBuffer[]): number;
  /**
   * Starts the uv_poll handles (ring fd, /dev/fuse set O_NONBLOCK) and a uv_prepare that submits
   * queued SQEs once per loop turn. Events are written into `events` as (slot, res) pairs and
   * `onEvents(count)` is called once per batch:
   *   slot ≥ 0, ring slot: res 0 = a request is in the slot, res < 0 = -errno (-ENOTCONN: torn down);
   *   slot ≥ 0, dev slot: res > 0 = bytes read into the slot;
   *   slot = -1: /dev/fuse itself failed, res = -errno (-ENODEV, -ECONNABORTED: connection ended).
   * Returns the number of events already pending (written to `events`), to be handled now.
   */
  channelStart(ch: NativeChannel, events: Int32Array, onEvents: (count: number) => void): number;
  /**
   * Reply from slot `s`. Ring slot: queues COMMIT_AND_FETCH with the commit_id at header offset 264
   * (the caller has written fuse_out_header and payload_sz); submitted at the end of this loop turn.
   * Dev slot: writev(fuse_out_header = header[0, 16), payload[0, len − 16)) where len is the
   * out header's len field, then the slot reads again. Returns 0 or -errno (dev write failure).
   */
  commit(ch: NativeChannel, slot: number): number;
  /** Gives a dev slot back without a reply (FORGET, BATCH_FORGET, INTERRUPT). */
  release(ch: NativeChannel, slot: number): void;
  /** Submits queued SQEs now (otherwise done once per loop turn). */
  flush(ch: NativeChannel): void;
  stats(ch: NativeChannel): ChannelStats;
  /** Stops the polls, closes the ring (munmap + close) and drops the buffer references. Not the fd. */
  channelClose(ch: NativeChannel): void;

  /**
   * ioctl(devFd, FUSE_DEV_IOC_BACKING_OPEN, {fd}): registers `fd` as a passthrough backing file;
   * returns its backing id (> 0). Throws an Error with .code/.errno (EPERM: passthrough not
   * negotiated or not root; ELOOP: stacking too deep; EINVAL: not a regular file; EBADF).
   */
  backingOpen(devFd: number, fd: number): number;
  /** ioctl(devFd, FUSE_DEV_IOC_BACKING_CLOSE, &id). Throws (EINVAL: id ≤ 0, ENOENT: unknown id). */
  backingClose(devFd: number, id: number): void;
}

const require = createRequire(import.meta.url);

function load(): Native {
  const candidates = ['../../build/Release/fuse_uring.node', '../../build/Debug/fuse_uring.node'];
  let lastError: unknown;
  for (const c of candidates) {
    try {
      return require(c) as Native;
    } catch (e) {
      lastError = e;
    }
  }
  throw new Error(`fuse-uring: the native addon is not built (run \`npm install\` or \`npx node-gyp rebuild\`): ${String(lastError)}`);
}

export const native: Native = load();
