// The ESM half of the fuse-native compatibility layer, loaded by fuse-native.cts the first time
// something is mounted or unmounted: the mount point checks fuse-native makes (mkdir, force,
// "in use"), the mount itself through the path bridge, and unmounting by path.
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { mount, type Session } from '../session.js';
import { detachMount, fuseMountAt } from '../mount.js';
import { PathBridge } from '../paths/bridge.js';
import { adaptOps, type FuseNativeOps } from './fuse-native-ops.js';
import { mapOptions, type FuseNativeOptions } from './fuse-native-options.js';

/** Sessions of this process by mount point, for Fuse.unmount(mnt) on one of our own. */
const live = new Map<string, Session>();

function log(line: string): void {
  process.stderr.write(`fuse-native (fuse-uring): ${line}\n`);
}

/** Lazily unmounts whatever FUSE mount is at `mnt` (root: umount -l, others: fusermount3 -u -z). */
const detach = (mnt: string): Promise<void> => detachMount(mnt);

/** A stat that takes longer means a hung FUSE daemon is there. */
const STAT_TIMEOUT_MS = 3000;

/** stat(2) with the errno code (ETIMEDOUT for a mount that does not answer), never throwing. */
async function statCode(p: string): Promise<{ code?: string; dev?: number; dir?: boolean }> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<{ code: string }>((ok) => { timer = setTimeout(() => ok({ code: 'ETIMEDOUT' }), STAT_TIMEOUT_MS); });
  const look = stat(p).then((s) => ({ dev: s.dev, dir: s.isDirectory() }), (e: NodeJS.ErrnoException) => ({ code: e.code ?? 'EIO' }));
  try {
    return await Promise.race([look, hung]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * fuse-native's checks before mounting, with its messages. A FUSE mount this process serves is
 * "in use" without a look inside: a daemon must not call into its own mount.
 */
async function prepare(mnt: string, force: boolean, mkdirOpt: boolean): Promise<void> {
  if (live.has(mnt)) throw new Error('Mountpoint in use');
  let st = await statCode(mnt);
  if (fuseMountAt(mnt)) {
    const dead = st.code === 'ENOTCONN' || st.code === 'ECONNABORTED' || st.code === 'ENXIO';
    if (!dead) throw new Error('Mountpoint in use');
    // A dead mount left by a daemon that is gone: force clears it, as fuse-native's does
    // (without force, mount() refuses it and says how to clear it).
    if (force) {
      await detach(mnt);
      st = await statCode(mnt);
    }
  }
  if (st.code === 'ENOENT') {
    if (!mkdirOpt) throw new Error('Mountpoint does not exist');
    await mkdir(mnt, { recursive: true });
    st = await statCode(mnt);
  }
  if (st.code === 'ENOTCONN' || st.code === 'ECONNABORTED') return;
  if (st.code !== undefined) throw Object.assign(new Error(`Cannot use the mountpoint ${mnt}: ${st.code}`), { code: st.code });
  if (!st.dir) throw new Error('Mountpoint is not a directory');
  const parent = await statCode(dirname(mnt));
  if (parent.dev !== undefined && parent.dev !== st.dev && mnt !== '/') throw new Error('Mountpoint in use');
}

export interface Mounted {
  session: Session;
  bridge: PathBridge;
}

export async function mountFuseNative(mnt: string, ops: FuseNativeOps, opts: FuseNativeOptions): Promise<Mounted> {
  const o = mapOptions(opts ?? {}, process.env.FUSE_URING_TRANSPORT);
  if (o.debug) for (const n of o.notes) log(n);
  await prepare(mnt, o.force, o.mkdir);
  const bridge = new PathBridge(adaptOps(ops ?? {}, opts ?? {}), o.path);
  const session = await mount(mnt, bridge.filesystem, o.mount);
  if (o.debug) log(`mounted ${mnt} over ${session.connection.transport === 'uring' ? 'FUSE-over-io_uring' : '/dev/fuse'}`);
  const keys = [mnt, session.mountpoint];
  for (const k of keys) live.set(k, session);
  void session.closed.then(() => {}, (e: Error) => log(`${mnt}: the session failed: ${e.message}`)).finally(() => {
    for (const k of keys) if (live.get(k) === session) live.delete(k);
  });
  return { session, bridge };
}

/** Fuse.unmount(mnt): our own session's unmount, or a lazy unmount of whatever FUSE mount is there. */
export async function unmountPath(mnt: string): Promise<void> {
  const own = live.get(mnt);
  if (own !== undefined) return own.unmount();
  if (!fuseMountAt(mnt)) throw new Error(`${mnt} is not a FUSE mount`);
  await detach(mnt);
}
