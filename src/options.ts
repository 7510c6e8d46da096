// Mount options: their validation (before anything is mounted) and the `-o a,b=c` form the CLI
// and fusermount users know.

export type TransportChoice = 'auto' | 'uring' | 'dev';

export interface MountOptions {
  /** 'auto' (default): io_uring when the kernel offers it, /dev/fuse otherwise. */
  transport?: TransportChoice;
  /** Ring entries per queue (io_uring) or read buffers (/dev/fuse). Default 32. */
  queueDepth?: number;
  /** Largest WRITE the kernel sends, 4 KiB … 16 MiB; capped by /proc/sys/fs/fuse/max_pages_limit. Default 1 MiB. */
  maxWrite?: number;
  /** Largest readahead; default the kernel's offer. */
  maxReadahead?: number;
  /** Background requests the kernel keeps in flight (0: kernel default). */
  maxBackground?: number;
  congestionThreshold?: number;
  /** Timestamp granularity in ns, 1 … 1e9. Default 1. */
  timeGran?: number;
  /** The "device" column of /proc/mounts. Default 'fuse-uring'. */
  fsName?: string;
  /** Shown as fuse.<subtype> in /proc/mounts. */
  subtype?: string;
  /** Let other users (root included) in. Off unless asked for. */
  allowOther?: boolean;
  /** The kernel checks permissions from the attributes. */
  defaultPermissions?: boolean;
  /** fusermount3 unmounts when the daemon dies (mounts through fusermount3 even as root). */
  autoUnmount?: boolean;
  readOnly?: boolean;
  posixLocks?: boolean;
  flockLocks?: boolean;
  dontMask?: boolean;
  noOpenSupport?: boolean;
  noOpendirSupport?: boolean;
  handleKillpriv?: boolean;
  /** FUSE_PASSTHROUGH (backing files); exclusive with writeback, and wins over it. */
  passthrough?: boolean;
  writeback?: boolean;
  /** true: trace every request and reply to stderr; a function: to it. */
  debug?: boolean | ((line: string) => void);
  /** Where problems are logged (default: stderr with a "fuse-uring:" prefix). */
  log?: (line: string) => void;
  /** Aborting it unmounts the filesystem. */
  signal?: AbortSignal;
  /** Extra IORING_SETUP_* flags for the ring (advanced; see docs). */
  ringSetupFlags?: number;
  /**
   * io_uring only: after answering a batch with nothing left in JavaScript, watch the completion
   * queue this long (µs) before sleeping, so that the next request of a waiting caller is served
   * without a wake-up. Adaptive: it shrinks while the wait finds nothing. 0 turns it off.
   * Default 50. See docs/performance.md.
   */
  pollSpinMicros?: number;
}

export const MiB = 1024 * 1024;
export const DEFAULTS = { queueDepth: 32, maxWrite: MiB, timeGran: 1, fsName: 'fuse-uring', pollSpinMicros: 50 } as const;
export const MAX_WRITE_LIMIT = 16 * MiB;
export const MAX_QUEUE_DEPTH = 4096;

export class OptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OptionError';
  }
}

function intIn(name: string, v: unknown, lo: number, hi: number): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    throw new OptionError(`${name} must be an integer from ${lo} to ${hi} (got ${String(v)})`);
  }
}

const booleans = ['allowOther', 'defaultPermissions', 'autoUnmount', 'readOnly', 'posixLocks', 'flockLocks',
  'dontMask', 'noOpenSupport', 'noOpendirSupport', 'handleKillpriv', 'passthrough', 'writeback'] as const;

