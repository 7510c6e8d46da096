// Run by the autoUnmount watcher (src/watcher.ts) once the daemon is gone:
//   node watcher-main.js '{"mountpoint":…,"dev":"0:55","mountId":312,"pid":1234}'
// Acts only on the mount it was started for: the same mount id and device number at the same
// path. Reads /proc/self/mountinfo and fusectl only; it never touches the mount itself (a stat
// of a dead or hung FUSE mount can block).
import { abortConnection, clearFuseMount, mountInfo } from './mount.js';
import type { WatchTarget } from './watcher.js';

function say(line: string): void {
  try {
    process.stderr.write(`fuse-uring: ${line}\n`);
  } catch { /* the daemon's stderr may be gone with it */ }
}

async function main(): Promise<void> {
  const t = JSON.parse(process.argv[2] ?? '') as WatchTarget;
  const here = mountInfo().filter((e) => e.mountpoint === t.mountpoint);
  const ours = here.find((e) => e.mountId === t.mountId && e.dev === t.dev);
  if (!ours) return; // unmounted already (by the daemon, fusermount3's helper, or anyone)
  const id = t.dev.split(':')[1];
  if (here[here.length - 1] !== ours) {
    // Something is mounted on top of it: unmounting the path would take that one. Ending the
    // connection is all that can be done for ours.
    const aborted = abortConnection(t.dev);
    say(`the daemon (pid ${t.pid}) serving ${t.mountpoint} is gone; ${aborted ? `aborted connection ${id}, but ` : ''}another mount covers it, so it was left in place`);
    return;
  }
  await clearFuseMount(t.mountpoint, ours);
  say(`the daemon (pid ${t.pid}) serving ${t.mountpoint} is gone: connection ${id} aborted and ${t.mountpoint} unmounted (auto_unmount)`);
}

main().catch((e: unknown) => {
  say(`auto_unmount watcher: ${(e as Error)?.message ?? String(e)}`);
  process.exitCode = 1;
});
