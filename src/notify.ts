// Notifications: the daemon tells the kernel about changes it did not see (session.notify).
//
// Each one is fuse_out_header{len, error = the notify code, unique = 0} + a body, written to
// /dev/fuse (never over the ring: the kernel refuses unique 0 there). The write goes through
// libuv's thread pool (node:fs write on the /dev/fuse fd number), never synchronously on the
// event loop: the kernel may have to lock an inode whose request this daemon is still serving
// (e.g. invalidating pages while a READ of them is in flight), and a synchronous writer would
// then wait for a reply that its own blocked event loop can never send. Every method returns a
// Promise that settles when the kernel has taken the notification (or refused it: FuseError).
// Two calls in flight at once are two pool jobs and may reach the kernel in either order: await
// one before the next when the order matters (a STORE before the INVAL_INODE that follows it).
import { write } from 'node:fs';
import { Errno, FuseError, errnoName } from './errors.js';
import { EXPIRE_ONLY, Init } from './abi/flags.js';
import {
  NotifyCode, NotifyDeleteOut, NotifyInvalEntryOut, NotifyInvalInodeOut, NotifyPollWakeupOut, NotifyPruneOut,
  NotifyRetrieveOut, NotifyStoreOut, OutHeader,
} from './abi/layout.js';
import { setU64 } from './abi/codec.js';
import { encodeNameInto, nameByteLength } from './abi/names.js';

/** What the notifier needs to know of the connection. */
export interface NotifierConnection {
  /** The negotiated protocol minor (INC_EPOCH needs 44, PRUNE 45). */
  minor: number;
  /** INIT bits the kernel offered (HAS_EXPIRE_ONLY is an offer, not a negotiated bit). */
  offered: bigint;
}

export interface InvalEntryOptions {
  /**
   * Only mark the dentry as expired (the next access looks the name up again) instead of
   * dropping it. Needs a kernel offering FUSE_HAS_EXPIRE_ONLY (6.2+).
   */
  expireOnly?: boolean;
}

/** The kernel's own limit on names (FUSE_NAME_MAX). */
const NAME_MAX = 1024;
/** notify_unique values start far above the kernel's request uniques (2, 4, …) and stay even. */
const FIRST_NOTIFY_UNIQUE = 2 ** 48;
const U32_MAX = 0xffffffff;

interface PendingRetrieve {
  nodeid: number;
  resolve: (data: Buffer) => void;
  reject: (e: Error) => void;
}

const what = {
  [NotifyCode.POLL]: 'pollWakeup', [NotifyCode.INVAL_INODE]: 'invalInode', [NotifyCode.INVAL_ENTRY]: 'invalEntry',
  [NotifyCode.STORE]: 'store', [NotifyCode.RETRIEVE]: 'retrieve', [NotifyCode.DELETE]: 'delete',
  [NotifyCode.INC_EPOCH]: 'incEpoch', [NotifyCode.PRUNE]: 'prune',
} as Record<number, string>;

/** Why the kernel refused, in words, for the common errnos. */
function explain(code: number, errno: number, subject: string): string {
  if (errno === Errno.ENOENT) {
    if (code === NotifyCode.INVAL_ENTRY || code === NotifyCode.DELETE) return `the kernel has no cached entry ${subject}`;
    return `the kernel does not know ${subject}`;
  }
  if (errno === Errno.ENOTDIR) return `${subject}: the parent is not a directory`;
  if (errno === Errno.ENOTEMPTY) return `${subject}: the directory is not empty in the kernel's cache`;
  if (errno === Errno.EBUSY) return `${subject} is a mount point`;
  if (errno === Errno.ENODEV || errno === Errno.ENOTCONN || errno === Errno.ECONNABORTED) return 'the connection has ended';
  if (errno === Errno.EINVAL) return `the kernel rejected the notification for ${subject}`;
  if (errno === Errno.ENAMETOOLONG) return `${subject}: name too long`;
  return subject;
}

export class Notifier {
  private state: 'new' | 'ready' | 'ended' = 'new';
  private conn: NotifierConnection = { minor: 0, offered: 0n };
  private nextUnique = FIRST_NOTIFY_UNIQUE;
  private readonly retrieves = new Map<number, PendingRetrieve>();
  private writing = 0;
  private idle: (() => void)[] = [];

