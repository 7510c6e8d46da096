// The bridge's file operations: open files by path plus the filesystem's own handle, xattrs and
// locks. Each is present only when the path filesystem has the method behind it, so the kernel
// gets ENOSYS (and stops asking, where it does) exactly as it would from the filesystem itself.
import type { Filesystem, MaybePromise, OpenReply } from '../filesystem.js';
import { createReply } from '../filesystem.js';
import { Errno, FuseError } from '../errors.js';
import { checkName, type BridgeCore } from './core.js';
import { isThenable, then } from './settle.js';
import { childPath } from './table.js';
import type { OpenReturn, Stat } from './types.js';

/** A read's outcome as the inode API takes it: a byte count within `size`, or bytes. */
function readResult(v: number | Uint8Array, size: number): number | Uint8Array {
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new FuseError(Errno.EIO, `read returned ${v}, not a byte count`);
    if (v < 0) throw new FuseError(-v);
    return v > size ? size : v;
  }
  if (v instanceof Uint8Array) return v.length > size ? v.subarray(0, size) : v;
  throw new FuseError(Errno.EIO, `read returned ${String(v)}, not a byte count or bytes`);
}

function writeResult(v: number, size: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new FuseError(Errno.EIO, `write returned ${String(v)}, not a byte count`);
  if (v < 0) throw new FuseError(-v);
  return v > size ? size : v;
}

export function fileOps(c: BridgeCore): Partial<Filesystem> {
  const fs = c.fs;
  const table = c.table;
  const ops: Partial<Filesystem> = {};

  if (fs.open || c.keepCache || c.autoCache) {
    ops.open = (ctx, nodeid, flags) => {
      const node = table.get(nodeid);
      const r: MaybePromise<OpenReturn> = fs.open ? fs.open(node.path, flags, ctx) : undefined;
      if (!c.autoCache) return then(r, (v) => c.openReply(v, undefined, undefined));
      return then(r, (v) => {
        // auto_cache looks at the file as the open leaves it; if that fails the open still stands.
        const plain = (): OpenReply => c.openReply(v, undefined, undefined);
        try {
          const st = c.stat(node.path, undefined, ctx);
          return isThenable<Stat>(st) ? Promise.resolve(st).then((s) => c.openReply(v, node, s), plain) : c.openReply(v, node, st);
        } catch {
          return plain();
        }
      });
    };
  }

  if (fs.create) {
    ops.create = (ctx, parent, name, mode, umask, flags) => {
      const p = c.dir(parent);
      checkName(name);
      const path = childPath(p.path, name);
      return then(fs.create!(path, mode & ~umask, flags, ctx), (r) => {
        const open: OpenReply = c.openReply(r, undefined, undefined);
        const fh = open.fh ?? 0;
        const undo = (e: unknown): never => {
          // The file was created and opened, but cannot be handed out: close it again.
          try { void Promise.resolve(fs.release?.(path, fh, flags, ctx)).catch(() => {}); } catch { /* best effort */ }
          throw e;
        };
        try {
          const st = c.stat(path, fh, ctx);
          const done = (s: Stat) => createReply(c.entry(p, name, s), open);
          return isThenable(st) ? Promise.resolve(st).then(done).then(undefined, undo) : done(st);
        } catch (e) {
          return undo(e);
        }
      });
    };
  }

  if (fs.read) {
    ops.read = (ctx, nodeid, fh, offset, size, out) => {
      const r = fs.read!(table.get(nodeid).path, fh, out, offset, ctx);
      return isThenable<number | Uint8Array>(r) ? Promise.resolve(r).then((v) => readResult(v, size)) : readResult(r, size);
    };
  }

  if (fs.write) {
    ops.write = (ctx, nodeid, fh, offset, data) => {
      const r = fs.write!(table.get(nodeid).path, fh, data, offset, ctx);
      return isThenable<number>(r) ? Promise.resolve(r).then((v) => writeResult(v, data.length)) : writeResult(r, data.length);
    };
  }

  if (fs.flush) ops.flush = (ctx, nodeid, fh) => fs.flush!(table.get(nodeid).path, fh, ctx);
  if (fs.release) ops.release = (ctx, nodeid, fh, flags) => fs.release!(table.get(nodeid).path, fh, flags, ctx);
  if (fs.fsync) ops.fsync = (ctx, nodeid, fh, datasync) => fs.fsync!(table.get(nodeid).path, fh, datasync, ctx);
  if (fs.fallocate) {
    ops.fallocate = (ctx, nodeid, fh, offset, length, mode) => fs.fallocate!(table.get(nodeid).path, fh, offset, length, mode, ctx);
  }
  if (fs.lseek) ops.lseek = (ctx, nodeid, fh, offset, whence) => fs.lseek!(table.get(nodeid).path, fh, offset, whence, ctx);
  if (fs.copyFileRange) {
    ops.copyFileRange = (ctx, nIn, fhIn, offIn, nOut, fhOut, offOut, length, flags) =>
      fs.copyFileRange!(table.get(nIn).path, fhIn, offIn, table.get(nOut).path, fhOut, offOut, length, flags, ctx);
  }

  if (fs.setxattr) {
    ops.setxattr = (ctx, nodeid, name, value, flags) => fs.setxattr!(table.get(nodeid).path, name, value, flags, ctx);
  }
  if (fs.getxattr) {
    ops.getxattr = (ctx, nodeid, name) => then(fs.getxattr!(table.get(nodeid).path, name, ctx), (v) => {
      if (v === null || v === undefined) throw new FuseError(Errno.ENODATA);
      if (!(v instanceof Uint8Array)) throw new FuseError(Errno.EIO, `getxattr returned ${String(v)}, not bytes`);
      return v;
    });
  }
  if (fs.listxattr) ops.listxattr = (ctx, nodeid) => fs.listxattr!(table.get(nodeid).path, ctx);
  if (fs.removexattr) ops.removexattr = (ctx, nodeid, name) => fs.removexattr!(table.get(nodeid).path, name, ctx);

  if (fs.getlk) ops.getlk = (ctx, nodeid, fh, owner, lock) => fs.getlk!(table.get(nodeid).path, fh, owner, lock, ctx);
  if (fs.setlk) ops.setlk = (ctx, nodeid, fh, owner, lock, sleep) => fs.setlk!(table.get(nodeid).path, fh, owner, lock, sleep, ctx);
  if (fs.flock) ops.flock = (ctx, nodeid, fh, owner, operation) => fs.flock!(table.get(nodeid).path, fh, owner, operation, ctx);

  return ops;
}
