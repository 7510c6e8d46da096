#!/usr/bin/env node
// fuse-uring memfs <mountpoint> | fuse-uring mirror <source> <mountpoint> | fuse-uring unmount <mountpoint>
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { mount, uringParameter, type Session } from './session.js';
import { MAX_QUEUE_DEPTH, OptionError, OPTION_NAMES, parseOptionString, validateOptions, type MountOptions } from './options.js';
import { fuseMountAt, fusermountUnmount } from './mount.js';
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
  --debug                      print one line per request and reply to stderr
  -h, --help                   this text

Runs in the foreground; Ctrl-C (SIGINT) or SIGTERM unmounts and exits 0, as does an unmount from
outside (umount, fusermount3 -u). io_uring needs Linux >= 6.14 and
/sys/module/fuse/parameters/enable_uring = Y (set here when run as root).`;

class UsageError extends Error {}

function fail(message: string, code = 1): never {
  process.stderr.write(`fuse-uring: ${message}\n`);
  process.exit(code);
}

function parseSize(s: string): number {
  const m = /^(\d+)([KMGT]?)i?B?$/i.exec(s.trim());
  if (!m) throw new UsageError(`--size needs a number of bytes like 512M (got ${JSON.stringify(s)})`);
  const mult = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G' | 'T'];
  return Number(m[1]) * mult;
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
  try {
    await session.closed;
  } catch (e) {
    fail(`the session failed: ${(e as Error).message}`);
  }
  process.exit(0);
}

async function runMirror(source: string, mountpoint: string, o: MountOptions, noPassthrough: boolean,
  fdCache: number | undefined): Promise<void> {
  validateOptions(o);
  ensureUring(o.transport ?? 'auto');
  const root = native.geteuid() === 0;
  const passthrough = root && !noPassthrough;
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
  try {
    await session.closed;
  } catch (e) {
    fail(`the session failed: ${(e as Error).message}`);
  }
  process.exit(0);
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
        'no-passthrough': { type: 'boolean' }, 'fd-cache': { type: 'string' },
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
  fail(e.message, e instanceof UsageError || e instanceof OptionError ? 2 : 1);
});
