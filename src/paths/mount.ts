// mountPaths(): mount() for a PathFilesystem. The path options are taken out of the options
// object; the rest are the inode API's MountOptions, validated the same way.
import { mount, type Session } from '../session.js';
import type { MountOptions } from '../options.js';
import { PathBridge } from './bridge.js';
import type { PathFilesystem, PathOptions } from './types.js';

export type PathMountOptions = MountOptions & PathOptions;

const PATH_KEYS = ['entryTimeout', 'attrTimeout', 'negativeTimeout', 'useIno', 'readdirplus', 'keepCache', 'autoCache',
  'uid', 'gid', 'umask', 'noforget'] as const satisfies readonly (keyof PathOptions)[];

/** Splits one options object into the bridge's and mount()'s. */
export function splitPathOptions(o: PathMountOptions): { path: PathOptions; mount: MountOptions } {
  const path: Record<string, unknown> = {};
  const rest: Record<string, unknown> = { ...o };
  for (const k of PATH_KEYS) {
    if (k in rest) {
      path[k] = rest[k];
      delete rest[k];
    }
  }
  for (const k of ['entryTimeout', 'attrTimeout', 'negativeTimeout'] as const) {
    const v = path[k];
    if (v !== undefined && (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v))) throw new TypeError(`${k} must be a number of seconds ≥ 0 (got ${String(v)})`);
  }
  for (const k of ['uid', 'gid', 'umask'] as const) {
    const v = path[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 0)) throw new TypeError(`${k} must be a non-negative integer (got ${String(v)})`);
  }
  return { path: path as PathOptions, mount: rest as MountOptions };
}

/**
 * Mounts a path-level filesystem on `mountpoint` and serves it until it is unmounted; resolves
 * once the kernel's INIT is answered. To see the bridge's node table, build the bridge yourself:
 * `const b = new PathBridge(fs, pathOptions); await mount(mnt, b.filesystem, options)`.
 */
export async function mountPaths(mountpoint: string, fs: PathFilesystem, options: PathMountOptions = {}): Promise<Session> {
  const { path, mount: o } = splitPathOptions(options);
  return mount(mountpoint, new PathBridge(fs, path).filesystem, o);
}