  /** `fd`: the /dev/fuse fd of the session. Refuses every call until ready(). */
  constructor(private readonly fd: number) {}

  /** @internal INIT is done: notifications are accepted from now on. */
  ready(conn: NotifierConnection): void {
    if (this.state !== 'new') return;
    this.conn = conn;
    this.state = 'ready';
  }

  /** The kernel supports NOTIFY_INC_EPOCH (protocol 7.44). */
  get canIncEpoch(): boolean { return this.state === 'ready' && this.conn.minor >= 44; }
  /** The kernel supports NOTIFY_PRUNE (protocol 7.45). */
  get canPrune(): boolean { return this.state === 'ready' && this.conn.minor >= 45; }
  /** The kernel supports invalEntry(…, { expireOnly: true }) (FUSE_HAS_EXPIRE_ONLY). */
  get canExpireOnly(): boolean { return this.state === 'ready' && (this.conn.offered & Init.HAS_EXPIRE_ONLY) !== 0n; }

  /**
   * Drops the kernel's cached data of `nodeid` in [offset, offset + length) (length 0: to the
   * end of the file) and its attributes. offset < 0: attributes only.
   */
  invalInode(nodeid: number, offset = 0, length = 0): Promise<void> {
    return this.run(NotifyCode.INVAL_INODE, `inode ${nodeid}`, () => {
      checkId('nodeid', nodeid);
      checkInt('offset', offset, -(2 ** 53), 2 ** 53);
      checkInt('length', length, 0, 2 ** 53);
      const b = this.message(NotifyCode.INVAL_INODE, NotifyInvalInodeOut.SIZE);
      const v = view(b);
      setU64(v, OutHeader.SIZE + NotifyInvalInodeOut.ino, nodeid);
      setU64(v, OutHeader.SIZE + NotifyInvalInodeOut.off, offset);
      setU64(v, OutHeader.SIZE + NotifyInvalInodeOut.len, length);
      return b;
    });
  }

  /** Drops (or, with expireOnly, expires) the kernel's dentry `name` in directory `parent`. */
  invalEntry(parent: number, name: string, options: InvalEntryOptions = {}): Promise<void> {
    return this.run(NotifyCode.INVAL_ENTRY, `${JSON.stringify(name)} in ${parent}`, () => {
      checkId('parent', parent);
      if (options.expireOnly && !this.canExpireOnly) {
        throw new FuseError(Errno.ENOSYS, 'invalEntry({ expireOnly: true }): this kernel does not offer FUSE_HAS_EXPIRE_ONLY (Linux 6.2+)');
      }
      const b = this.withName(NotifyCode.INVAL_ENTRY, NotifyInvalEntryOut.SIZE, name);
      const v = view(b);
      setU64(v, OutHeader.SIZE + NotifyInvalEntryOut.parent, parent);
      v.setUint32(OutHeader.SIZE + NotifyInvalEntryOut.flags, options.expireOnly ? EXPIRE_ONLY : 0, true);
      return b;
    });
  }

  /**
   * The file `name` (nodeid `child`) in `parent` was deleted: the kernel drops the dentry if it
   * still points at `child` (ENOENT otherwise) and marks the inode unlinked.
   */
  delete(parent: number, child: number, name: string): Promise<void> {
    return this.run(NotifyCode.DELETE, `${JSON.stringify(name)} (inode ${child}) in ${parent}`, () => {
      checkId('parent', parent);
      checkId('child', child);
      const b = this.withName(NotifyCode.DELETE, NotifyDeleteOut.SIZE, name);
      const v = view(b);
      setU64(v, OutHeader.SIZE + NotifyDeleteOut.parent, parent);
      setU64(v, OutHeader.SIZE + NotifyDeleteOut.child, child);
      return b;
    });
  }

