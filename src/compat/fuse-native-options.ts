// fuse-native's options (libfuse 2's -o names in camelCase, plus its own force/mkdir/timeout)
// onto fuse-uring's MountOptions and the path bridge's PathOptions. What has no meaning on Linux
// or no counterpart here is accepted and noted (printed with debug), never refused: a
// fuse-native program must start unchanged.
import type { MountOptions } from '../options.js';
import type { PathOptions } from '../paths/types.js';

export interface FuseNativeOptions {
  [k: string]: unknown;
  force?: boolean;
  mkdir?: boolean;
  debug?: boolean;
  displayFolder?: unknown;
  name?: string;
  timeout?: number | false | Record<string, number | false>;
  allowOther?: boolean;
  allowRoot?: boolean;
  autoUnmount?: boolean;
  defaultPermissions?: boolean;
  fsname?: string;
  subtype?: string;
  kernelCache?: boolean;
  autoCache?: boolean;
  umask?: number;
  uid?: number;
  gid?: number;
  entryTimeout?: number;
  attrTimeout?: number;
  noforget?: boolean;
}

export interface MappedOptions {
  mount: MountOptions;
  path: PathOptions;
  force: boolean;
  mkdir: boolean;
  debug: boolean;
  /** One line per option that was accepted but does nothing here. */
  notes: string[];
}

/** fuse-uring's own options, passed through when a program (or a migration) sets them. */
const NATIVE_KEYS = ['transport', 'queueDepth', 'maxWrite', 'maxReadahead', 'maxBackground', 'congestionThreshold',
  'timeGran', 'readOnly', 'posixLocks', 'flockLocks', 'dontMask', 'writeback', 'signal', 'log', 'pollSpinMicros',
  'fsName', 'negativeTimeout', 'useIno', 'readdirplus'] as const;

const IGNORED: Record<string, string> = {
  displayFolder: 'macOS only (volume name and icon)',
  name: 'macOS only (the volume name for displayFolder)',
  blkdev: 'fuseblk (block-device mounts) is not supported',
  blksize: 'fuseblk (block-device mounts) is not supported',
  fd: 'fuse-uring opens /dev/fuse itself',
  userId: 'the mount\'s user_id is the daemon\'s own uid',
  modules: 'libfuse stacking modules do not exist here',
  acAttrTimeout: 'the attribute timeout is attrTimeout',
  remember: 'nodeids are forgotten when the kernel forgets them (or never, with noforget)',
  maxRead: 'the kernel\'s max_read mount option is not set (reads are bounded by the negotiated max_pages)',
  bindings: 'fuse-uring has no separate native bindings to choose',
  timeout: '',
  force: '', mkdir: '', debug: '',
};

const DEBUG_ENV = /\*|(^|,)fuse-bindings(,|$)/;

export function mapOptions(o: FuseNativeOptions, transportEnv: string | undefined): MappedOptions {
  const notes: string[] = [];
  const mount: MountOptions = {};
  const path: PathOptions = { useIno: false, readdirplus: false };
  const debug = !!o.debug || DEBUG_ENV.test(process.env.DEBUG ?? '');
  if (debug) mount.debug = true;
  if (o.allowOther) mount.allowOther = true;
  if (o.allowRoot) {
    if (process.geteuid?.() === 0) notes.push('allowRoot: the daemon runs as root, who is let in anyway');
    else notes.push('allowRoot: not supported (there is no allow_root here); use allowOther');
  }
  if (o.autoUnmount) mount.autoUnmount = true;
  if (o.defaultPermissions) mount.defaultPermissions = true;
  if (typeof o.fsname === 'string' && o.fsname !== '') mount.fsName = o.fsname;
  if (typeof o.subtype === 'string' && o.subtype !== '') mount.subtype = o.subtype;
  if (o.kernelCache) path.keepCache = true;
  if (o.autoCache) path.autoCache = true;
  for (const k of ['umask', 'uid', 'gid'] as const) if (typeof o[k] === 'number') path[k] = o[k];
  // libfuse 2's defaults (1 s each); fuse-native passes them only when truthy.
  if (typeof o.entryTimeout === 'number' && o.entryTimeout > 0) path.entryTimeout = o.entryTimeout;
  if (typeof o.attrTimeout === 'number' && o.attrTimeout > 0) path.attrTimeout = o.attrTimeout;
  if (o.noforget) path.noforget = true;
  for (const [k, why] of Object.entries(IGNORED)) {
    if (o[k] !== undefined && o[k] !== false && why !== '') notes.push(`${k}: ignored — ${why}`);
  }
  for (const k of NATIVE_KEYS) {
    if (o[k] === undefined) continue;
    if (k === 'negativeTimeout' || k === 'useIno' || k === 'readdirplus') (path as Record<string, unknown>)[k] = o[k];
    else (mount as Record<string, unknown>)[k] = o[k];
  }
  if (mount.transport === undefined && transportEnv !== undefined && transportEnv !== '') {
    mount.transport = transportEnv as MountOptions['transport'];
  }
  const known = new Set<string>([...Object.keys(IGNORED), ...NATIVE_KEYS, 'allowOther', 'allowRoot', 'autoUnmount',
    'defaultPermissions', 'fsname', 'subtype', 'kernelCache', 'autoCache', 'umask', 'uid', 'gid', 'entryTimeout',
    'attrTimeout', 'noforget']);
  for (const k of Object.keys(o)) if (!known.has(k)) notes.push(`${k}: not a fuse-native option, ignored`);
  return { mount, path, force: !!o.force, mkdir: !!o.mkdir, debug, notes };
}

/** The auto-timeout (ms) for one operation: fuse-native's 15 s default, false/0 for none. */
export function timeoutFor(t: FuseNativeOptions['timeout'], op: string): number {
  const DEFAULT = 15_000;
  if (t === false) return 0;
  if (t === undefined || t === null) return DEFAULT;
  if (typeof t === 'number') return t > 0 ? t : DEFAULT;
  if (typeof t === 'object') {
    const v = t[op];
    if (v === false) return 0;
    if (typeof v === 'number' && v > 0) return v;
    const d = t.default;
    return typeof d === 'number' && d > 0 ? d : DEFAULT;
  }
  return DEFAULT;
}