/** Throws OptionError naming the first invalid option and what it should be. */
export function validateOptions(o: MountOptions): void {
  if (o === null || typeof o !== 'object') throw new OptionError('options must be an object');
  if (o.transport !== undefined && !['auto', 'uring', 'dev'].includes(o.transport)) {
    throw new OptionError(`transport must be 'auto', 'uring' or 'dev' (got ${JSON.stringify(o.transport)})`);
  }
  intIn('queueDepth', o.queueDepth, 1, MAX_QUEUE_DEPTH);
  intIn('maxWrite', o.maxWrite, 4096, MAX_WRITE_LIMIT);
  intIn('maxReadahead', o.maxReadahead, 0, 0xffffffff);
  intIn('maxBackground', o.maxBackground, 0, 0xffff);
  intIn('congestionThreshold', o.congestionThreshold, 0, 0xffff);
  intIn('timeGran', o.timeGran, 1, 1e9);
  intIn('ringSetupFlags', o.ringSetupFlags, 0, 0xffffffff);
  intIn('pollSpinMicros', o.pollSpinMicros, 0, 10000);
  for (const k of booleans) {
    if (o[k] !== undefined && typeof o[k] !== 'boolean') throw new OptionError(`${k} must be true or false (got ${String(o[k])})`);
  }
  for (const k of ['fsName', 'subtype'] as const) {
    const v = o[k];
    if (v === undefined) continue;
    if (typeof v !== 'string' || v === '' || /[,\s\0\\]/.test(v)) {
      throw new OptionError(`${k} must be a non-empty string without commas, spaces or backslashes (got ${JSON.stringify(v)})`);
    }
  }
  if (o.debug !== undefined && typeof o.debug !== 'boolean' && typeof o.debug !== 'function') {
    throw new OptionError('debug must be a boolean or a function(line)');
  }
  if (o.log !== undefined && typeof o.log !== 'function') throw new OptionError('log must be a function(line)');
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw new OptionError('signal must be an AbortSignal');
}

/** `-o` names, as fusermount/libfuse users write them, onto MountOptions. */
const flagNames: Record<string, keyof MountOptions> = {
  allow_other: 'allowOther', default_permissions: 'defaultPermissions', auto_unmount: 'autoUnmount',
  ro: 'readOnly', posix_locks: 'posixLocks', flock_locks: 'flockLocks', dont_mask: 'dontMask',
  no_open_support: 'noOpenSupport', no_opendir_support: 'noOpendirSupport',
  handle_killpriv: 'handleKillpriv', passthrough: 'passthrough', writeback_cache: 'writeback', writeback: 'writeback',
};
const valueNames: Record<string, keyof MountOptions> = {
  fsname: 'fsName', subtype: 'subtype', max_write: 'maxWrite', max_readahead: 'maxReadahead',
  max_background: 'maxBackground', congestion_threshold: 'congestionThreshold', time_gran: 'timeGran',
  queue_depth: 'queueDepth', transport: 'transport', poll_spin_us: 'pollSpinMicros',
};
/** Accepted for compatibility: they are already what fuse-uring does. */
const implied = new Set(['rw', 'nosuid', 'nodev', 'async_read', 'big_writes']);
/** The -o names parseOptionString understands, for --help. */
export const OPTION_NAMES = [...Object.keys(flagNames), ...Object.keys(valueNames).map((n) => `${n}=N`), 'no_default_permissions', ...implied];

/**
 * Parses "allow_other,fsname=x,max_write=131072". `no_default_permissions` sets
 * defaultPermissions to false. Unknown names throw OptionError.
 */
export function parseOptionString(s: string, into: MountOptions = {}): MountOptions {
  const out = into as Record<string, unknown>;
  for (const raw of s.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    const name = eq < 0 ? item : item.slice(0, eq);
    const value = eq < 0 ? undefined : item.slice(eq + 1);
    if (name === 'no_default_permissions' && value === undefined) { out.defaultPermissions = false; continue; }
    if (implied.has(name) && value === undefined) continue;
    if (flagNames[name] && value === undefined) { out[flagNames[name]] = true; continue; }
    const key = valueNames[name];
    if (key && value !== undefined) {
      const isText = key === 'fsName' || key === 'subtype' || key === 'transport';
      if (!isText && !/^\d+$/.test(value)) throw new OptionError(`-o ${name}= needs a number (got ${JSON.stringify(value)})`);
      out[key] = isText ? value : Number(value);
      continue;
    }
    if (flagNames[name] || key) throw new OptionError(`-o ${name} ${key ? 'needs a value' : 'takes no value'}`);
    throw new OptionError(`unknown mount option -o ${name} (known: ${OPTION_NAMES.join(', ')})`);
  }
  return into;
}
