// PathBridge: a PathFilesystem served as an inode-level Filesystem. The inode API has a method
// only where the path filesystem has the one behind it, so ENOSYS and the kernel's "stop asking"
// behave as if the path filesystem were speaking FUSE itself; lookup, forget, getattr, statfs
// and (with readdir) opendir/releasedir are always there, because the bridge needs them for its
// own bookkeeping. Every method maps what the path filesystem throws (settle.ts).
import type { Filesystem } from '../filesystem.js';
import { BridgeCore } from './core.js';
import { dirOps } from './dir-ops.js';
import { fileOps } from './file-ops.js';
import { namespaceOps } from './namespace-ops.js';
import { mapped } from './settle.js';
import type { PathFilesystem, PathOptions } from './types.js';

export class PathBridge {
  /** The inode-level filesystem to mount: `mount(mnt, bridge.filesystem, options)`. */
  readonly filesystem: Filesystem;
  private readonly core: BridgeCore;

  constructor(fs: PathFilesystem, options: PathOptions = {}) {
    if (fs === null || typeof fs !== 'object') throw new TypeError('PathBridge: the filesystem must be an object with path operations');
    this.core = new BridgeCore(fs, options);
    const c = this.core;
    const ops: Record<string, unknown> = {
      ...namespaceOps(c),
      ...fileOps(c),
      ...dirOps(c, options.readdirplus ?? true),
    };
    for (const [k, f] of Object.entries(ops)) {
      if (k !== 'forget' && typeof f === 'function') ops[k] = mapped(f as (...a: unknown[]) => unknown);
    }
    if (fs.init) ops.init = fs.init.bind(fs);
    if (fs.destroy) ops.destroy = fs.destroy.bind(fs);
    this.filesystem = ops as Filesystem;
  }

  /** Nodeids the kernel may hold (the root included): bounded by what it has not forgotten. */
  nodeCount(): number {
    return this.core.table.size;
  }

  /** The path a nodeid stands for now (its last path if its name is gone), or undefined. */
  pathOf(nodeid: number): string | undefined {
    return this.core.table.find(nodeid)?.path;
  }

  /** The paths of every node still named, sorted: what the table believes the kernel knows. */
  knownPaths(): string[] {
    return this.core.table.paths();
  }

  /** The nodeid the kernel knows (parent nodeid, name) by, if any. */
  nodeidOf(parent: number, name: string): number | undefined {
    return this.core.table.find(parent)?.children?.get(name)?.nodeid;
  }
}
