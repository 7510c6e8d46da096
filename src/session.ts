// mount → FUSE_INIT → serve → end, as in the reference design: init() before the first request,
// destroy() exactly once at the end, `closed` settling when anyone unmounts (or rejecting when
// the transport fails, after unmounting).
import { readFileSync } from 'node:fs';
import type { Filesystem } from './filesystem.js';
import { native, type ChannelStats } from './native.js';
import { Init, initFlagNames } from './abi/flags.js';
import { Dispatcher } from './dispatch.js';
import { Notifier } from './notify.js';
import { Errno, FuseError } from './errors.js';
import { decodeInit, encodeInitReply, negotiate, payloadSize, type Negotiated } from './init.js';
import { checkMountpoint, mountFuse, releaseHelper, stillMounted, unmountFuse, MountError, type Mounted } from './mount.js';
import { OptionError, validateOptions, servingModel, DEFAULTS, type MountOptions } from './options.js';
import { preflight, probeEnvironment, URING_FIX } from './preflight.js';
import { Watcher } from './watcher.js';
import { possibleCpus } from './cpus.js';
import type { Transport } from './transport/transport.js';
import { UringTransport } from './transport/uring.js';
import { DevTransport } from './transport/dev.js';

export type { MountOptions } from './options.js';

/** What was really negotiated with the kernel. */
export interface ConnectionInfo {
  transport: 'uring' | 'dev';
  major: number;
  minor: number;
  /** FUSE_* capability bits agreed (a subset of `offered`). */
  flags: bigint;
  offered: bigint;
  /** Names of the agreed bits, for people. */
  flagNames: string[];
  maxWrite: number;
  maxPages: number;
  maxReadahead: number;
  maxBackground: number;
  congestionThreshold: number;
  timeGran: number;
  /** io_uring queues (one per possible CPU); 0 for /dev/fuse. */
  queues: number;
  queueDepth: number;
  /** Bytes of request/reply buffers held for the kernel. */
  bufferBytes: number;
  /** The ring's fd (-1 for /dev/fuse): /proc/<pid>/fdinfo/<ringFd> shows the kernel's counters. */
  ringFd: number;
  /** The /dev/fuse fd. */
  devFd: number;
  /** The fusectl connection id: /sys/fs/fuse/connections/<id>/. */
  id: number;
  mountedVia: 'mount' | 'fusermount3';
}

export interface SessionStats extends ChannelStats {
  /** Requests dispatched, and those answered with an error. */
  requests: number;
  errors: number;
  /** Handlers still running (not counting those whose request timed out). */
  pending: number;
  /** Requests answered ETIMEDOUT because their handler took longer than requestTimeout. */
  timeouts: number;
}

/** How long unmount() waits for the kernel to end the connection before cutting it. */
const UNMOUNT_GRACE_MS = 2000;

export { URING_FIX };

/** 'Y'/'N' from /sys/module/fuse/parameters/enable_uring; undefined when the kernel has no such parameter. */
export function uringParameter(): boolean | undefined {
  try {
    return readFileSync('/sys/module/fuse/parameters/enable_uring', 'utf8').trim() === 'Y';
  } catch {
    return undefined;
  }
}

const defaultLog = (line: string): void => { process.stderr.write(`fuse-uring: ${line}\n`); };

/** Mounts `fs` on `mountpoint` and serves it until it is unmounted. */
export async function mount(mountpoint: string, fs: Filesystem, options: MountOptions = {}): Promise<Session> {
  validateOptions(options);
  if (fs === null || typeof fs !== 'object') throw new OptionError('the filesystem must be an object implementing Filesystem methods');
  if (typeof mountpoint !== 'string' || mountpoint === '') throw new OptionError('the mount point must be a non-empty path');
  options.signal?.throwIfAborted();
  // Everything this machine would refuse is refused here, before anything is mounted.
  const plan = preflight(options, probeEnvironment());
  const abs = await checkMountpoint(mountpoint, { force: options.force, log: options.log ?? defaultLog });
  const m = mountFuse(abs, options, plan.via);
  let watcher: Watcher | undefined;
  try {
    if (options.autoUnmount) watcher = new Watcher(m);
    return await start(m, fs, options, plan.tryUring, watcher);
  } catch (e) {
    // Nothing was served: take the mount off again, then close what it held.
    await unmountFuse(m).catch(() => {});
    if (!stillMounted(m)) watcher?.done();
    (e as { transport?: Transport }).transport?.close();
    native.close(m.fd);
    releaseHelper(m);
    throw e;
  }
}

