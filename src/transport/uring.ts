// FUSE-over-io_uring: `queues` × `depth` ring entries, REGISTERed before anything touches the
// mount; /dev/fuse stays open for FORGET, BATCH_FORGET and INTERRUPT (two read slots).
import { native } from '../native.js';
import { Transport } from './transport.js';

/** Slots reading /dev/fuse next to the ring: FORGET/INTERRUPT are handled synchronously. */
const DEV_SLOTS_WITH_RING = 2;

export interface RingGeometry {
  queues: number;
  depth: number;
  /** max(8192, max_write, max_pages × 4096): the kernel's minimum payload per entry. */
  payloadSize: number;
  /** Read buffer size for /dev/fuse slots (the kernel wants room for a max_write WRITE). */
  devPayloadSize: number;
  /** Extra IORING_SETUP_* flags (SQE128 is always set); undefined: DEFAULT_RING_FLAGS. */
  setupFlags: number | undefined;
  /** µs to watch the CQ for the next request before sleeping (0: never). */
  spinMicros: number;
  /** Who serves the ring entries (MountOptions.queueThreads): the loop's thread, one native thread
   * per queue pinned to its CPU, or either as the callers come ('auto'). */
  threads: boolean | 'auto';
  /** Follow a lone caller's CPU (MountOptions.followCaller) while the loop's thread serves the ring. */
  follow: boolean;
}

/**
 * COOP_TASKRUN | TASKRUN_FLAG: the kernel posts our completions from task_work; by default it
 * interrupts this thread with an IPI to run it, even while we are awake watching the CQ. With these
 * two flags it only raises IORING_SQ_TASKRUN, which the watcher sees and runs with one
 * io_uring_enter — measured 1.6× the cross-CPU request rate and half the CPU per request
 * (docs/performance.md). The ring fd still polls readable, so the loop's epoll keeps working.
 */
export const DEFAULT_RING_FLAGS = 0x100 | 0x200;

export class UringTransport extends Transport {
  private constructor(fd: number) {
    super('uring', native.channelCreate(fd));
  }

  /** Call right after the INIT reply was written: every queue is registered when this returns. */
  static open(fd: number, g: RingGeometry): UringTransport {
    const t = new UringTransport(fd);
    try {
      const { headers, payloads } = t.allocate(g.queues * g.depth, g.payloadSize, true);
      native.channelSetupRing(t.ch, g.queues, g.depth, headers, payloads, g.setupFlags ?? DEFAULT_RING_FLAGS, g.threads === 'auto' ? 2 : g.threads ? 1 : 0);
      native.channelSetServing(t.ch, g.spinMicros, g.follow);
      t.addDevSlots(DEV_SLOTS_WITH_RING, g.devPayloadSize);
    } catch (e) {
      // Closing the ring while mounted would hang the filesystem: the caller unmounts, then closes.
      throw Object.assign(e as Error, { transport: t });
    }
    return t;
  }
}
