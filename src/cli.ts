#!/usr/bin/env node
// fuse-uring memfs <mountpoint> | fuse-uring mirror <source> <mountpoint> | fuse-uring unmount <mountpoint>
import { realpathSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { mount, uringParameter, type Session } from './session.js';
import {
  MAX_QUEUE_DEPTH, MAX_REQUEST_TIMEOUT, MIN_REQUEST_TIMEOUT, OptionError, OPTION_NAMES, parseDuration, parseOptionString,
  validateOptions, type MountOptions,
} from './options.js';
import { fuseMountAt, fusermountUnmount } from './mount.js';
import { preflight, probeEnvironment } from './preflight.js';
import { native } from './native.js';
import { MemFs } from './fs/memfs/index.js';
import { MirrorFs } from './fs/mirror/index.js';
import { Init } from './abi/flags.js';

const HELP = `Usage:
  fuse-uring memfs <mountpoint> [options]   mount an in-memory read-write filesystem
  fuse-uring mirror <source> <mountpoint> [options]
                                            present the directory tree <source>, every operation
                                            applied to it (symlinks in it are never followed by
                                            the daemon; file data by FUSE passthrough when root)
  fuse-uring unmount <mountpoint>           unmount (also a dead mount left by a crashed daemon)

Options:
  --transport auto|uring|dev   FUSE-over-io_uring, classic /dev/fuse, or io_uring when available (default auto)
  --queue-depth N              ring entries per queue / read buffers (default 32)
  --size BYTES                 memfs: capacity; writes beyond it fail with ENOSPC (suffixes K, M, G)
  --no-passthrough             mirror: serve file data in userspace (READ/WRITE through the daemon)
                               instead of FUSE passthrough (on by default when run as root)
  --fd-cache N                 mirror: O_PATH fds kept open for inodes (default 2048; the rest are
                               found again by name when needed)
  -o opt[,opt...]              mount options: ${OPTION_NAMES.join(', ')}
                               default_permissions is on (the kernel checks permissions) unless
                               -o no_default_permissions (memfs then checks them itself, mirror
                               leaves them to the source); -o allow_other lets other users in
  --force                      clear a dead FUSE mount (crashed daemon) at the mount point first
  --request-timeout T          answer ETIMEDOUT for a request not answered within T (500ms, 30s, 2m;
                               default: no limit)
  --debug                      print one line per request and reply to stderr
  -h, --help                   this text

Runs in the foreground; Ctrl-C (SIGINT) or SIGTERM unmounts and exits 0, as does an unmount from
outside (umount, fusermount3 -u); an abort of the connection (/sys/fs/fuse/connections/N/abort)
exits 1. -o auto_unmount takes the mount off even when the daemon is killed (SIGKILL).
io_uring needs Linux >= 6.14 and /sys/module/fuse/parameters/enable_uring = Y (set here when run
as root).`;

class UsageError extends Error {}

function fail(message: string, code = 1): never {
  process.stderr.write(`fuse-uring: ${message}\n`);
  process.exit(code);
}

function parseSize(s: string): number {
  const m = /^(\d+)([KMGT]?)i?B?$/i.exec(s.trim());
  if (!m) throw new UsageError(`--size needs a number of bytes like 512M (got ${JSON.stringify(s)})`);
  const mult = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G' | 'T'];
  const n = Number(m[1]) * mult;
  if (n < 4096 || !Number.isSafeInteger(n)) throw new UsageError(`--size must be from 4K to 8192T (got ${JSON.stringify(s)})`);
  return n;
}

/**
 * Checks what the machine allows before anything else happens (mount() checks again), and says
 * once why 'auto' will serve over /dev/fuse when io_uring is unusable for a reason other than
 * the switch ensureUring() already spoke about.
 */
function checkMachine(o: MountOptions): void {
  const plan = preflight(o, probeEnvironment());
  if (plan.uringUnavailable && uringParameter() === true) {
    process.stderr.write(`fuse-uring: serving over /dev/fuse: ${plan.uringUnavailable}\n`);
  }
}

/** Waits for the session to end; an aborted connection is a failure the user should hear of. */
async function serveUntilClosed(session: Session): Promise<never> {
  try {
    await session.closed;
  } catch (e) {
    fail(`the session failed: ${(e as Error).message}`);
  }
  if (session.aborted) {
    fail(`the FUSE connection of ${session.mountpoint} was aborted (through /sys/fs/fuse/connections/${session.connection.id}/abort, or by the kernel): `
      + 'requests in flight failed with ECONNABORTED; the mount has been taken off');
  }
  process.exit(0);
}

/** Turns on enable_uring when we can (root); says what to do when we cannot. */
function ensureUring(choice: string): void {
  if (choice === 'dev' || uringParameter() !== false) return;
  try {
    writeFileSync('/sys/module/fuse/parameters/enable_uring', 'Y');
  } catch (e) {
    const how = 'run `echo Y > /sys/module/fuse/parameters/enable_uring` as root';
    if (choice === 'uring') throw new OptionError(`io_uring is off for FUSE and could not be turned on (${(e as Error).message}): ${how}`);
    process.stderr.write(`fuse-uring: io_uring is off for FUSE, serving over /dev/fuse (to use io_uring, ${how})\n`);
  }
}

async function runMemfs(mountpoint: string, o: MountOptions, size: number | undefined): Promise<void> {
  validateOptions(o);
  ensureUring(o.transport ?? 'auto');
  checkMachine(o);
  // Without default_permissions the kernel checks nothing: memfs checks permissions itself.
  const fs = new MemFs({ sizeLimit: size, uid: process.getuid?.(), gid: process.getgid?.(), checkPermissions: o.defaultPermissions !== true });
  let session: Session | undefined;
  const ac = new AbortController();
  const onSignal = (): void => { ac.abort(); };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  session = await mount(mountpoint, fs, { ...o, signal: ac.signal, subtype: o.subtype ?? 'memfs' });
  const c = session.connection;
  process.stderr.write(`fuse-uring: memfs mounted at ${session.mountpoint} (transport ${c.transport}${c.transport === 'uring' ? `, ${c.queues} queues × ${c.queueDepth}` : `, ${c.queueDepth} buffers`}, max_write ${c.maxWrite})\n`);
  await serveUntilClosed(session);
}

async function runMirror(source: string, mountpoint: string, o: MountOptions, noPassthrough: boolean,
  fdCache: number | undefined): Promise<void> {
  validateOptions(o);
  const root = native.geteuid() === 0;
  const passthrough = root && !noPassthrough;
  if (passthrough && o.writeback) {
    throw new UsageError('-o writeback_cache needs --no-passthrough: FUSE passthrough (on by default as root) and the writeback cache exclude each other');
  }
  checkNotInside(source, mountpoint);
  ensureUring(o.transport ?? 'auto');
  checkMachine({ ...o, passthrough });
  if (root && o.defaultPermissions !== true) {
    process.stderr.write('fuse-uring: warning: without default_permissions the kernel checks no permissions and the daemon '
      + 'acts as root: whoever reaches the mount may change anything in the source\n');
  }
  let fs: MirrorFs;
  try {
    fs = new MirrorFs(source, { passthrough, ...(fdCache === undefined ? {} : { maxCachedFds: fdCache }) });
  } catch (e) {
    throw new UsageError(`cannot mirror ${source}: ${(e as Error).message}`);
  }
  const ac = new AbortController();
  const onSignal = (): void => { ac.abort(); };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const { resolve } = await import('node:path');
  const abs = resolve(source);
  const session = await mount(mountpoint, fs, {
    ...o, passthrough, signal: ac.signal, subtype: o.subtype ?? 'mirror',
    fsName: o.fsName ?? (/^[^,\s\\]+$/.test(abs) ? abs : undefined),
  });
  fs.attach(session);
  const c = session.connection;
  let pt: string;
  if (fs.passthroughActive) pt = 'passthrough on';
  else if (noPassthrough) pt = 'passthrough off (--no-passthrough)';
  else if (!root) pt = 'passthrough off (it needs root)';
  else {
    pt = 'passthrough off';
    process.stderr.write((c.offered & Init.PASSTHROUGH) === 0n
      ? 'fuse-uring: the kernel does not offer FUSE passthrough (Linux 6.9+ with CONFIG_FUSE_PASSTHROUGH): file data goes through the daemon\n'
      : 'fuse-uring: FUSE passthrough was not negotiated: file data goes through the daemon\n');
  }
  process.stderr.write(`fuse-uring: mirror of ${abs} mounted at ${session.mountpoint} (transport ${c.transport}${c.transport === 'uring' ? `, ${c.queues} queues × ${c.queueDepth}` : `, ${c.queueDepth} buffers`}, max_write ${c.maxWrite}, ${pt})\n`);
  await serveUntilClosed(session);
}

/**
 * A mount point inside the mirrored tree would make the daemon look up its own mount (the
 * mirror resolves names in the source synchronously, on the loop that serves the mount): the
 * first walk into it would deadlock. The mount point is resolved through its parent, never
 * stat'ed itself (it may be a dead FUSE mount that --force is about to clear).
 */
function checkNotInside(source: string, mountpoint: string): void {
  let src: string;
  let mnt: string;
  try {
    src = realpathSync(source);
    const abs = resolve(mountpoint);
    mnt = join(realpathSync(dirname(abs)), basename(abs));
  } catch {
    return; // a missing path is reported by the mirror or the mount, with its own message
  }
  if (mnt === src || mnt.startsWith(src === '/' ? '/' : `${src}/`)) {
    throw new UsageError(`the mount point ${mnt} is inside the source ${src}: the mirror would look up its own mount and deadlock; choose a mount point outside ${src}`);
  }
}

async function runUnmount(mountpoint: string): Promise<void> {
  const { resolve } = await import('node:path');
  const abs = resolve(mountpoint);
  if (!fuseMountAt(abs)) throw new UsageError(`${abs} is not a FUSE mount`);
  if (native.geteuid() === 0) native.umount(abs, 2 /* MNT_DETACH */);
  else await fusermountUnmount(abs);
  process.stderr.write(`fuse-uring: unmounted ${abs}\n`);
}

async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv, allowPositionals: true, strict: true,
      options: {
        transport: { type: 'string' }, 'queue-depth': { type: 'string' }, size: { type: 'string' },
        'no-passthrough': { type: 'boolean' }, 'fd-cache': { type: 'string' }, force: { type: 'boolean' },
        'request-timeout': { type: 'string' },
        o: { type: 'string', short: 'o', multiple: true }, debug: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new UsageError(`${(e as Error).message} (see --help)`);
  }
  const v = parsed.values;
  if (v.help) { process.stdout.write(HELP + '\n'); process.exit(0); }
  const [cmd, ...rest] = parsed.positionals;
  if (cmd === 'unmount') {
    if (rest.length !== 1) throw new UsageError('usage: fuse-uring unmount <mountpoint>');
    return runUnmount(rest[0]!);
  }
  if (cmd !== 'memfs' && cmd !== 'mirror') throw new UsageError(cmd === undefined ? 'what to do? (see --help)' : `unknown command ${JSON.stringify(cmd)} (see --help)`);
  if (cmd === 'memfs' && rest.length !== 1) throw new UsageError('usage: fuse-uring memfs <mountpoint> [options]');
  if (cmd === 'mirror' && rest.length !== 2) throw new UsageError('usage: fuse-uring mirror <source> <mountpoint> [options]');
  if (cmd === 'memfs' && (v['no-passthrough'] || v['fd-cache'] !== undefined)) throw new UsageError('--no-passthrough and --fd-cache are mirror options');
  if (cmd === 'mirror' && v.size !== undefined) throw new UsageError('--size is a memfs option');
  const o: MountOptions = { defaultPermissions: true };
  for (const s of v.o ?? []) parseOptionString(s, o);
  if (v.transport !== undefined) o.transport = v.transport as MountOptions['transport'];
  if (v['queue-depth'] !== undefined) {
    if (!/^\d+$/.test(v['queue-depth']) || Number(v['queue-depth']) < 1 || Number(v['queue-depth']) > MAX_QUEUE_DEPTH) {
      throw new UsageError(`--queue-depth needs a whole number from 1 to ${MAX_QUEUE_DEPTH} (got ${JSON.stringify(v['queue-depth'])})`);
    }
    o.queueDepth = Number(v['queue-depth']);
  }
  if (v.debug) o.debug = true;
  if (v.force) o.force = true;
  if (v['request-timeout'] !== undefined) {
    const t = parseDuration(v['request-timeout'], '--request-timeout');
    if (t !== 0 && (t < MIN_REQUEST_TIMEOUT || t > MAX_REQUEST_TIMEOUT)) {
      throw new UsageError(`--request-timeout must be from ${MIN_REQUEST_TIMEOUT}ms to 24h, or 0 for none (got ${JSON.stringify(v['request-timeout'])})`);
    }
    o.requestTimeout = t;
  }
  if (cmd === 'mirror') {
    const fc = v['fd-cache'];
    if (fc !== undefined && (!/^\d+$/.test(fc) || Number(fc) < 1 || Number(fc) > 1_000_000)) {
      throw new UsageError(`--fd-cache needs a whole number from 1 to 1000000 (got ${JSON.stringify(fc)})`);
    }
    await runMirror(rest[0]!, rest[1]!, o, v['no-passthrough'] === true, fc === undefined ? undefined : Number(fc));
    return;
  }
  await runMemfs(rest[0]!, o, v.size === undefined ? undefined : parseSize(v.size));
}

main(process.argv.slice(2)).catch((e: Error) => {
  // One line, whatever went wrong: a usage or option error (2), a refusal to mount or a failure (1).
  const message = (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
  fail(message, e instanceof UsageError || e instanceof OptionError ? 2 : 1);
});
