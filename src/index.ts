// fuse-uring: Linux filesystems in TypeScript over FUSE-over-io_uring.
export { mount, Session, uringParameter, type ConnectionInfo, type SessionStats } from './session.js';
export { OptionError, parseOptionString, type MountOptions, type TransportChoice } from './options.js';
export { MountError } from './mount.js';
export { FuseError, Errno, errnoName } from './errors.js';
export { Init, Fopen, Fattr, DT, Rename, Release, Write, dtFromMode } from './abi/flags.js';
export { Op, opName } from './abi/opcodes.js';
export { nameToBuffer, bufferToName } from './abi/names.js';
export { MemFs, type MemFsOptions } from './fs/memfs/index.js';
export { Notifier, type InvalEntryOptions } from './notify.js';
export { MirrorFs, type MirrorFsOptions, type MirrorStats } from './fs/mirror/index.js';
export type * from './filesystem.js';
export { createReply } from './filesystem.js';
