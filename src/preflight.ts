// What this machine allows, checked before anything is mounted: each refusal is one line that
// says what to do. The probe reads /proc, /sys and /etc (never a FUSE mount); the checks are a
// pure function of the options and the probe, so tests give them any machine they like.
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { totalmem } from 'node:os';
import { possibleCpus } from './cpus.js';
import { DEFAULTS, OptionError, type MountOptions } from './options.js';
import { PAGE_SIZE, MIN_READ_BUFFER } from './abi/layout.js';

/** What the checks need to know about the machine. */
export interface Environment {
  euid: number;
  /** Supplementary and effective group ids (for kernel.io_uring_group). */
  groups: readonly number[];
  /** /sys/module/fuse/parameters/enable_uring: undefined when the kernel has no FUSE-over-io_uring. */
  enableUring: boolean | undefined;
  /** /proc/sys/kernel/io_uring_disabled: 0 allowed, 1 only root or io_uring_group, 2 nobody. */
  ioUringDisabled: number;
  /** /proc/sys/kernel/io_uring_group (-1: none). */
  ioUringGroup: number;
  /** /proc/sys/fs/fuse/max_pages_limit. */
  maxPagesLimit: number;
  /** Can this user open /dev/fuse read-write? */
  devFuse: 'ok' | 'missing' | 'denied';
  /** fusermount3 on PATH (undefined: not found), and whether it is setuid root. */
  fusermount3: string | undefined;
  fusermount3Setuid: boolean;
  /** /etc/fuse.conf says user_allow_other. */
  userAllowOther: boolean;
  possibleCpus: number;
  totalMemory: number;
}

/** A sysfs or procfs setting, trimmed; undefined where the kernel has no such file. */
export const readSetting = (path: string): string | undefined => {
  try { return readFileSync(path, 'utf8').trim(); } catch { return undefined; }
};

function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const p = join(dir, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch { /* next */ }
  }
  return undefined;
}

/** Reads the machine's current settings. */
export function probeEnvironment(): Environment {
  const euid = process.geteuid?.() ?? 0;
  const uring = readSetting('/sys/module/fuse/parameters/enable_uring');
  let devFuse: Environment['devFuse'] = 'ok';
  try {
    accessSync('/dev/fuse', constants.R_OK | constants.W_OK);
  } catch (e) {
    devFuse = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'denied';
  }
  const fusermount3 = which('fusermount3');
  let setuid = false;
  if (fusermount3) {
    try {
      const st = statSync(fusermount3);
      setuid = (st.mode & 0o4000) !== 0 && st.uid === 0;
    } catch { /* not found after all */ }
  }
  const conf = readSetting('/etc/fuse.conf') ?? '';
  const limit = Number(readSetting('/proc/sys/fs/fuse/max_pages_limit'));
  return {
    euid,
    groups: [process.getegid?.() ?? 0, ...(process.getgroups?.() ?? [])],
    enableUring: uring === undefined ? undefined : uring === 'Y',
    ioUringDisabled: Number(readSetting('/proc/sys/kernel/io_uring_disabled') ?? 0) || 0,
    ioUringGroup: Number(readSetting('/proc/sys/kernel/io_uring_group') ?? -1),
    maxPagesLimit: Number.isInteger(limit) && limit > 0 ? Math.min(limit, 0xffff) : 256,
    devFuse,
    fusermount3,
    fusermount3Setuid: setuid,
    userAllowOther: /^\s*user_allow_other\s*$/m.test(conf),
    possibleCpus: possibleCpus(),
    totalMemory: totalmem(),
  };
}

export const URING_FIX = 'FUSE-over-io_uring needs Linux ≥ 6.14 with CONFIG_FUSE_IO_URING and the module parameter on: '
  + '`echo Y > /sys/module/fuse/parameters/enable_uring` (as root), or use transport \'dev\'';

/** What the checks decided. */
export interface Plan {
  /** Ask the kernel for FUSE_OVER_IO_URING. */
  tryUring: boolean;
  /** mount(2) as root, fusermount3 otherwise. */
  via: 'mount' | 'fusermount3';
  /** Why 'auto' will not use io_uring (for a note), if it will not. */
  uringUnavailable?: string;
}

/** Why io_uring cannot be used here, or undefined if it can. */
function uringProblem(env: Environment): string | undefined {
  if (env.enableUring === undefined) return `this kernel has no FUSE-over-io_uring. ${URING_FIX}`;
  if (!env.enableUring) return `io_uring is off for FUSE on this machine. ${URING_FIX}`;
  if (env.ioUringDisabled >= 2) {
    return 'io_uring is disabled on this machine (sysctl kernel.io_uring_disabled = 2): as root, `sysctl -w kernel.io_uring_disabled=0`, or use transport \'dev\'';
  }
  if (env.ioUringDisabled === 1 && env.euid !== 0 && !(env.ioUringGroup >= 0 && env.groups.includes(env.ioUringGroup))) {
    return 'io_uring is limited to root and the group kernel.io_uring_group on this machine (sysctl kernel.io_uring_disabled = 1): '
      + 'join that group, run as root, or use transport \'dev\'';
  }
  return undefined;
}

