// The benchmark's "memfs-paths" target: PathMemFs through the path bridge (fuse-uring/paths),
// mounted the way the CLI mounts memfs, so that the two differ only by the API they are written
// against. Prints the CLI's kind of line when mounted; SIGINT/SIGTERM unmount and exit 0.
//   node dist/bench/pathmem-daemon.js <mountpoint> [--transport auto|uring|dev] [--queue-depth N]
import { parseArgs } from 'node:util';
import { mountPaths, PathMemFs } from '../src/paths/index.js';
import type { MountOptions } from '../src/options.js';

function fail(message: string): never {
  process.stderr.write(`fuse-uring: ${message}\n`);
  process.exit(1);
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { transport: { type: 'string' }, 'queue-depth': { type: 'string' } },
});
const mnt = positionals[0];
if (mnt === undefined || positionals.length !== 1) fail('usage: pathmem-daemon <mountpoint> [--transport auto|uring|dev] [--queue-depth N]');

const options: MountOptions = { defaultPermissions: true, subtype: 'pathmem', fsName: 'fuse-uring' };
if (values.transport !== undefined) options.transport = values.transport as MountOptions['transport'];
if (values['queue-depth'] !== undefined) options.queueDepth = Number(values['queue-depth']);

const session = await mountPaths(mnt, new PathMemFs({ uid: process.getuid?.(), gid: process.getgid?.() }), options)
  .catch((e: Error) => fail(`mount failed: ${e.message}`));
const stop = (): void => { session.unmount().catch((e: Error) => fail(`unmount: ${e.message}`)); };
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
const c = session.connection;
process.stderr.write(`fuse-uring: pathmem (path API) mounted at ${session.mountpoint} (transport ${c.transport}${c.transport === 'uring' ? `, ${c.queues} queues × ${c.queueDepth}` : `, ${c.queueDepth} buffers`}, max_write ${c.maxWrite})\n`);
try {
  await session.closed;
} catch (e) {
  fail(`the session failed: ${(e as Error).message}`);
}
process.exit(0);
