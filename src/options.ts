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
  /**
   * Unmount when the daemon dies, even by SIGKILL: a small watcher process (not holding
   * /dev/fuse) aborts the connection and lazily unmounts it. Root mounts with mount(2) as usual;
   * other users go through fusermount3, whose own auto_unmount is asked for too.
   */
  autoUnmount?: boolean;
  /**
   * Clear a dead FUSE mount (its daemon gone, or not answering) at the mount point before
   * mounting, instead of refusing. Only a FUSE mount is ever cleared.
   */
  force?: boolean;
  /**
   * Milliseconds a handler may take before its request is answered ETIMEDOUT (logged once per
   * opcode); its late result is dropped. 0 or absent: no limit. SETLKW (a blocking lock wait) is
   * exempt. While on, handlers work on a private copy of each request, so a handler that settles
   * late cannot touch buffers already given to a later request (a copy per request: see
   * docs/reliability.md).
   */
  requestTimeout?: number;
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
   * io_uring only: after answering a batch with nothing left in JavaScript, watch for the next
   * request this long (µs) before sleeping, so that a waiting caller's next request is served
   * without a wake-up; a queue thread watches as long for JavaScript's answer. Adaptive: it shrinks
   * while the wait finds nothing. Without queue threads it stays off for a while after a request
   * from a caller on the daemon's own CPU (who needs that CPU); with them it yields that CPU
   * instead. 0 turns it off. Default 400. See docs/performance.md.
   */
  pollSpinMicros?: number;
  /**
   * io_uring only: serve each queue's ring from a native thread pinned to the queue's CPU, which
   * hands the requests to JavaScript through shared memory (true), or serve every ring entry from
   * the JavaScript thread itself (false), or switch between the two as the callers come ('auto'):
   * the threads while callers on several CPUs send requests at once, the JavaScript thread while
   * one caller does, or when the threads' hand-offs wait for a CPU that other tasks keep busy. The
   * threads serve several callers at once fastest, but keep two CPUs busy for one caller and slow
   * down badly under CPU contention; see docs/performance.md. Default 'auto' (false when
   * ringSetupFlags has SQPOLL or SINGLE_ISSUER, which need one thread).
   */
  queueThreads?: boolean | 'auto';
  /**
   * io_uring, while the loop's thread serves the ring: when one caller at a time sends requests from another CPU,
   * move the loop's thread to that CPU and run it at SCHED_IDLE there, so that the caller is woken
   * where it sleeps and the pair shares one CPU; it ends as soon as requests come from elsewhere,
   * overlap, or the thread waits for its CPU (docs/performance.md). Needs CAP_SYS_NICE or
   * RLIMIT_NICE (leaving SCHED_IDLE); without either it stays off. Default true.
   */
  followCaller?: boolean;
}

export const MiB = 1024 * 1024;
export const DEFAULTS = { queueDepth: 32, maxWrite: MiB, timeGran: 1, fsName: 'fuse-uring', pollSpinMicros: 400, queueThreads: 'auto', followCaller: true } as const;
export const MAX_WRITE_LIMIT = 16 * MiB;
export const MAX_QUEUE_DEPTH = 4096;
/** requestTimeout bounds: 10 ms … 24 h (0 = off). */
export const MIN_REQUEST_TIMEOUT = 10;
export const MAX_REQUEST_TIMEOUT = 86_400_000;

/** IORING_SETUP_* flags a ring on Node's loop can use (io_uring's uapi numbers). */
export const RingSetup = {
  SQPOLL: 0x2, SQ_AFF: 0x4, CLAMP: 0x10, SUBMIT_ALL: 0x80, COOP_TASKRUN: 0x100, TASKRUN_FLAG: 0x200,
  SQE128: 0x400, CQE32: 0x800, SINGLE_ISSUER: 0x1000, DEFER_TASKRUN: 0x2000,
} as const;
const RING_FLAGS_ALLOWED = RingSetup.SQPOLL | RingSetup.SQ_AFF | RingSetup.CLAMP | RingSetup.SUBMIT_ALL | RingSetup.COOP_TASKRUN
  | RingSetup.TASKRUN_FLAG | RingSetup.SQE128 | RingSetup.CQE32 | RingSetup.SINGLE_ISSUER;

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