/**
 * Throws OptionError (one line, saying what to do) for what this machine will not allow with
 * these options; otherwise says how to mount. `options` must already have passed validateOptions.
 */
export function preflight(o: MountOptions, env: Environment): Plan {
  const choice = o.transport ?? 'auto';
  const root = env.euid === 0;
  const problem = choice === 'dev' ? undefined : uringProblem(env);
  if (choice === 'uring' && problem) throw new OptionError(problem);
  const tryUring = choice !== 'dev' && problem === undefined;

  // max_write: the kernel caps it at max_pages_limit pages; an explicit larger value is a mistake.
  const limitBytes = env.maxPagesLimit * PAGE_SIZE;
  if (o.maxWrite !== undefined && o.maxWrite > limitBytes) {
    throw new OptionError(`maxWrite ${o.maxWrite} is above this kernel's limit of ${limitBytes} bytes (/proc/sys/fs/fuse/max_pages_limit = ${env.maxPagesLimit} pages): `
      + `use at most ${limitBytes}, or raise the limit as root (echo ${Math.ceil(o.maxWrite / PAGE_SIZE)} > /proc/sys/fs/fuse/max_pages_limit)`);
  }
  const maxWrite = Math.min(o.maxWrite ?? DEFAULTS.maxWrite, limitBytes);
  const payload = Math.max(MIN_READ_BUFFER, maxWrite, Math.ceil(maxWrite / PAGE_SIZE) * PAGE_SIZE);
  const depth = o.queueDepth ?? DEFAULTS.queueDepth;
  if (tryUring) {
    const entries = env.possibleCpus * depth;
    // The addon's ring holds every entry plus 8, rounded up to a power of two, within io_uring's 32768.
    if (entries > 32760) {
      throw new OptionError(`queueDepth ${depth} × ${env.possibleCpus} queues (one per possible CPU) = ${entries} ring entries, more than io_uring allows (32760): `
        + `use queueDepth ≤ ${Math.floor(32760 / env.possibleCpus)}${choice === 'auto' ? ", or transport 'dev'" : ''}`);
    }
  }
  // The buffers are only touched as requests fill them, so this refuses only what could never
  // work: more buffer than the machine has memory.
  const slots = tryUring ? env.possibleCpus * depth + 2 : depth;
  const bytes = slots * (payload + 4096);
  if (bytes > env.totalMemory) {
    throw new OptionError(`${slots} request buffers of ${payload} bytes (queueDepth ${depth}${tryUring ? ` × ${env.possibleCpus} queues` : ''}, maxWrite ${maxWrite}) `
      + `need ${gib(bytes)}, more than this machine's ${gib(env.totalMemory)} of memory: lower queueDepth or maxWrite`);
  }

  if (root) {
    if (env.devFuse === 'missing') throw new OptionError(DEV_FUSE_MISSING);
    return { tryUring, via: 'mount', ...(problem && choice === 'auto' ? { uringUnavailable: problem } : {}) };
  }
  // Everyone else mounts through fusermount3, which is setuid root and opens /dev/fuse as the user.
  if (!env.fusermount3) {
    throw new OptionError('mounting as a non-root user needs fusermount3 (Debian/Ubuntu: apt-get install fuse3), or run as root');
  }
  if (!env.fusermount3Setuid) {
    throw new OptionError(`${env.fusermount3} is not setuid root, so it cannot mount for other users: as root, \`chmod u+s ${env.fusermount3}\` (or reinstall fuse3), or run as root`);
  }
  if (env.devFuse === 'missing') throw new OptionError(DEV_FUSE_MISSING);
  if (env.devFuse === 'denied') {
    throw new OptionError('/dev/fuse is not readable and writable by you: as root, `chmod 0666 /dev/fuse` (the distributions\' default), or run as root');
  }
  if (o.allowOther && !env.userAllowOther) {
    throw new OptionError('allow_other for a non-root user needs `user_allow_other` in /etc/fuse.conf (as root: echo user_allow_other >> /etc/fuse.conf), or run as root');
  }
  if (o.passthrough) {
    throw new OptionError('passthrough needs root (the kernel allows backing files only with CAP_SYS_ADMIN): run as root or leave passthrough off');
  }
  return { tryUring, via: 'fusermount3', ...(problem && choice === 'auto' ? { uringUnavailable: problem } : {}) };
}

const DEV_FUSE_MISSING = '/dev/fuse does not exist: load the module as root (`modprobe fuse`) or, in a container, pass the device (--device /dev/fuse)';

function gib(n: number): string {
  return `${(n / 2 ** 30).toFixed(1)} GiB`;
}
