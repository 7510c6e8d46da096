// Request → opcode row → Filesystem method → reply. The dispatcher owns the reply: every request
// is answered exactly once (or, for FORGET/INTERRUPT, given back without one), whatever the
// handler does — throw, return garbage, settle twice, settle after the connection ended, or
// (with requestTimeout) never settle.
//
// requestTimeout: a request whose handler has not settled in time is answered ETIMEDOUT, and its
// slot goes back to the kernel, which fills it with the next request. The late handler still
// holds its ctx, `out` and `data`, which would then be another request's memory. So while a
// timeout is set, every handler runs on a private copy of its request (a "shadow" slot, pooled):
// the request is copied in before the call and the reply copied out when it settles in time. A
// timed-out shadow is never reused; it is garbage once the late handler lets go of it.
import { readdirSync } from 'node:fs';
import type { Filesystem } from './filesystem.js';
import { Request } from './abi/request.js';
import type { OpRow, SessionHooks } from './abi/op.js';
import { table } from './abi/table.js';
import { Op, opName } from './abi/opcodes.js';
import { InHeader } from './abi/layout.js';
import { Errno, FuseError, errnoName } from './errors.js';

/** Where replies go: implemented by the transports. */
export interface ReplySink {
  /** Sends the reply whose header the request already holds. */
  commit(req: Request): void;
  /** Gives the slot back with no reply (FORGET, BATCH_FORGET, INTERRUPT). */
  release(req: Request): void;
}

export interface DispatchOptions {
  /** One line per request and reply. */
  trace?: (line: string) => void;
  /** Problems worth a line (handler failures, once per kind). */
  log: (line: string) => void;
  /** Called for DESTROY (fuseblk only); the session runs destroy() once. */
  destroy: () => void | Promise<void>;
  /** NOTIFY_REPLY, the answer to a retrieve notification. */
  notifyReply?: (notifyUnique: number, offset: number, data: Buffer) => void;
  /** The capability bits negotiated at INIT. */
  flags?: bigint;
  /** Milliseconds before a request whose handler has not settled is answered ETIMEDOUT; 0/absent: never. */
  requestTimeout?: number;
}

/** How many distinct handler failures are logged before going quiet. */
const MAX_LOGGED = 100;
/** How often the list of this process's threads is read again (for the re-entry check). */
const THREADS_REFRESH_MS = 2000;

/** A request whose handler runs on a shadow slot while requestTimeout is set. */
interface Isolated {
  real: Request;
  /** real.seq when dispatched: the slot still waits for this reply while it is unchanged. */
  seq: number;
  shadow: Request;
  row: OpRow;
  unique: number;
  /** The sweep count when it started. */
  tick: number;
  timedOut: boolean;
}

export class Dispatcher implements SessionHooks {
  /** Requests whose handler returned a Promise, by unique: the targets of INTERRUPT. */
  private readonly inflight = new Map<number, Request>();
  private readonly logged = new Set<string>();
  private ended = false;
  /** Requests handled, and replies that carried an error, for session.stats(). */
  requests = 0;
  errors = 0;
  /** Requests answered ETIMEDOUT. */
  timeouts = 0;

  private readonly timeoutMs: number;
  /** Sweeps of the timeout timer; a request times out `timeoutTicks` sweeps after it started. */
  private tick = 0;
  private readonly sweepMs: number;
  private readonly timeoutTicks: number;
  private sweepTimer: NodeJS.Timeout | null = null;
  private readonly isolated = new Set<Isolated>();
  /** Free shadow slots, by kind and payload size. */
  private readonly shadows = new Map<string, Request[]>();

  /** Thread ids of this process: a request from one of them is the daemon using its own mount. */
  private ownThreads: Set<number> = new Set();
  private threadsTimer: NodeJS.Timeout | null = null;
  private reentryNoted = false;