const booleans = ['allowOther', 'defaultPermissions', 'autoUnmount', 'force', 'readOnly', 'posixLocks', 'flockLocks',
  'dontMask', 'noOpenSupport', 'noOpendirSupport', 'handleKillpriv', 'passthrough', 'writeback', 'followCaller'] as const;


/** Throws OptionError naming the first invalid option and what it should be. */
export function validateOptions(o: MountOptions): void {
  if (o === null || typeof o !== 'object') throw new OptionError('options must be an object');
  if (o.transport !== undefined && !['auto', 'uring', 'dev'].includes(o.transport)) {
    throw new OptionError(`transport must be 'auto', 'uring' or 'dev' (got ${JSON.stringify(o.transport)})`);
  }
  if (o.queueThreads !== undefined && o.queueThreads !== true && o.queueThreads !== false && o.queueThreads !== 'auto') {
    throw new OptionError(`queueThreads must be true, false or 'auto' (got ${JSON.stringify(o.queueThreads)})`);
  }
  intIn('queueDepth', o.queueDepth, 1, MAX_QUEUE_DEPTH);
  intIn('maxWrite', o.maxWrite, 4096, MAX_WRITE_LIMIT);
  intIn('maxReadahead', o.maxReadahead, 0, 0xffffffff);
  intIn('maxBackground', o.maxBackground, 0, 0xffff);
  intIn('congestionThreshold', o.congestionThreshold, 0, 0xffff);
  intIn('timeGran', o.timeGran, 1, 1e9);
  intIn('ringSetupFlags', o.ringSetupFlags, 0, 0xffffffff);
  intIn('pollSpinMicros', o.pollSpinMicros, 0, 10000);
  if (o.requestTimeout !== undefined && o.requestTimeout !== 0) intIn('requestTimeout', o.requestTimeout, MIN_REQUEST_TIMEOUT, MAX_REQUEST_TIMEOUT);
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
  checkCombinations(o);
}

/** Options that are each valid but contradict each other, or that the kernel would reject. */
function checkCombinations(o: MountOptions): void {
  // The kernel keeps timestamps to a power of ten of nanoseconds (anything else trips a WARN in
  // timestamp_truncate and is not what the user meant).
  if (o.timeGran !== undefined && !/^10*$/.test(String(o.timeGran))) {
    throw new OptionError(`timeGran must be a power of ten from 1 to 1000000000 ns (got ${o.timeGran})`);
  }
  if (o.passthrough === true && o.writeback === true) {
    throw new OptionError('passthrough and writeback exclude each other (the kernel does not combine FUSE passthrough with the writeback cache): choose one');
  }
  if (o.maxBackground && o.congestionThreshold && o.congestionThreshold > o.maxBackground) {
    throw new OptionError(`congestionThreshold (${o.congestionThreshold}) must not be above maxBackground (${o.maxBackground})`);
  }
  const rf = o.ringSetupFlags;
  if (rf !== undefined && rf !== 0) {
    if (o.transport === 'dev') throw new OptionError("ringSetupFlags apply to the io_uring transport, not transport 'dev'");
    if (rf & RingSetup.DEFER_TASKRUN) {
      throw new OptionError('ringSetupFlags: IORING_SETUP_DEFER_TASKRUN (0x2000) cannot be used: the ring fd would never become readable on Node\'s event loop');
    }
    const unknown = rf & ~RING_FLAGS_ALLOWED;
    if (unknown) throw new OptionError(`ringSetupFlags: 0x${unknown.toString(16)} not supported (allowed: SQPOLL, SQ_AFF, CLAMP, SUBMIT_ALL, COOP_TASKRUN, TASKRUN_FLAG, CQE32, SINGLE_ISSUER)`);
    if ((rf & RingSetup.TASKRUN_FLAG) && !(rf & RingSetup.COOP_TASKRUN)) throw new OptionError('ringSetupFlags: TASKRUN_FLAG (0x200) needs COOP_TASKRUN (0x100)');
    if ((rf & RingSetup.SQ_AFF) && !(rf & RingSetup.SQPOLL)) throw new OptionError('ringSetupFlags: SQ_AFF (0x4) needs SQPOLL (0x2)');
    // Unset, queueThreads gives way to these flags (servingModel).
    if ((rf & (RingSetup.SQPOLL | RingSetup.SINGLE_ISSUER)) && o.queueThreads !== undefined && o.queueThreads !== false) {
      throw new OptionError('ringSetupFlags: SQPOLL (0x2) and SINGLE_ISSUER (0x1000) need one thread serving the ring: set queueThreads: false (-o no_queue_threads)');
    }
  }
}

