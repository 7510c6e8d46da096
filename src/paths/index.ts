// fuse-uring/paths: filesystems written against paths ("/dir/file") instead of nodeids, served
// by the same kernel transports (FUSE-over-io_uring or /dev/fuse). See docs/paths.md.
export { mountPaths, splitPathOptions, type PathMountOptions } from './mount.js';
export { PathBridge } from './bridge.js';
export type {
  PathFilesystem, PathOptions, PathContext, Stat, StatTime, TimeSpec, DirEntry, OpenResult, OpenReturn, PathStatfs,
} from './types.js';
export { FuseError, Errno, errnoName } from '../errors.js';
export { nameToBuffer, bufferToName } from '../abi/names.js';
export { Session, type MountOptions } from '../session.js';
export { PathMemFs, type PathMemFsOptions } from '../fs/pathmem/index.js';