  constructor(
    private readonly fs: Filesystem,
    private readonly sink: ReplySink,
    private readonly opts: DispatchOptions,
  ) {
    this.timeoutMs = opts.requestTimeout ?? 0;
    // Checked every quarter of the timeout: a request is answered between 1 and 1.25 timeouts
    // after it started, with one timer for all of them (none per request).
    this.sweepMs = Math.max(5, Math.floor(this.timeoutMs / 4));
    this.timeoutTicks = Math.ceil(this.timeoutMs / this.sweepMs) + 1;
    this.refreshThreads();
    this.threadsTimer = setInterval(() => this.refreshThreads(), THREADS_REFRESH_MS);
    this.threadsTimer.unref();
  }

  /** A request is in `req` (its header read by req.begin()). */
  dispatch(req: Request): void {
    this.requests++;
    const row = table[req.opcode];
    const trace = this.opts.trace;
    if (row === undefined) {
      if (trace) trace(`rx ${req.unique}: ${opName(req.opcode)} n${req.nodeid} (no handler)`);
      return this.fail(req, Errno.ENOSYS, row);
    }
    if (!req.locate(row.opIn)) {
      this.note(`${row.name}: request too short (${req.dataEnd} bytes of arguments)`);
      return this.fail(req, Errno.EIO, row);
    }
    if (trace) trace(`rx ${req.unique}: ${row.name} n${req.nodeid} ${safeDescribe(row, req)}`.trimEnd());
    // (FORGET, INTERRUPT and NOTIFY_REPLY carry the pid of whoever caused them: for NOTIFY_REPLY
    // that is our own thread-pool thread writing the retrieve notification.)
    if (!row.noReply && this.ownThreads.has(req.pid)) this.noteReentry(row, req.pid);
    // SETLKW waits for a lock by design (as long as the holder keeps it): it has no deadline.
    if (this.timeoutMs > 0 && !row.noReply && row.opcode !== Op.SETLKW) return this.dispatchIsolated(req, row);
    const fs = this.fs;
    let result: unknown;
    try {
      if (row.method !== undefined && typeof fs[row.method] !== 'function') {
        if (!('fallback' in row) || (row.fallbackUnless !== undefined && (this.flags & row.fallbackUnless) !== 0n)) {
          return this.fail(req, Errno.ENOSYS, row);
        }
        result = row.fallback;
      } else {
        result = row.call(fs, req, this);
      }
    } catch (e) {
      return this.fail(req, this.errnoOf(e, row), row);
    }
    if (row.noReply) {
      req.busy = false;
      this.sink.release(req);
      // Nothing waits for it, but a rejection must be seen, not crash the process.
      if (isThenable(result)) result.then(undefined, (e) => { this.errnoOf(e, row); });
      return;
    }
    if (isThenable(result)) {
      const seq = req.seq;
      const unique = req.unique;
      this.inflight.set(unique, req);
      result.then(
        (v) => { if (this.current(req, seq, unique)) this.finish(req, row, v); },
        (e) => { if (this.current(req, seq, unique)) this.fail(req, this.errnoOf(e, row), row); },
      );
      return;
    }
    this.finish(req, row, result);
  }

  /** dispatch() for requestTimeout: the handler runs on a shadow copy of `req`. */
  private dispatchIsolated(req: Request, row: OpRow): void {
    const sh = this.takeShadow(req, row);
    const fs = this.fs;
    let result: unknown;
    try {
      if (row.method !== undefined && typeof fs[row.method] !== 'function') {
        if (!('fallback' in row) || (row.fallbackUnless !== undefined && (this.flags & row.fallbackUnless) !== 0n)) {
          this.giveBack(sh);
          return this.fail(req, Errno.ENOSYS, row);
        }
        result = row.fallback;
      } else {
        result = row.call(fs, sh, this);
      }
    } catch (e) {
      this.giveBack(sh);
      return this.fail(req, this.errnoOf(e, row), row);
    }
    if (!isThenable(result)) {
      this.finishIsolated(req, sh, row, result);
      return;
    }
    const job: Isolated = { real: req, seq: req.seq, shadow: sh, row, unique: req.unique, tick: this.tick, timedOut: false };
    this.isolated.add(job);
    this.inflight.set(job.unique, sh);
    if (this.sweepTimer === null) {
      this.sweepTimer = setInterval(() => this.sweep(), this.sweepMs);
      this.sweepTimer.unref();
    }
    result.then((v) => this.settleIsolated(job, true, v), (e) => this.settleIsolated(job, false, e));
  }