/** Who serves the ring entries: MountOptions.queueThreads, or without it the default unless the
 * ring flags need one thread (SQPOLL, SINGLE_ISSUER). */
export function servingModel(o: MountOptions): boolean | 'auto' {
  if (o.queueThreads !== undefined) return o.queueThreads;
  return (o.ringSetupFlags ?? 0) & (RingSetup.SQPOLL | RingSetup.SINGLE_ISSUER) ? false : DEFAULTS.queueThreads;
}

/** `-o` names, as fusermount/libfuse users write them, onto MountOptions. */
const flagNames: Record<string, keyof MountOptions> = {
  allow_other: 'allowOther', default_permissions: 'defaultPermissions', auto_unmount: 'autoUnmount',
  ro: 'readOnly', posix_locks: 'posixLocks', flock_locks: 'flockLocks', dont_mask: 'dontMask',
  no_open_support: 'noOpenSupport', no_opendir_support: 'noOpendirSupport',
  handle_killpriv: 'handleKillpriv', passthrough: 'passthrough', writeback_cache: 'writeback', writeback: 'writeback',
  queue_threads: 'queueThreads', follow_caller: 'followCaller',
};
const valueNames: Record<string, keyof MountOptions> = {
  fsname: 'fsName', subtype: 'subtype', max_write: 'maxWrite', max_readahead: 'maxReadahead',
  max_background: 'maxBackground', congestion_threshold: 'congestionThreshold', time_gran: 'timeGran',
  queue_depth: 'queueDepth', transport: 'transport', poll_spin_us: 'pollSpinMicros', request_timeout: 'requestTimeout',
};
/** Accepted for compatibility: they are already what fuse-uring does. */
const implied = new Set(['rw', 'nosuid', 'nodev', 'async_read', 'big_writes']);
/** The -o names parseOptionString understands, for --help. */
export const OPTION_NAMES = [...Object.keys(flagNames), ...Object.keys(valueNames).map((n) => `${n}=N`), 'no_default_permissions', 'no_queue_threads', 'queue_threads=auto', 'no_follow_caller', ...implied];

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
    if (name === 'no_queue_threads' && value === undefined) { out.queueThreads = false; continue; }
    if (name === 'queue_threads' && value !== undefined) {
      if (value !== 'auto') throw new OptionError(`-o queue_threads takes no value or =auto (got ${JSON.stringify(value)})`);
      out.queueThreads = 'auto';
      continue;
    }
    if (name === 'no_follow_caller' && value === undefined) { out.followCaller = false; continue; }
    if (implied.has(name) && value === undefined) continue;
    if (flagNames[name] && value === undefined) { out[flagNames[name]] = true; continue; }
    const key = valueNames[name];
    if (key && value !== undefined) {
      const isText = key === 'fsName' || key === 'subtype' || key === 'transport';
      let v: string | number = value;
      if (key === 'requestTimeout') v = parseDuration(value, `-o ${name}=`);
      else if (!isText && !/^\d+$/.test(value)) throw new OptionError(`-o ${name}= needs a number (got ${JSON.stringify(value)})`);
      else if (!isText) v = Number(value);
      // Checked here, so that the message names the -o option the user typed.
      try {
        validateOptions({ [key]: v });
      } catch (e) {
        throw new OptionError(`-o ${name}: ${(e as Error).message.replace(new RegExp(`^${key} `), '')}`);
      }
      out[key] = v;
      continue;
    }
    if (flagNames[name] || key) throw new OptionError(`-o ${name} ${key ? 'needs a value' : 'takes no value'}`);
    throw new OptionError(`unknown mount option -o ${name} (known: ${OPTION_NAMES.join(', ')})`);
  }
  return into;
}

/**
 * A duration in milliseconds: `500` or `500ms`, `30s`, `2m`, `1h`; `0` or `off` for none.
 * Throws OptionError naming `what`.
 */
export function parseDuration(s: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s.trim());
  if (s.trim() === 'off') return 0;
  if (!m) throw new OptionError(`${what} needs a duration like 500ms, 30s or 2m (got ${JSON.stringify(s)})`);
  const ms = Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(ms);
}
