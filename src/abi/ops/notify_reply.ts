// NOTIFY_REPLY: the kernel's answer to a NOTIFY_RETRIEVE notification (session.notify.retrieve()).
//
// Its unique is the notify_unique the daemon chose. It carries no fixed argument in op_in: over
// the ring op_in is EMPTY and struct fuse_notify_retrieve_in (40 bytes) starts the payload,
// followed by the data; over /dev/fuse the same 40 bytes follow the in-header. With opIn 0 both
// layouts put them at payload[0]. No reply is sent: the dispatcher gives the slot back through
// transport.release(), which on the ring commits an empty reply (the entry must be committed or
// it is lost) and on /dev/fuse just frees the slot.
import { Op } from '../opcodes.js';
import { NotifyRetrieveIn } from '../layout.js';
import { getU64 } from '../codec.js';
import { noBody, type OpRow } from '../op.js';
import type { Request } from '../request.js';

/** The data bytes that really arrived: the size field, bounded by what the request holds. */
function dataLength(r: Request): number {
  const size = r.pv.getUint32(NotifyRetrieveIn.size, true);
  return Math.max(0, Math.min(size, r.dataEnd - NotifyRetrieveIn.SIZE));
}

export const notifyReply: OpRow = {
  opcode: Op.NOTIFY_REPLY, name: 'NOTIFY_REPLY', opIn: 0, noReply: true,
  call(_fs, r, hooks) {
    if (r.dataEnd < NotifyRetrieveIn.SIZE) {
      throw new RangeError(`NOTIFY_REPLY carries ${r.dataEnd} bytes, less than fuse_notify_retrieve_in (${NotifyRetrieveIn.SIZE})`);
    }
    const start = NotifyRetrieveIn.SIZE;
    // The view is valid during the call only: the notifier copies it.
    hooks.notifyReply(r.unique, getU64(r.pv, NotifyRetrieveIn.offset), r.payload.subarray(start, start + dataLength(r)));
  },
  reply: noBody,
  describe: (r) => (r.dataEnd < NotifyRetrieveIn.SIZE ? `(${r.dataEnd} bytes)`
    : `offset=${getU64(r.pv, NotifyRetrieveIn.offset)} size=${r.pv.getUint32(NotifyRetrieveIn.size, true)}`),
};

export const rows: OpRow[] = [notifyReply];