  private settleIsolated(job: Isolated, ok: boolean, value: unknown): void {
    if (job.timedOut) {
      // Answered ETIMEDOUT already; its shadow is abandoned, never reused.
      if (!ok) this.errnoOf(value, job.row);
      this.note(`${job.row.name} handler settled after its request had timed out: the result was dropped`);
      return;
    }
    this.isolated.delete(job);
    if (this.inflight.get(job.unique) === job.shadow) this.inflight.delete(job.unique);
    const { real, shadow, row } = job;
    if (real.seq !== job.seq || !real.busy) {
      // The connection ended meanwhile (the slot is dead); nothing to answer.
      if (!ok) this.errnoOf(value, row);
      this.giveBack(shadow);
      return;
    }
    if (ok) this.finishIsolated(real, shadow, row, value);
    else {
      this.giveBack(shadow);
      this.fail(real, this.errnoOf(value, row), row);
    }
  }

  /** Encodes the result in the shadow and copies the reply into the real slot. */
  private finishIsolated(req: Request, sh: Request, row: OpRow, result: unknown): void {
    let len: number;
    try {
      len = row.reply(sh, result);
    } catch (e) {
      this.giveBack(sh);
      return this.fail(req, this.errnoOf(e, row), row);
    }
    if (len > 0) req.payload.set(sh.payload.subarray(0, len), 0);
    this.giveBack(sh);
    req.setReply(len);
    if (this.opts.trace) this.opts.trace(`tx ${req.unique}: OK ${row.describeReply ? safeDescribeReply(row, result) : len ? `${len} bytes` : ''}`.trimEnd());
    this.send(req);
  }

