// autoUnmount: a watcher process that outlives the daemon. fusermount3's auto_unmount does not
// act when a daemon serving over io_uring dies (the connection ends with ECONNABORTED, which it
// does not take for a dead daemon: verified on 6.18), and root mounts with mount(2) have no
// helper at all. So every autoUnmount mount gets this one.
//
// The watcher is `sh` blocked in `read` on a pipe whose write end only the daemon holds (every fd
// the daemon opens is close-on-exec, so neither the watcher nor anything else the daemon starts
// inherits it, nor /dev/fuse). When the daemon dies, however it dies, the kernel closes the pipe:
// `read` sees EOF and the shell runs watcher-main.js, which checks that the mount at the path is
// still ours (same mount id and device number), aborts the connection through fusectl and
// unmounts it lazily. A session that ends normally writes "done" first and the shell just exits.
// The shell costs about a megabyte while it waits; node starts only if there is work.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MountError, type Mounted } from './mount.js';

/** What watcher-main.js needs to find our mount again, and to say whose it was. */
export interface WatchTarget {
  mountpoint: string;
  /** major:minor of the mount; the minor is the fusectl connection id. */
  dev: string;
  mountId: number;
  /** The daemon's pid, for the log line. */
  pid: number;
}

const MAIN = fileURLToPath(new URL('./watcher-main.js', import.meta.url));
const SCRIPT = 'IFS= read -r line; [ "$line" = done ] && exit 0; exec "$@"';

export class Watcher {
  private readonly child: ChildProcess;
  readonly pid: number;
  private finished = false;

  /** Starts the watcher for `m` (mounted, with its dev and mount id known). Throws MountError. */
  constructor(m: Mounted) {
    if (m.dev === '' || m.mountId < 0) throw new MountError(`autoUnmount: the new mount at ${m.mountpoint} is not in /proc/self/mountinfo`);
    const target: WatchTarget = { mountpoint: m.mountpoint, dev: m.dev, mountId: m.mountId, pid: process.pid };
    // detached: its own session and process group, so a signal to the daemon's group (Ctrl-C in
    // a terminal, kill -TERM -pgid) does not take the watcher with it. stderr is the daemon's,
    // for the one line it prints when it acts.
    // NODE_OPTIONS stays out: an --inspect or --require meant for the daemon must not run here.
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    this.child = spawn('/bin/sh', ['-c', SCRIPT, 'fuse-uring-watcher', process.execPath, MAIN, JSON.stringify(target)], {
      detached: true, stdio: ['pipe', 'ignore', 'inherit'], env,
    });
    if (this.child.pid === undefined) {
      this.child.on('error', () => {});
      throw new MountError('autoUnmount: could not start the watcher process (/bin/sh)');
    }
    this.pid = this.child.pid;
    this.child.on('error', () => {});
    this.child.stdin!.on('error', () => {});
    // Neither the process nor the pipe may keep the daemon's event loop alive.
    this.child.unref();
    (this.child.stdin as unknown as { unref?: () => void }).unref?.();
  }

  /** The session ended cleanly: the watcher exits without acting. */
  done(): void {
    if (this.finished) return;
    this.finished = true;
    this.child.stdin!.end('done\n');
  }
}