  /**
   * Puts `data` into the kernel's page cache of `nodeid` at `offset` (the kernel grows its idea
   * of the file size if the data ends past it).
   */
  store(nodeid: number, offset: number, data: Uint8Array): Promise<void> {
    return this.run(NotifyCode.STORE, `inode ${nodeid}`, () => {
      checkId('nodeid', nodeid);
      checkInt('offset', offset, 0, 2 ** 53);
      if (!(data instanceof Uint8Array)) throw new TypeError('store(): data must be a Buffer or Uint8Array');
      if (data.length > U32_MAX) throw new RangeError('store(): data larger than 4 GiB');
      const b = this.message(NotifyCode.STORE, NotifyStoreOut.SIZE, data.length);
      const v = view(b);
      setU64(v, OutHeader.SIZE + NotifyStoreOut.nodeid, nodeid);
      setU64(v, OutHeader.SIZE + NotifyStoreOut.offset, offset);
      v.setUint32(OutHeader.SIZE + NotifyStoreOut.size, data.length, true);
      b.set(data, OutHeader.SIZE + NotifyStoreOut.SIZE);
      return b;
    });
  }

  /**
   * What the kernel's page cache holds of `nodeid` from `offset`: up to `size` bytes (the kernel
   * caps it at max_write and at the file size, and stops at the first page it does not hold).
   * Resolves when the kernel's NOTIFY_REPLY arrives; rejects if the session ends first.
   */
  retrieve(nodeid: number, offset: number, size: number): Promise<Buffer> {
    const unique = this.nextUnique;
    let pending: PendingRetrieve | undefined;
    const answer = new Promise<Buffer>((resolve, reject) => { pending = { nodeid, resolve, reject }; });
    // end() may reject it while the write is still in flight, before anyone listens to it.
    answer.catch(() => {});
    const sent = this.run(NotifyCode.RETRIEVE, `inode ${nodeid}`, () => {
      checkId('nodeid', nodeid);
      checkInt('offset', offset, 0, 2 ** 53);
      checkInt('size', size, 0, U32_MAX);
      const b = this.message(NotifyCode.RETRIEVE, NotifyRetrieveOut.SIZE);
      const v = view(b);
      this.nextUnique += 2;
      setU64(v, OutHeader.SIZE + NotifyRetrieveOut.notify_unique, unique);
      setU64(v, OutHeader.SIZE + NotifyRetrieveOut.nodeid, nodeid);
      setU64(v, OutHeader.SIZE + NotifyRetrieveOut.offset, offset);
      v.setUint32(OutHeader.SIZE + NotifyRetrieveOut.size, size, true);
      // Registered before the write: the NOTIFY_REPLY may be dispatched before the write's
      // completion reaches JavaScript.
      this.retrieves.set(unique, pending!);
      return b;
    });
    return sent.then(() => answer, (e: Error) => {
      if (this.retrieves.get(unique) === pending) this.retrieves.delete(unique);
      throw e;
    });
  }

  /** Wakes the pollers of the file whose poll() was given kernel handle `kh`. */
  pollWakeup(kh: number): Promise<void> {
    return this.run(NotifyCode.POLL, `poll handle ${kh}`, () => {
      checkInt('kh', kh, 0, 2 ** 53);
      const b = this.message(NotifyCode.POLL, NotifyPollWakeupOut.SIZE);
      setU64(view(b), OutHeader.SIZE + NotifyPollWakeupOut.kh, kh);
      return b;
    });
  }

  /** Invalidates every dentry the kernel holds at once (protocol 7.44, Linux 6.16+). */
  incEpoch(): Promise<void> {
    return this.run(NotifyCode.INC_EPOCH, 'the connection', () => {
      if (!this.canIncEpoch) {
        throw new FuseError(Errno.ENOSYS, `incEpoch(): needs FUSE protocol 7.44 (Linux 6.16+); this connection speaks 7.${this.conn.minor}`);
      }
      return this.message(NotifyCode.INC_EPOCH, 0);
    });
  }

  /** Asks the kernel to drop these inodes (and their dentries) if nothing uses them (protocol 7.45). */
  prune(nodeids: readonly number[]): Promise<void> {
    return this.run(NotifyCode.PRUNE, `${nodeids?.length} inodes`, () => {
      if (!this.canPrune) {
        throw new FuseError(Errno.ENOSYS, `prune(): needs FUSE protocol 7.45 (Linux 6.18+); this connection speaks 7.${this.conn.minor}`);
      }
      if (!Array.isArray(nodeids)) throw new TypeError('prune(): nodeids must be an array of numbers');
      nodeids.forEach((n, i) => checkId(`nodeids[${i}]`, n));
      const b = this.message(NotifyCode.PRUNE, NotifyPruneOut.SIZE, 8 * nodeids.length);
      const v = view(b);
      v.setUint32(OutHeader.SIZE + NotifyPruneOut.count, nodeids.length, true);
      let p = OutHeader.SIZE + NotifyPruneOut.SIZE;
      for (const n of nodeids) { setU64(v, p, n); p += 8; }
      return b;
    });
  }

