// The bridge's namespace operations: names → paths, replies → entries, and the node table kept
// in step with what succeeded (lookup counts, unlink, rename of whole subtrees).
import type { Entry, Filesystem, MaybePromise, RequestContext, SetattrIn } from '../filesystem.js';
import { Errno, FuseError } from '../errors.js';
import { Rename } from '../abi/flags.js';
import { bufferToName } from '../abi/names.js';
import { S_IFMT, S_IFREG, timeSpec, toStatfs } from './attr.js';
import { checkName, type BridgeCore } from './core.js';
import { mapError, then } from './settle.js';
import { childPath } from './table.js';
import type { PathFilesystem } from './types.js';

const O_WRONLY = 1, O_CREAT = 0o100, O_EXCL = 0o200;

function need<K extends keyof PathFilesystem>(fs: PathFilesystem, k: K): NonNullable<PathFilesystem[K]> {
  const f = fs[k];
  if (typeof f !== 'function') throw new FuseError(Errno.ENOSYS, `the filesystem has no ${String(k)}()`);
  return f.bind(fs) as NonNullable<PathFilesystem[K]>;
}

/** SETATTR as libfuse's high-level API splits it: chmod, chown, truncate, utimens, then getattr. */
async function setattr(c: BridgeCore, ctx: RequestContext, nodeid: number, s: SetattrIn) {
  const node = c.table.get(nodeid);
  const fs = c.fs;
  const fh = s.fh;
  if (s.mode !== undefined) await need(fs, 'chmod')(node.path, s.mode, fh, ctx);
  if (s.uid !== undefined || s.gid !== undefined) await need(fs, 'chown')(node.path, s.uid ?? -1, s.gid ?? -1, fh, ctx);
  if (s.size !== undefined) await need(fs, 'truncate')(node.path, s.size, fh, ctx);
  const atime = timeSpec(s.atime, s.atimensec, s.atimeNow);
  const mtime = timeSpec(s.mtime, s.mtimensec, s.mtimeNow);
  if (atime !== undefined || mtime !== undefined) await need(fs, 'utimens')(node.path, atime, mtime, fh, ctx);
  return c.attrReply(await c.stat(node.path, fh, ctx), node);
}

export function namespaceOps(c: BridgeCore): Partial<Filesystem> {
  const fs = c.fs;
  const table = c.table;
  const ops: Partial<Filesystem> = {
    lookup(ctx, parent, name) {
      const p = c.dir(parent);
      checkName(name);
      if (c.negativeTimeout === 0) return then(c.stat(childPath(p.path, name), undefined, ctx), (st) => c.entry(p, name, st));
      const neg = (e: unknown): Entry => c.negative(mapError(e));
      try {
        const r = then(c.stat(childPath(p.path, name), undefined, ctx), (st) => c.entry(p, name, st));
        return r instanceof Promise ? r.catch(neg) : r;
      } catch (e) {
        return neg(e);
      }
    },

    forget(nodeid, nlookup) {
      if (!c.noforget) table.forget(nodeid, nlookup);
    },

    getattr(ctx, nodeid, fh) {
      const node = table.get(nodeid);
      if (fs.getattr === undefined && node === table.root) return c.rootAttr();
      return then(c.stat(node.path, fh, ctx), (st) => c.attrReply(st, node));
    },

    statfs(ctx, nodeid) {
      if (fs.statfs === undefined) return toStatfs(undefined);
      return then(fs.statfs(table.get(nodeid).path, ctx), toStatfs);
    },
  };

  if (fs.chmod || fs.chown || fs.truncate || fs.utimens) ops.setattr = (ctx, nodeid, s) => setattr(c, ctx, nodeid, s);

  if (fs.mkdir) {
    ops.mkdir = (ctx, parent, name, mode, umask) => {
      checkName(name);
      const p = c.dir(parent);
      const path = childPath(p.path, name);
      return then(fs.mkdir!(path, mode & ~umask, ctx), () => c.created(p, name, path, ctx));
    };
  }

  if (fs.mknod || fs.create) {
    ops.mknod = (ctx, parent, name, mode, rdev, umask) => {
      checkName(name);
      const p = c.dir(parent);
      const path = childPath(p.path, name);
      const m = mode & ~umask;
      let made: MaybePromise<unknown>;
      if (fs.mknod) made = fs.mknod(path, m, rdev, ctx);
      else if ((mode & S_IFMT) === S_IFREG) {
        // libfuse's way for a filesystem with create but no mknod: create, then release.
        const flags = O_CREAT | O_EXCL | O_WRONLY;
        made = then(fs.create!(path, m, flags, ctx), (r) => {
          const fh = typeof r === 'number' ? r : (r && typeof r === 'object' ? r.fh ?? 0 : 0);
          return fs.release?.(path, fh, flags, ctx);
        });
      } else throw new FuseError(Errno.ENOSYS, 'the filesystem has no mknod() for this file type');
      return then(made, () => c.created(p, name, path, ctx));
    };
  }

  if (fs.symlink) {
    ops.symlink = (ctx, parent, name, target) => {
      checkName(name);
      const p = c.dir(parent);
      const path = childPath(p.path, name);
      return then(fs.symlink!(target, path, ctx), () => c.created(p, name, path, ctx));
    };
  }

  if (fs.link) {
    ops.link = (ctx, nodeid, newparent, newname) => {
      checkName(newname);
      const src = table.get(nodeid);
      const p = c.dir(newparent);
      const path = childPath(p.path, newname);
      return then(fs.link!(src.path, path, ctx), () => then(c.stat(path, undefined, ctx), (st) => c.linked(src, p, newname, st)));
    };
  }

  if (fs.unlink) {
    ops.unlink = (ctx, parent, name) => {
      const p = c.dir(parent);
      return then(fs.unlink!(childPath(p.path, name), ctx), () => table.detach(p, name));
    };
  }

  if (fs.rmdir) {
    ops.rmdir = (ctx, parent, name) => {
      const p = c.dir(parent);
      return then(fs.rmdir!(childPath(p.path, name), ctx), () => table.detach(p, name));
    };
  }

  if (fs.rename) {
    ops.rename = (ctx, parent, name, newparent, newname, flags) => {
      checkName(newname);
      const p = c.dir(parent);
      const np = c.dir(newparent);
      return then(fs.rename!(childPath(p.path, name), childPath(np.path, newname), flags, ctx), () => {
        if (flags & Rename.EXCHANGE) table.exchange(p, name, np, newname);
        else table.move(p, name, np, newname);
      });
    };
  }

  if (fs.readlink) {
    ops.readlink = (ctx, nodeid) => then(fs.readlink!(table.get(nodeid).path, ctx), (t) => {
      if (typeof t === 'string') return t;
      if (t instanceof Uint8Array) return bufferToName(t);
      throw new FuseError(Errno.EIO, `readlink returned ${String(t)}, not a string or bytes`);
    });
  }

  if (fs.access) ops.access = (ctx, nodeid, mask) => fs.access!(table.get(nodeid).path, mask, ctx);

  return ops;
}
