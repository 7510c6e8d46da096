// Requests about the session itself: FORGET, BATCH_FORGET, INTERRUPT, DESTROY.
import { Op } from '../opcodes.js';
import { BatchForgetIn, ForgetIn, ForgetOne, InterruptIn } from '../layout.js';
import { getU64 } from '../codec.js';
import { noBody, type OpRow } from '../op.js';

export const forget: OpRow = {
  opcode: Op.FORGET, name: 'FORGET', opIn: ForgetIn.SIZE, noReply: true,
  call(fs, r) {
    fs.forget?.(r.nodeid, getU64(r.argView, r.argOff + ForgetIn.nlookup));
  },
  reply: noBody,
  describe: (r) => `nlookup=${getU64(r.argView, r.argOff + ForgetIn.nlookup)}`,
};

export const batchForget: OpRow = {
  opcode: Op.BATCH_FORGET, name: 'BATCH_FORGET', opIn: BatchForgetIn.SIZE, noReply: true,
  call(fs, r) {
    if (!fs.forget) return;
    const count = r.argView.getUint32(r.argOff + BatchForgetIn.count, true);
    // The items follow the fixed struct; never read past what the kernel wrote.
    const n = Math.min(count, Math.floor((r.dataEnd - r.dataOff) / ForgetOne.SIZE));
    for (let i = 0, p = r.dataOff; i < n; i++, p += ForgetOne.SIZE) {
      const res: unknown = fs.forget(getU64(r.pv, p + ForgetOne.nodeid), getU64(r.pv, p + ForgetOne.nlookup));
      // forget is meant to be synchronous; a Promise from it must still not reject unseen.
      if (res instanceof Promise) res.catch(() => {});
    }
  },
  reply: noBody,
  describe: (r) => `count=${r.argView.getUint32(r.argOff + BatchForgetIn.count, true)}`,
};

export const interrupt: OpRow = {
  opcode: Op.INTERRUPT, name: 'INTERRUPT', opIn: InterruptIn.SIZE, noReply: true,
  call(_fs, r, hooks) {
    hooks.interrupt(getU64(r.argView, r.argOff + InterruptIn.unique));
  },
  reply: noBody,
  describe: (r) => `unique=${getU64(r.argView, r.argOff + InterruptIn.unique)}`,
};

/** Sent for fuseblk mounts only; destroy() runs once either way (see Session). */
export const destroy: OpRow = {
  opcode: Op.DESTROY, name: 'DESTROY', opIn: 0,
  call: (_fs, _r, hooks) => hooks.destroy(),
  reply: noBody,
  describe: () => '',
};

export const rows: OpRow[] = [forget, batchForget, interrupt, destroy];
