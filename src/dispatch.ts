// Request → opcode row → Filesystem method → reply. The dispatcher owns the reply: every request
// is answered exactly once (or, for FORGET/INTERRUPT, given back without one), whatever the
// handler does — throw, return garbage, settle twice, or settle after the connection ended.
import type { Filesystem } from './filesystem.js';
import type { Request } from './abi/request.js';
import type { OpRow, SessionHooks } from './abi/op.js';
import { table } from './abi/table.js';
import { opName } from './abi/opcodes.js';
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

  constructor(
    private readonly fs: Filesystem,
    private readonly sink: ReplySink,
    private readonly opts: DispatchOptions,
  ) {}

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
