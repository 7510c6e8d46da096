// The whole surface of the C addon (native/*.c), typed. Imported by the layers that own
// kernel resources: src/transport/, src/mount.ts, src/session.ts (backing files) and
// src/fs/mirror/sys.ts (the *at() calls Node lacks).
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
  /** Ring poll wake-ups (the loop found the ring fd readable). */
  wakeups: number;
  /** Waits on the CQ before sleeping (pollSpinMicros), those that found work, and their total time. */
  spins: number;
  spinHits: number;
  spinMicros: number;
  /** Requests from a caller on the daemon's own CPU (each turns the CQ watch off for a while). */
  localRequests: number;
  /** Times a wake-up went on serving the ring past its 1 ms slice because nothing else wanted the loop. */
  slices: number;
  /** The io_uring fd (queue 0's with queue threads; -1 without a ring): /proc/<pid>/fdinfo/<ringFd> shows the kernel's own counters. */
  ringFd: number;
  /** Queue threads (0: the loop's thread serves the ring itself), their watches for answers from
   * JavaScript and those that found one, their sleeps in io_uring_enter, the eventfd writes that
   * woke them, and those with which they woke the loop's thread. */
  queueThreads: number;
  queueSpins: number;
  queueSpinHits: number;
  queueSleeps: number;
  queueWakes: number;
  loopWakes: number;
  /** Times the loop's thread moved off the CPU of a lone caller (queue threads; docs/performance.md). */
  stepAsides: number;
  /** Times a queue thread left its CPU because its callers keep several requests in flight. */
  queueWidenings: number;
  /** Times the loop's thread moved to a lone caller's CPU (followCaller), times it stopped, and
   * of those the stops because it waited for its CPU; the CPU it follows now (-1: none). */
  follows: number;
  unfollows: number;
  followStarved: number;
  following: number;
  /** Serving 'auto' (serve_switch.c): whether the queue threads serve now (1) or the loop's thread
   * (0), the switches each way, and of those to the loop the ones because the threads' hand-offs
   * waited for a CPU. */
  threaded: number;
  toThreads: number;
  toLoop: number;
  switchStarved: number;
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
  adviseHuge(buffer: ArrayBuffer): number;
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
    payloads: readonly (ArrayBuffer | Uint8Array)[], extraFlags: number, serving: 0 | 1 | 2): void;
  /** How long (µs, 0 = never) to watch for the next request (and, in a queue thread, for JavaScript's
   * answer) before sleeping, and whether to follow a lone caller's CPU at SCHED_IDLE (loop-thread
   * model only); see docs/performance.md. */
  channelSetServing(ch: NativeChannel, spinMicros: number, follow: boolean): void;
  /**
   * Adds slots that read requests from /dev/fuse (readv: header bytes [0, 40) then the payload).
   * Returns the index of the first one (after the ring slots, if any).
   */
  channelAddDevSlots(ch: NativeChannel, headers: ArrayBuffer, payloads: readonly (ArrayBuffer | Uint8Array)[]): number;
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
  throw new Error(`fuse-uring: the native addon is not built (run \`npm install\` or \`npm run build\`): ${String(lastError)}`);
}

export const native: Native = load();

// ---- native/fsops.c: the *at() calls of the mirror filesystem (src/fs/mirror/) ----
// Names are Buffers holding one path component (any bytes but NUL); `null` for a name means the
// fd itself (AT_EMPTY_PATH). The synchronous calls are quick metadata syscalls on the event loop
// thread and return a result ≥ 0 or -errno (they only throw for arguments of the wrong type).
// `uid`/`gid` ≥ 0 on a creating call: the syscall runs with that fsuid/fsgid (per-thread, restored
// at once), so the new inode belongs to the caller from the start; -1 keeps the daemon's own.

/** Indices into the Float64Array fsStatx fills (STATX_FIELDS of them). */
export const StatxField = {
  mask: 0, blksize: 1, attributes: 2, nlink: 3, uid: 4, gid: 5, mode: 6, inoLo: 7, inoHi: 8, size: 9,
  blocks: 10, attributesMask: 11, atime: 12, atimensec: 13, btime: 14, btimensec: 15, ctime: 16, ctimensec: 17,
  mtime: 18, mtimensec: 19, rdevMajor: 20, rdevMinor: 21, devMajor: 22, devMinor: 23,
} as const;
export const STATX_FIELDS = 24;
/** Indices into the Float64Array fsStatfs fills (8 of them). */
export const StatfsField = { blocks: 0, bfree: 1, bavail: 2, files: 3, ffree: 4, bsize: 5, namelen: 6, frsize: 7 } as const;
/** fsAsync operations. */
export const AsyncOp = { COPY_FILE_RANGE: 1, FALLOCATE: 2, SYNCFS: 3 } as const;