  /** Answers ETIMEDOUT for every isolated request older than the timeout. */
  private sweep(): void {
    this.tick++;
    for (const job of this.isolated) {
      if (this.tick - job.tick < this.timeoutTicks) continue;
      job.timedOut = true;
      this.isolated.delete(job);
      if (this.inflight.get(job.unique) === job.shadow) this.inflight.delete(job.unique);
      this.timeouts++;
      // The handler's ctx.signal fires: its work is no longer wanted.
      job.shadow.busy = false;
      job.shadow.interrupt();
      this.note(`${job.row.name} handler did not settle within ${this.timeoutMs} ms: answered ETIMEDOUT (logged once per opcode)`);
      if (job.real.seq === job.seq && job.real.busy) this.fail(job.real, Errno.ETIMEDOUT, job.row);
    }
    if (this.isolated.size === 0 && this.sweepTimer !== null) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = null;
    }
  }

  /** A shadow of `req`: the same header and request bytes, in memory of its own. */
  private takeShadow(req: Request, row: OpRow): Request {
    const key = `${req.ring ? 'r' : 'd'}${req.payload.length}:${req.header.length}`;
    const sh = this.shadows.get(key)?.pop()
      ?? new Request(req.index, req.ring, Buffer.allocUnsafe(req.header.length), Buffer.allocUnsafe(req.payload.length));
    sh.header.set(req.header, 0);
    if (req.dataEnd > 0) sh.payload.set(req.payload.subarray(0, req.dataEnd), 0);
    sh.begin(req.ring ? 0 : req.dataEnd + InHeader.SIZE);
    sh.locate(row.opIn);
    return sh;
  }

  private giveBack(sh: Request): void {
    if (this.ended) return;
    sh.busy = false;
    const key = `${sh.ring ? 'r' : 'd'}${sh.payload.length}:${sh.header.length}`;
    let free = this.shadows.get(key);
    if (free === undefined) this.shadows.set(key, (free = []));
    free.push(sh);
  }

  private refreshThreads(): void {
    const tids = new Set<number>([process.pid]);
    try {
      for (const name of readdirSync('/proc/self/task')) tids.add(Number(name));
    } catch { /* no /proc: the check is off */ }
    this.ownThreads = tids;
  }

  /**
   * A request from one of this process's own threads: code in the daemon is using the daemon's
   * own mount. Asynchronous calls work (they wait on the thread pool while the loop serves them)
   * until the thread pool or a ring queue is exhausted, or the kernel holds a lock the handler
   * waits for; a synchronous call (fs.*Sync) blocks the loop that would serve it, for good, and
   * never shows up here at all. Said once per session.
   */
  private noteReentry(row: OpRow, pid: number): void {
    if (this.reentryNoted) return;
    this.reentryNoted = true;
    this.opts.log(`a ${row.name} request came from this daemon's own thread ${pid}: something in the daemon is using its own mount, `
      + 'which deadlocks on a synchronous call (fs.*Sync; over io_uring the process then cannot even be killed) and can exhaust '
      + 'the thread pool or a ring queue (see docs/reliability.md)');
  }

  /** True if the request is still waiting for this settle; removes it from the in-flight map. */
  private current(req: Request, seq: number, unique: number): boolean {
    if (this.inflight.get(unique) === req) this.inflight.delete(unique);
    return req.seq === seq && req.busy;
  }

  private finish(req: Request, row: OpRow, result: unknown): void {
    let len: number;
    try {
      len = row.reply(req, result);
    } catch (e) {
      // A result that does not encode (wrong type, too large) is an error reply, never a corrupt one.
      return this.fail(req, this.errnoOf(e, row), row);
    }
    req.setReply(len);
    if (this.opts.trace) this.opts.trace(`tx ${req.unique}: OK ${row.describeReply ? safeDescribeReply(row, result) : len ? `${len} bytes` : ''}`.trimEnd());
    this.send(req);
  }

  private fail(req: Request, errno: number, row: OpRow | undefined): void {
    this.errors++;
    if (row?.noReply) {
      req.busy = false;
      this.sink.release(req);
      return;
    }
    req.setError(errno);
    if (this.opts.trace) this.opts.trace(`tx ${req.unique}: ${errnoName(errno)}`);
    this.send(req);
  }

  private send(req: Request): void {
    req.busy = false;
    if (this.ended) return;
    this.sink.commit(req);
  }

  /** The errno a thrown value stands for; logs what is not a FuseError (once per kind). */
  private errnoOf(e: unknown, row: OpRow | undefined): number {
    if (e instanceof FuseError) return e.errno;
    const what = row ? row.name : 'request';
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    this.note(`${what} handler failed, answering EIO: ${msg}`);
    return Errno.EIO;
  }

  private note(line: string): void {
    if (this.logged.has(line) || this.logged.size >= MAX_LOGGED) return;
    this.logged.add(line);
    this.opts.log(line);
  }

  // SessionHooks

  interrupt(unique: number): void {
    this.inflight.get(unique)?.interrupt();
  }

  destroy(): void | Promise<void> {
    return this.opts.destroy();
  }

  notifyReply(notifyUnique: number, offset: number, data: Buffer): void {
    this.opts.notifyReply?.(notifyUnique, offset, data);
  }

  get flags(): bigint {
    return this.opts.flags ?? 0n;
  }

  /** The connection is gone: replies still to come are dropped, not sent. */
  end(): void {
    this.ended = true;
    this.inflight.clear();
    this.isolated.clear();
    this.shadows.clear();
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    if (this.threadsTimer !== null) clearInterval(this.threadsTimer);
    this.sweepTimer = this.threadsTimer = null;
  }

  /** Requests whose handler has not settled yet. */
  get pending(): number {
    return this.inflight.size;
  }
}

function isThenable(x: unknown): x is PromiseLike<unknown> {
  return x !== null && typeof x === 'object' && typeof (x as PromiseLike<unknown>).then === 'function';
}

function safeDescribe(row: OpRow, req: Request): string {
  try {
    return row.describe(req);
  } catch (e) {
    return `<undecodable: ${(e as Error).message}>`;
  }
}

function safeDescribeReply(row: OpRow, result: unknown): string {
  try {
    return row.describeReply!(result);
  } catch {
    return '<undescribable>';
  }
}