async function start(m: Mounted, fs: Filesystem, o: MountOptions, tryUring: boolean, watcher: Watcher | undefined): Promise<Session> {
  // Before INIT the kernel checks the read size against its default max_write: be generous once.
  const buf = Buffer.allocUnsafe(DEFAULTS.maxWrite + 8192);
  const n = native.readSync(m.fd, buf);
  const req = decodeInit(buf, n);
  if (req.major !== 7) throw new MountError(`the kernel speaks FUSE protocol ${req.major}.${req.minor}; fuse-uring speaks 7.x`);
  const offeredUring = (req.offered & Init.OVER_IO_URING) !== 0n;
  if (o.transport === 'uring' && !offeredUring) throw new OptionError(`the kernel did not offer FUSE_OVER_IO_URING. ${URING_FIX}`);
  const neg = await negotiate(req, o, fs, tryUring && offeredUring);
  const reply = encodeInitReply(req, neg);
  native.writeSync(m.fd, reply, reply.length);
  // From here on, with OVER_IO_URING every new request waits until each queue has an entry:
  // register them all before returning to the event loop (and before anyone touches the mount).
  const depth = o.queueDepth ?? DEFAULTS.queueDepth;
  const payload = payloadSize(neg);
  const devPayload = payload + 4096;
  let transport: Transport;
  let queues = 0;
  if (neg.flags & Init.OVER_IO_URING) {
    queues = possibleCpus();
    transport = UringTransport.open(m.fd, { queues, depth, payloadSize: payload, devPayloadSize: devPayload, setupFlags: o.ringSetupFlags, spinMicros: o.pollSpinMicros ?? DEFAULTS.pollSpinMicros, threads: servingModel(o), follow: o.followCaller ?? DEFAULTS.followCaller });
  } else {
    transport = DevTransport.open(m.fd, depth, devPayload);
  }
  return new Session(m, fs, o, transport, req.major, neg, req.offered, queues, depth, watcher);
}

export class Session {
  readonly mountpoint: string;
  readonly connection: ConnectionInfo;
  /** Settles when the filesystem is unmounted (by anyone); rejects if the transport failed. */
  readonly closed: Promise<void>;
  /** Notifications to the kernel (cache invalidation, store/retrieve, poll wakeups, …). */
  readonly notify: Notifier;
  /** The autoUnmount watcher's pid (-1 without autoUnmount): see src/watcher.ts. */
  readonly watcherPid: number;
  private readonly dispatcher: Dispatcher;
  private readonly log: (line: string) => void;
  private resolveClosed!: () => void;
  private rejectClosed!: (e: Error) => void;
  private ending = false;
  private destroyed: Promise<void> | null = null;
  private graceTimer: NodeJS.Timeout | null = null;
  private unmountRequested = false;
  private wasAborted = false;
  private readonly onAbort = (): void => { this.unmount().catch(() => {}); };

  /** @internal — use mount(). */
  constructor(private readonly m: Mounted, private readonly fs: Filesystem, private readonly options: MountOptions,
    private readonly transport: Transport, major: number, neg: Negotiated, offered: bigint, queues: number, depth: number,
    private readonly watcher?: Watcher) {
    this.mountpoint = m.mountpoint;
    this.watcherPid = watcher?.pid ?? -1;
    this.log = options.log ?? defaultLog;
    const trace = options.debug === true ? defaultLog : typeof options.debug === 'function' ? options.debug : undefined;
    this.closed = new Promise<void>((ok, fail) => { this.resolveClosed = ok; this.rejectClosed = fail; });
    // `closed` may go unobserved; a transport failure is logged, not an unhandled rejection.
    this.closed.catch(() => {});
    const minor = m.dev.split(':')[1];
    this.connection = {
      transport: transport.kind, major, minor: neg.minor, flags: neg.flags, offered, flagNames: initFlagNames(neg.flags),
      maxWrite: neg.maxWrite, maxPages: neg.maxPages, maxReadahead: neg.maxReadahead, maxBackground: neg.maxBackground,
      congestionThreshold: neg.congestionThreshold, timeGran: neg.timeGran, queues, queueDepth: depth,
      bufferBytes: transport.bufferBytes, ringFd: transport.stats().ringFd, devFd: m.fd,
      id: minor === undefined ? -1 : Number(minor), mountedVia: m.via,
    };
    this.notify = new Notifier(m.fd);
    this.notify.ready({ minor: neg.minor, offered });
    this.dispatcher = new Dispatcher(fs, transport, {
      trace, log: this.log, destroy: () => this.runDestroy(), flags: neg.flags, requestTimeout: options.requestTimeout,
      notifyReply: (unique, offset, data) => this.notify.onReply(unique, offset, data),
    });
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
    transport.start({
      request: (req) => this.dispatcher.dispatch(req),
      end: (error) => { void this.end(error); },
    });
  }

  /**
   * Unmounts (lazily, like fusermount -u -z) and resolves when the session has ended. If the
   * kernel keeps the connection (files still open) past a short grace, the connection is cut.
   */
  unmount(): Promise<void> {
    this.unmountRequested = true;
    if (!this.ending && this.graceTimer === null) {
      unmountFuse(this.m).catch((e: Error) => this.log(`unmount of ${this.mountpoint}: ${e.message}`)).finally(() => {
        if (this.ending) return;
        this.graceTimer = setTimeout(() => { void this.end(); }, UNMOUNT_GRACE_MS);
        this.graceTimer.unref();
      });
    }
    return this.closed;
  }

