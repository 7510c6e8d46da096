// The shape of one row of the opcode table (src/abi/table.ts).
import type { Filesystem } from '../filesystem.js';
import type { Request } from './request.js';

/** What the dispatcher lends to rows that act on the session rather than on the filesystem. */
export interface SessionHooks {
  interrupt(unique: number): void;
  destroy(): void | Promise<void>;
  /** NOTIFY_REPLY: the kernel's answer to session.notify.retrieve(), `data` valid during the call. */
  notifyReply(notifyUnique: number, offset: number, data: Buffer): void;
  /** The capability bits negotiated at INIT. */
  readonly flags: bigint;
}

export interface OpRow {
  readonly opcode: number;
  readonly name: string;
  /** Size of the fixed argument struct (fuse_*_in) that comes first; 0 if none. */
  readonly opIn: number;
  /** The Filesystem method that serves it: without it the request answers ENOSYS. */
  readonly method?: keyof Filesystem;
  /**
   * The result when the method is missing, where libfuse's low-level API also succeeds by
   * default (OPEN, OPENDIR: handle 0; RELEASE, RELEASEDIR: nothing). Otherwise ENOSYS.
   */
  readonly fallback?: unknown;
  /** With this INIT capability negotiated, a missing method answers ENOSYS after all (the kernel's "no open needed"). */
  readonly fallbackUnless?: bigint;
  /** FORGET, BATCH_FORGET, INTERRUPT: the kernel expects no reply. */
  readonly noReply?: boolean;
  /** Decodes the request and calls the filesystem; returns its result (or a Promise of it). */
  call(fs: Filesystem, req: Request, hooks: SessionHooks): unknown;
  /** Encodes `result` into req.payload; returns the body length (0 for none). May throw. */
  reply(req: Request, result: any): number;
  /** The request's key fields for the --debug trace (read before the call: the reply overwrites them). */
  describe(req: Request): string;
  /** The reply's key fields for the --debug trace. */
  describeReply?(result: any): string;
}

/** A reply with no body. */
export const noBody = (): number => 0;
