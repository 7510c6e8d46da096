// requestTimeout's bookkeeping. A request whose handler has not settled in time is answered
// ETIMEDOUT and its slot goes back to the kernel, which fills it with the next request — while the
// late handler still holds its ctx, `out` and `data`, which would then be another request's
// memory. So while a timeout is set every handler runs on a private copy of its request (a
// "shadow" slot, pooled by size): copied in before the call, the reply copied out when it settles
// in time. A timed-out shadow is never reused; it is garbage once the late handler lets go of it.
// One interval timer serves all requests (none per request).
import { Request } from '../abi/request.js';
import { InHeader } from '../abi/layout.js';
import type { OpRow } from '../abi/op.js';

/** A request whose handler runs on a shadow slot. */
export interface Isolated {
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

export class Shadows {
  private tick = 0;
  private readonly sweepMs: number;
  private readonly timeoutTicks: number;
  private timer: NodeJS.Timeout | null = null;
  private readonly jobs = new Set<Isolated>();
  private readonly free = new Map<string, Request[]>();
  private ended = false;

  /** `expire` answers a job that ran out of time (it is already marked and untracked). */
  constructor(readonly timeoutMs: number, private readonly expire: (job: Isolated) => void) {
    // Checked every quarter of the timeout: a request is answered between 1 and 1.25 timeouts
    // after it started.
    this.sweepMs = Math.max(5, Math.floor(timeoutMs / 4));
    this.timeoutTicks = Math.ceil(timeoutMs / this.sweepMs) + 1;
  }

  /** A shadow of `req`: the same header and request bytes, in memory of its own. */
  take(req: Request, row: OpRow): Request {
    const sh = this.free.get(keyOf(req))?.pop()
      ?? new Request(req.index, req.ring, Buffer.allocUnsafe(req.header.length), Buffer.allocUnsafe(req.payload.length));
    sh.header.set(req.header, 0);
    if (req.dataEnd > 0) sh.payload.set(req.payload.subarray(0, req.dataEnd), 0);
    sh.begin(req.ring ? 0 : req.dataEnd + InHeader.SIZE);
    sh.locate(row.opIn);
    return sh;
  }

  giveBack(sh: Request): void {
    if (this.ended) return;
    sh.busy = false;
    const key = keyOf(sh);
    let list = this.free.get(key);
    if (list === undefined) this.free.set(key, (list = []));
    list.push(sh);
  }

  /** Starts the clock on a handler that returned a Promise. */
  track(real: Request, shadow: Request, row: OpRow): Isolated {
    const job: Isolated = { real, seq: real.seq, shadow, row, unique: real.unique, tick: this.tick, timedOut: false };
    this.jobs.add(job);
    if (this.timer === null) {
      this.timer = setInterval(() => this.sweep(), this.sweepMs);
      this.timer.unref();
    }
    return job;
  }

  untrack(job: Isolated): void {
    this.jobs.delete(job);
  }

  private sweep(): void {
    this.tick++;
    for (const job of this.jobs) {
      if (this.tick - job.tick < this.timeoutTicks) continue;
      job.timedOut = true;
      this.jobs.delete(job);
      this.expire(job);
    }
    if (this.jobs.size === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  end(): void {
    this.ended = true;
    this.jobs.clear();
    this.free.clear();
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}

function keyOf(r: Request): string {
  return `${r.ring ? 'r' : 'd'}${r.payload.length}:${r.header.length}`;
}