export interface Native {
  /** openat(dirfd, name, flags | O_CLOEXEC, mode), as uid/gid when ≥ 0. → fd | -errno */
  fsOpenat(dirfd: number, name: Uint8Array, flags: number, mode: number, uid: number, gid: number): number;
  /** statx(dirfd, name ?? "", flags (| AT_EMPTY_PATH for null), mask) into `out` (StatxField). → 0 | -errno */
  fsStatx(dirfd: number, name: Uint8Array | null, flags: number, mask: number, out: Float64Array): number;
  /** mkdirat, as uid/gid when ≥ 0. → 0 | -errno */
  fsMkdirat(dirfd: number, name: Uint8Array, mode: number, uid: number, gid: number): number;
  /** mknodat (rdev in FUSE's new_encode_dev form), as uid/gid when ≥ 0. → 0 | -errno */
  fsMknodat(dirfd: number, name: Uint8Array, mode: number, rdev: number, uid: number, gid: number): number;
  /** symlinkat(target, dirfd, name), as uid/gid when ≥ 0. → 0 | -errno */
  fsSymlinkat(target: Uint8Array, dirfd: number, name: Uint8Array, uid: number, gid: number): number;
  /** A new name for exactly the inode `fd` (O_PATH) refers to: linkat(fd, "", …, AT_EMPTY_PATH). → 0 | -errno */
  fsLinkat(fd: number, newdirfd: number, newname: Uint8Array): number;
  /** renameat2(2) with RENAME_NOREPLACE / RENAME_EXCHANGE / RENAME_WHITEOUT. → 0 | -errno */
  fsRenameat2(olddirfd: number, oldname: Uint8Array, newdirfd: number, newname: Uint8Array, flags: number): number;
  /** readlinkat(fd, ""): the target bytes of the symlink `fd` (O_PATH) refers to. → Buffer | -errno */
  fsReadlink(fd: number): Buffer | number;
  /** fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW); -1 leaves one unchanged. → 0 | -errno */
  fsChown(fd: number, uid: number, gid: number): number;
  /** fchmodat2(fd, "", mode, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) (EOPNOTSUPP on a symlink). → 0 | -errno */
  fsChmod(fd: number, mode: number): number;
  /** utimensat(fd, "", …, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW); a nsec may be UTIME_NOW / UTIME_OMIT. → 0 | -errno */
  fsUtimens(fd: number, atime: number, atimensec: number, mtime: number, mtimensec: number): number;
  /** getxattr("/proc/self/fd/<fd>", name): the value, for any inode type. → Buffer | -errno */
  fsGetxattr(fd: number, name: Uint8Array): Buffer | number;
  /** listxattr("/proc/self/fd/<fd>"): NUL-terminated names. → Buffer | -errno */
  fsListxattr(fd: number): Buffer | number;
  /** setxattr("/proc/self/fd/<fd>", name, value, flags). → 0 | -errno */
  fsSetxattr(fd: number, name: Uint8Array, value: Uint8Array, flags: number): number;
  /** removexattr("/proc/self/fd/<fd>", name). → 0 | -errno */
  fsRemovexattr(fd: number, name: Uint8Array): number;
  /** getdents64(fd, buf): struct linux_dirent64 records. → bytes | -errno */
  fsGetdents(fd: number, buf: Uint8Array): number;
  /** lseek(fd, cookie, SEEK_SET) for a directory: d_off cookies are 64-bit. → 0 | -errno */
  fsSeekdir(fd: number, cookie: bigint): number;
  /** lseek(fd, offset, whence), for SEEK_DATA / SEEK_HOLE. → offset | -errno */
  fsLseek(fd: number, offset: number, whence: number): number;
  /** fstatfs(fd) into `out` (StatfsField). → 0 | -errno */
  fsStatfs(fd: number, out: Float64Array): number;
  /**
   * In libuv's thread pool: COPY_FILE_RANGE (a fd_in, b off_in, c fd_out, d off_out, e len, f flags),
   * FALLOCATE (a fd, b mode, c offset, d len), SYNCFS (a fd). `done` gets the result or -errno.
   */
  fsAsync(op: number, a: number, b: number, c: number, d: number, e: number, f: number, done: (result: number) => void): void;
}
