// Requests that come from the daemon's own threads: code in the daemon using the daemon's own
// mount. Asynchronous calls work (they wait on the thread pool while the loop serves them) until
// the thread pool or a ring queue is exhausted, or the kernel holds a lock the handler waits for;
// a synchronous call (fs.*Sync) blocks the loop that would serve it, for good, and never shows up
// here at all (over io_uring the process then cannot even be killed: docs/reliability.md).
import { readdirSync } from 'node:fs';

/** How often the list of this process's threads is read again. */
const REFRESH_MS = 2000;

export class OwnThreads {
  private tids = new Set<number>();
  private timer: NodeJS.Timeout | null;
  private noted = false;

  constructor(private readonly log: (line: string) => void) {
    this.refresh();
    this.timer = setInterval(() => this.refresh(), REFRESH_MS);
    this.timer.unref();
  }

  /** Says so once per session if `pid` (the request's caller) is one of our threads. */
  check(pid: number, opName: string): void {
    if (this.noted || !this.tids.has(pid)) return;
    this.noted = true;
    this.log(`a ${opName} request came from this daemon's own thread ${pid}: something in the daemon is using its own mount, `
      + 'which deadlocks on a synchronous call (fs.*Sync; over io_uring the process then cannot even be killed) and can exhaust '
      + 'the thread pool or a ring queue (see docs/reliability.md)');
  }

  private refresh(): void {
    const tids = new Set<number>([process.pid]);
    try {
      for (const name of readdirSync('/proc/self/task')) tids.add(Number(name));
    } catch { /* no /proc: the check is off */ }
    this.tids = tids;
  }

  end(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}
