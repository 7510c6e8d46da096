// Struct sizes and field offsets of protocol 7.45 — the only place that knows them. Written from
// the kernel's uapi header facts (see docs/fuse-over-io-uring.md §16); pinned by test/unit/layout.test.ts.

/** struct fuse_in_header (40) */
export const InHeader = { SIZE: 40, len: 0, opcode: 4, unique: 8, nodeid: 16, uid: 24, gid: 28, pid: 32, total_extlen: 36 } as const;
/** struct fuse_out_header (16) */
export const OutHeader = { SIZE: 16, len: 0, error: 4, unique: 8 } as const;

/** struct fuse_uring_req_header (288): in_out @0, op_in @128, ring_ent_in_out @256. */
export const RingHeader = {
  SIZE: 288, in_out: 0, op_in: 128, ent_flags: 256, commit_id: 264, payload_sz: 272, ent_padding: 276,
} as const;

export const InitIn = { SIZE: 64, major: 0, minor: 4, max_readahead: 8, flags: 12, flags2: 16 } as const;
export const InitOut = {
  SIZE: 64, major: 0, minor: 4, max_readahead: 8, flags: 12, max_background: 16,
  congestion_threshold: 18, max_write: 20, time_gran: 24, max_pages: 28, map_alignment: 30,
  flags2: 32, max_stack_depth: 36, request_timeout: 40,
} as const;

/** struct fuse_attr (88) */
export const AttrL = {
  SIZE: 88, ino: 0, size: 8, blocks: 16, atime: 24, mtime: 32, ctime: 40, atimensec: 48,
  mtimensec: 52, ctimensec: 56, mode: 60, nlink: 64, uid: 68, gid: 72, rdev: 76, blksize: 80, flags: 84,
} as const;
/** struct fuse_entry_out (128) */
export const EntryOut = {
  SIZE: 128, nodeid: 0, generation: 8, entry_valid: 16, attr_valid: 24, entry_valid_nsec: 32,
  attr_valid_nsec: 36, attr: 40,
} as const;
/** struct fuse_attr_out (104) */
export const AttrOut = { SIZE: 104, attr_valid: 0, attr_valid_nsec: 8, attr: 16 } as const;
export const GetattrIn = { SIZE: 16, getattr_flags: 0, fh: 8 } as const;
export const SetattrIn = {
  SIZE: 88, valid: 0, fh: 8, size: 16, lock_owner: 24, atime: 32, mtime: 40, ctime: 48,
  atimensec: 56, mtimensec: 60, ctimensec: 64, mode: 68, uid: 76, gid: 80,
} as const;
export const OpenIn = { SIZE: 8, flags: 0, open_flags: 4 } as const;
export const OpenOut = { SIZE: 16, fh: 0, open_flags: 8, backing_id: 12 } as const;
export const CreateIn = { SIZE: 16, flags: 0, mode: 4, umask: 8, open_flags: 12 } as const;
export const MkdirIn = { SIZE: 8, mode: 0, umask: 4 } as const;
export const MknodIn = { SIZE: 16, mode: 0, rdev: 4, umask: 8 } as const;
export const RenameIn = { SIZE: 8, newdir: 0 } as const;
export const Rename2In = { SIZE: 16, newdir: 0, flags: 8 } as const;
export const LinkIn = { SIZE: 8, oldnodeid: 0 } as const;
/** struct fuse_read_in and fuse_write_in share one layout (40). */
export const ReadIn = { SIZE: 40, fh: 0, offset: 8, size: 16, read_flags: 20, lock_owner: 24, flags: 32 } as const;
export const WriteIn = { SIZE: 40, fh: 0, offset: 8, size: 16, write_flags: 20, lock_owner: 24, flags: 32 } as const;
export const WriteOut = { SIZE: 8, size: 0 } as const;
export const ReleaseIn = { SIZE: 24, fh: 0, flags: 8, release_flags: 12, lock_owner: 16 } as const;
export const FlushIn = { SIZE: 24, fh: 0, lock_owner: 16 } as const;
export const FsyncIn = { SIZE: 16, fh: 0, fsync_flags: 8 } as const;
export const ForgetIn = { SIZE: 8, nlookup: 0 } as const;
export const BatchForgetIn = { SIZE: 8, count: 0 } as const;
export const ForgetOne = { SIZE: 16, nodeid: 0, nlookup: 8 } as const;
export const InterruptIn = { SIZE: 8, unique: 0 } as const;
/** struct fuse_kstatfs inside fuse_statfs_out (80) */
export const StatfsOut = {
  SIZE: 80, blocks: 0, bfree: 8, bavail: 16, files: 24, ffree: 32, bsize: 40, namelen: 44, frsize: 48,
} as const;
/** struct fuse_dirent: fixed part 24, then the name, the record padded to 8. */
export const Dirent = { SIZE: 24, ino: 0, off: 8, namelen: 16, type: 20, name: 24 } as const;
/** struct fuse_direntplus: fuse_entry_out (128) then fuse_dirent. */
export const DirentPlus = { SIZE: 152, entry_out: 0, dirent: 128 } as const;

/** The kernel's FUSE_MIN_READ_BUFFER: a /dev/fuse read buffer is never smaller. */
export const MIN_READ_BUFFER = 8192;
export const PAGE_SIZE = 4096;