  /**
   * Registers `fd` (an open regular file, on a filesystem stacked at most max_stack_depth − 1
   * deep) as a passthrough backing file and returns its backing id: reply to open/create with
   * `{ backingId, openFlags: Fopen.PASSTHROUGH }` and the kernel does that file's reads and
   * writes on `fd`'s file itself. `fd` may be closed afterwards. Root only (Linux 6.18).
   * Throws FuseError: EPERM (passthrough not negotiated, or not root), ELOOP, EBADF, EINVAL.
   */
  openBacking(fd: number): number {
    this.checkPassthrough('openBacking');
    try {
      return native.backingOpen(this.m.fd, fd);
    } catch (e) {
      throw backingError(e, `openBacking(${fd})`);
    }
  }

  /** Releases a backing id from openBacking() (files opened with it keep their own reference). */
  closeBacking(id: number): void {
    this.checkPassthrough('closeBacking');
    try {
      native.backingClose(this.m.fd, id);
    } catch (e) {
      throw backingError(e, `closeBacking(${id})`);
    }
  }

  private checkPassthrough(what: string): void {
    if (this.ending) throw new FuseError(Errno.ENOTCONN, `session.${what}(): the session has ended`);
    if ((this.connection.flags & Init.PASSTHROUGH) === 0n) {
      throw new FuseError(Errno.EPERM, (this.connection.offered & Init.PASSTHROUGH) === 0n
        ? `session.${what}(): this kernel did not offer FUSE_PASSTHROUGH (Linux 6.9+)`
        : `session.${what}(): passthrough was not negotiated: mount with { passthrough: true } (and without init() clearing Init.PASSTHROUGH)`);
    }
  }

  stats(): SessionStats {
    return {
      ...this.transport.stats(), requests: this.dispatcher.requests, errors: this.dispatcher.errors,
      pending: this.dispatcher.pending, timeouts: this.dispatcher.timeouts,
    };
  }

  /**
   * True once the session has ended because its connection was aborted (through
   * /sys/fs/fuse/connections/<id>/abort, or by the kernel) rather than unmounted: the mount was
   * still in place when the connection ended. Requests in flight then failed with ECONNABORTED.
   */
  get aborted(): boolean {
    return this.wasAborted;
  }

  private async end(error?: Error): Promise<void> {
    if (this.ending) return;
    this.ending = true;
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.options.signal?.removeEventListener('abort', this.onAbort);
    this.dispatcher.end();
    this.notify.end();
    if (error) this.log(`transport failed, unmounting ${this.mountpoint}: ${error.message}`);
    // An abort, a failure or a forced end leave the (now dead) mount in place: take ours off.
    // Order matters: the ring is closed only once the mount is gone, /dev/fuse last.
    if (stillMounted(this.m)) {
      // Nobody unmounted it, yet the connection ended: it was aborted.
      if (!error && !this.unmountRequested) this.wasAborted = true;
      await unmountFuse(this.m).catch((e: Error) => this.log(`unmount of ${this.mountpoint}: ${e.message}`));
    }
    // A mount we could not take off is left to the watcher, which acts when this process exits.
    if (!stillMounted(this.m)) this.watcher?.done();
    this.transport.close();
    // The Requests view the ring's buffers: without them the buffers can be collected even while
    // the application keeps this Session (a handler still running keeps only its own slot).
    this.transport.requests.length = 0;
    // A notification still being written holds the fd number: close it once that write is done.
    await this.notify.drain(UNMOUNT_GRACE_MS);
    native.close(this.m.fd);
    releaseHelper(this.m);
    await this.runDestroy();
    if (error) this.rejectClosed(error);
    else this.resolveClosed();
  }

  private runDestroy(): Promise<void> {
    if (this.destroyed === null) {
      this.destroyed = (async () => {
        try {
          await this.fs.destroy?.();
        } catch (e) {
          this.log(`destroy() failed: ${(e as Error).message}`);
        }
      })();
    }
    return this.destroyed;
  }
}

/** A native ioctl error (with .errno) as a FuseError saying what failed. */
function backingError(e: unknown, what: string): Error {
  const errno = (e as { errno?: unknown }).errno;
  if (typeof errno !== 'number' || errno <= 0 || errno >= 4096) return e as Error;
  const why: Record<number, string> = {
    [Errno.EPERM]: 'not permitted (the backing ioctls need root / CAP_SYS_ADMIN)',
    [Errno.ELOOP]: 'the backing file is on a stacked filesystem deeper than max_stack_depth allows',
    [Errno.EBADF]: 'not an open file descriptor',
    [Errno.EINVAL]: 'not a regular file, or an invalid id',
    [Errno.ENOENT]: 'no such backing id',
  };
  return new FuseError(errno, `session.${what}: ${(e as Error).message}${why[errno] ? ` (${why[errno]})` : ''}`);
}