  /** @internal NOTIFY_REPLY from the dispatcher: `data` is only valid during the call. */
  onReply(notifyUnique: number, _offset: number, data: Buffer): void {
    const p = this.retrieves.get(notifyUnique);
    if (p === undefined) return;
    this.retrieves.delete(notifyUnique);
    p.resolve(Buffer.from(data));
  }

  /** @internal The session ended: pending retrieves reject, later calls are refused. */
  end(): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    const gone = new FuseError(Errno.ENOTCONN, 'session.notify.retrieve(): the session ended before the kernel answered');
    for (const p of this.retrieves.values()) p.reject(gone);
    this.retrieves.clear();
  }

  /** @internal Resolves when no write is in flight any more (or after `ms`), so the fd can be closed. */
  drain(ms: number): Promise<void> {
    if (this.writing === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.idle.push(() => { clearTimeout(timer); resolve(); });
    });
  }

  /** Checks the state, builds the message (throws → rejection) and writes it off the event loop. */
  private run(code: number, subject: string, build: () => Buffer): Promise<void> {
    const name = what[code] ?? `notify ${code}`;
    if (this.state !== 'ready') {
      return Promise.reject(new FuseError(Errno.ENOTCONN, this.state === 'new'
        ? `session.notify.${name}(): the connection is not initialised yet (notifications are refused before FUSE_INIT)`
        : `session.notify.${name}(): the session has ended`));
    }
    let b: Buffer;
    try {
      b = build();
    } catch (e) {
      return Promise.reject(e);
    }
    this.writing++;
    return new Promise<void>((resolve, reject) => {
      write(this.fd, b, 0, b.length, null, (err, n) => {
        if (--this.writing === 0) for (const f of this.idle.splice(0)) f();
        if (err) {
          const errno = Errno[err.code ?? ''] ?? (typeof err.errno === 'number' ? Math.abs(err.errno) : Errno.EIO);
          return reject(new FuseError(errno, `session.notify.${name}(): ${errnoName(errno)}: ${explain(code, errno, subject)}`));
        }
        if (n !== b.length) return reject(new FuseError(Errno.EIO, `session.notify.${name}(): short write (${n} of ${b.length} bytes)`));
        resolve();
      });
    });
  }

  /** fuse_out_header{len, error = code, unique = 0} + a zeroed body of `body` + `extra` bytes. */
  private message(code: number, body: number, extra = 0): Buffer {
    const b = Buffer.alloc(OutHeader.SIZE + body + extra);
    b.writeUInt32LE(b.length, OutHeader.len);
    b.writeInt32LE(code, OutHeader.error);
    return b;
  }

  /** A message whose body ends with a NUL-terminated name (INVAL_ENTRY, DELETE; namelen at +8 / +16). */
  private withName(code: number, body: number, name: string): Buffer {
    if (typeof name !== 'string' || name === '') throw new TypeError('the name must be a non-empty string');
    if (name.includes('/') || name.includes('\0')) throw new TypeError(`the name must not contain '/' or NUL (got ${JSON.stringify(name)})`);
    const len = nameByteLength(name);
    if (len > NAME_MAX) throw new FuseError(Errno.ENAMETOOLONG, `the name is ${len} bytes; the kernel takes at most ${NAME_MAX}`);
    const b = this.message(code, body, len + 1);
    encodeNameInto(b, OutHeader.SIZE + body, OutHeader.SIZE + body + len, name);
    const namelenAt = code === NotifyCode.DELETE ? NotifyDeleteOut.namelen : NotifyInvalEntryOut.namelen;
    b.writeUInt32LE(len, OutHeader.SIZE + namelenAt);
    return b;
  }
}

function view(b: Buffer): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function checkInt(name: string, v: unknown, lo: number, hi: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    throw new RangeError(`${name} must be an integer from ${lo} to ${hi} (got ${String(v)})`);
  }
}

function checkId(name: string, v: unknown): void {
  checkInt(name, v, 1, 2 ** 53);
}