// The rest of protocol 7.45.
/** fuse_setxattr_in with SETXATTR_EXT (16); the compat form is the first 8 bytes. */
export const SetxattrIn = { SIZE: 16, COMPAT_SIZE: 8, size: 0, flags: 4, setxattr_flags: 8 } as const;
export const GetxattrIn = { SIZE: 8, size: 0 } as const;
export const GetxattrOut = { SIZE: 8, size: 0 } as const;
export const AccessIn = { SIZE: 8, mask: 0 } as const;
/** struct fuse_file_lock (24) */
export const FileLock = { SIZE: 24, start: 0, end: 8, type: 16, pid: 20 } as const;
export const LkIn = { SIZE: 48, fh: 0, owner: 8, lk: 16, lk_flags: 40 } as const;
export const LkOut = { SIZE: 24, lk: 0 } as const;
export const BmapIn = { SIZE: 16, block: 0, blocksize: 8 } as const;
export const BmapOut = { SIZE: 8, block: 0 } as const;
export const IoctlIn = { SIZE: 32, fh: 0, flags: 8, cmd: 12, arg: 16, in_size: 24, out_size: 28 } as const;
export const IoctlOut = { SIZE: 16, result: 0, flags: 4, in_iovs: 8, out_iovs: 12 } as const;
export const IoctlIovec = { SIZE: 16, base: 0, len: 8 } as const;
export const PollIn = { SIZE: 24, fh: 0, kh: 8, flags: 16, events: 20 } as const;
export const PollOut = { SIZE: 8, revents: 0 } as const;
export const FallocateIn = { SIZE: 32, fh: 0, offset: 8, length: 16, mode: 24 } as const;
export const LseekIn = { SIZE: 24, fh: 0, offset: 8, whence: 16 } as const;
export const LseekOut = { SIZE: 8, offset: 0 } as const;
export const CopyFileRangeIn = { SIZE: 56, fh_in: 0, off_in: 8, nodeid_out: 16, fh_out: 24, off_out: 32, len: 40, flags: 48 } as const;
export const CopyFileRangeOut = { SIZE: 8, bytes_copied: 0 } as const;
export const SyncfsIn = { SIZE: 8 } as const;
export const StatxIn = { SIZE: 24, getattr_flags: 0, fh: 8, sx_flags: 16, sx_mask: 20 } as const;
/** struct fuse_sx_time (16) */
export const SxTime = { SIZE: 16, tv_sec: 0, tv_nsec: 8 } as const;
/** struct fuse_statx (256), the layout of the kernel's struct statx. */
export const Statx = {
  SIZE: 256, mask: 0, blksize: 4, attributes: 8, nlink: 16, uid: 20, gid: 24, mode: 28, ino: 32, size: 40,
  blocks: 48, attributes_mask: 56, atime: 64, btime: 80, ctime: 96, mtime: 112, rdev_major: 128,
  rdev_minor: 132, dev_major: 136, dev_minor: 140,
} as const;
export const StatxOut = { SIZE: 288, attr_valid: 0, attr_valid_nsec: 8, flags: 12, stat: 32 } as const;
export const SetupmappingIn = { SIZE: 40, fh: 0, foffset: 8, len: 16, flags: 24, moffset: 32 } as const;
export const RemovemappingIn = { SIZE: 4, count: 0 } as const;
export const RemovemappingOne = { SIZE: 16, moffset: 0, len: 8 } as const;
export const CuseInitIn = { SIZE: 16, major: 0, minor: 4, flags: 12 } as const;
export const CuseInitOut = { SIZE: 72, major: 0, minor: 4, flags: 12, max_read: 16, max_write: 20, dev_major: 24, dev_minor: 28 } as const;

/** Request extensions after the arguments (fuse_in_header.total_extlen × 8 bytes). */
export const ExtHeader = { SIZE: 8, size: 0, type: 4 } as const;
export const SecctxHeader = { SIZE: 8, size: 0, nr_secctx: 4 } as const;
export const Secctx = { SIZE: 8, size: 0 } as const;
export const SuppGroups = { SIZE: 4, nr_groups: 0 } as const;
/** fuse_ext_type: security contexts use their count as the type (≤ 31); groups are 32. */
export const EXT_GROUPS = 32;

/** Notifications (daemon → kernel), fuse_out_header.error = the code, unique = 0. */
export const NotifyPollWakeupOut = { SIZE: 8, kh: 0 } as const;
export const NotifyInvalInodeOut = { SIZE: 24, ino: 0, off: 8, len: 16 } as const;
export const NotifyInvalEntryOut = { SIZE: 16, parent: 0, namelen: 8, flags: 12 } as const;
export const NotifyDeleteOut = { SIZE: 24, parent: 0, child: 8, namelen: 16 } as const;
export const NotifyStoreOut = { SIZE: 24, nodeid: 0, offset: 8, size: 16 } as const;
export const NotifyRetrieveOut = { SIZE: 32, notify_unique: 0, nodeid: 8, offset: 16, size: 24 } as const;
/** What NOTIFY_REPLY carries ahead of the data (in the payload over the ring, op_in is empty). */
export const NotifyRetrieveIn = { SIZE: 40, offset: 8, size: 16 } as const;
export const NotifyPruneOut = { SIZE: 16, count: 0 } as const;
export const NotifyCode = { POLL: 1, INVAL_INODE: 2, INVAL_ENTRY: 3, STORE: 4, RETRIEVE: 5, DELETE: 6, RESEND: 7, INC_EPOCH: 8, PRUNE: 9 } as const;

/** struct fuse_backing_map (16), for FUSE_DEV_IOC_BACKING_OPEN. */
export const BackingMap = { SIZE: 16, fd: 0, flags: 4 } as const;
/** io_uring transport structs (7.42+). */
export const UringEntInOut = { SIZE: 32, flags: 0, commit_id: 8, payload_sz: 16 } as const;
export const UringCmdReq = { SIZE: 24, flags: 0, commit_id: 8, qid: 16 } as const;
