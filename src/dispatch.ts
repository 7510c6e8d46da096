// Request → opcode row → Filesystem method → reply. The dispatcher owns the reply: every request
// is answered exactly once (or, for FORGET/INTERRUPT, given back without one), whatever the
// handler does — throw, return garbage, settle twice, settle after the connection ended, or
// (with requestTimeout, src/dispatch/shadows.ts) never settle.
import type { Filesystem } from './filesystem.js';
import type { Request } from './abi/request.js';
import type { OpRow, SessionHooks } from './abi/op.js';
import { table } from './abi/table.js';
import { Op, opName } from './abi/opcodes.js';
import { Errno, FuseError, errnoName } from './errors.js';
import { Shadows, type Isolated } from './dispatch/shadows.js';
import { OwnThreads } from './dispatch/own-threads.js';

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

  /** With requestTimeout: handlers on shadow slots, and the clock. */
  private readonly shadows: Shadows | null;
  private readonly ownThreads: OwnThreads;

  constructor(
    private readonly fs: Filesystem,
    private readonly sink: ReplySink,
    private readonly opts: DispatchOptions,
  ) {
    const ms = opts.requestTimeout ?? 0;
    this.shadows = ms > 0 ? new Shadows(ms, (job) => this.expire(job)) : null;
    this.ownThreads = new OwnThreads(opts.log);
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
    if (!row.noReply) this.ownThreads.check(req.pid, row.name);
    // SETLKW waits for a lock by design (as long as the holder keeps it): it has no deadline.
    if (this.shadows !== null && !row.noReply && row.opcode !== Op.SETLKW) return this.dispatchIsolated(this.shadows, req, row);
    let result: unknown;
    try {
      result = this.call(row, req, req);
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

  /** The handler's result for `req` (run on `on`: req itself, or its shadow); throws what it throws. */
  private call(row: OpRow, req: Request, on: Request): unknown {
    const fs = this.fs;
    if (row.method === undefined || typeof fs[row.method] === 'function') return row.call(fs, on, this);
    if (!('fallback' in row) || (row.fallbackUnless !== undefined && (this.flags & row.fallbackUnless) !== 0n)) {
      throw new FuseError(Errno.ENOSYS);
    }
    return row.fallback;
  }

  /** dispatch() for requestTimeout: the handler runs on a shadow copy of `req`. */
  private dispatchIsolated(shadows: Shadows, req: Request, row: OpRow): void {
    const sh = shadows.take(req, row);
    let result: unknown;
    try {
      result = this.call(row, req, sh);
    } catch (e) {
      shadows.giveBack(sh);
      return this.fail(req, this.errnoOf(e, row), row);
    }
    if (!isThenable(result)) return this.finishIsolated(shadows, req, sh, row, result);
    const job = shadows.track(req, sh, row);
    this.inflight.set(job.unique, sh);
    result.then((v) => this.settleIsolated(shadows, job, true, v), (e) => this.settleIsolated(shadows, job, false, e));
  }

  private settleIsolated(shadows: Shadows, job: Isolated, ok: boolean, value: unknown): void {
    if (job.timedOut) {
      // Answered ETIMEDOUT already; its shadow is abandoned, never reused.
      if (!ok) this.errnoOf(value, job.row);
      this.note(`${job.row.name} handler settled after its request had timed out: the result was dropped`);
      return;
    }
    shadows.untrack(job);
    if (this.inflight.get(job.unique) === job.shadow) this.inflight.delete(job.unique);
    const { real, shadow, row } = job;
    if (real.seq !== job.seq || !real.busy) {
      // The connection ended meanwhile (the slot is dead); nothing to answer.
      if (!ok) this.errnoOf(value, row);
      shadows.giveBack(shadow);
      return;
    }
    if (ok) this.finishIsolated(shadows, real, shadow, row, value);
    else {
      shadows.giveBack(shadow);
      this.fail(real, this.errnoOf(value, row), row);
    }
  }

  /** Encodes the result in the shadow and copies the reply into the real slot. */
  private finishIsolated(shadows: Shadows, req: Request, sh: Request, row: OpRow, result: unknown): void {
    let len: number;
    try {
      len = row.reply(sh, result);
    } catch (e) {
      shadows.giveBack(sh);
      return this.fail(req, this.errnoOf(e, row), row);
    }
    if (len > 0) req.payload.set(sh.payload.subarray(0, len), 0);
    shadows.giveBack(sh);
    req.setReply(len);
    if (this.opts.trace) this.opts.trace(`tx ${req.unique}: OK ${row.describeReply ? safeDescribeReply(row, result) : len ? `${len} bytes` : ''}`.trimEnd());
    this.send(req);
  }

  /** A handler ran out of time: ETIMEDOUT, and its ctx.signal fires (its work is no longer wanted). */
  private expire(job: Isolated): void {
    if (this.inflight.get(job.unique) === job.shadow) this.inflight.delete(job.unique);
    this.timeouts++;
    job.shadow.busy = false;
    job.shadow.interrupt();
    this.note(`${job.row.name} handler did not settle within ${this.shadows!.timeoutMs} ms: answered ETIMEDOUT (logged once per opcode)`);
    if (job.real.seq === job.seq && job.real.busy) this.fail(job.real, Errno.ETIMEDOUT, job.row);
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
    this.shadows?.end();
    this.ownThreads.end();
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
