// Pins every struct of protocol 7.45 in src/abi/layout.ts — size and every field offset — against
// the kernel's definitions. The expected numbers are not read back from layout.ts: each struct is
// written out below as include/uapi/linux/fuse.h (7.45) declares it, field by field with its C
// type, and laid out by the C rules the header relies on (natural alignment; the header pads
// explicitly, so no implicit padding arises). On top, the sizes the kernel's own compilation gave
// (docs/fuse-over-io-uring.md §16) are checked as literal numbers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as layout from '../../src/abi/layout.js';

type Prim = 'u8' | 'u16' | 'u32' | 's32' | 'u64' | 's64';
/** A C type: a primitive, an array of one (n = 0: a flexible array member), or a struct. */
type CType = Prim | { of: CType; n: number } | CStruct;
interface CStruct { fields: [name: string, type: CType][] }

const PRIM: Record<Prim, number> = { u8: 1, u16: 2, u32: 4, s32: 4, u64: 8, s64: 8 };
const arr = (of: CType, n: number): CType => ({ of, n });
const struct = (...fields: [string, CType][]): CStruct => ({ fields });

function sizeAlign(t: CType): { size: number; align: number } {
  if (typeof t === 'string') return { size: PRIM[t], align: PRIM[t] };
  if ('of' in t) { const e = sizeAlign(t.of); return { size: e.size * t.n, align: e.align }; }
  const l = lay(t);
  return { size: l.size, align: l.align };
}

interface Laid { size: number; align: number; off: Map<string, number>; implicitPadding: number }

/** Lays out a struct by the C rules: each field at its natural alignment, the size rounded up. */
function lay(s: CStruct): Laid {
  let pos = 0, align = 1, implicitPadding = 0;
  const off = new Map<string, number>();
  for (const [name, t] of s.fields) {
    const f = sizeAlign(t);
    const at = Math.ceil(pos / f.align) * f.align;
    implicitPadding += at - pos;
    off.set(name, at);
    pos = at + f.size;
    align = Math.max(align, f.align);
  }
  const size = Math.ceil(pos / align) * align;
  return { size, align, off, implicitPadding: implicitPadding + size - pos };
}

// ---- include/uapi/linux/fuse.h, protocol 7.45 ----

const fuse_attr = struct(['ino', 'u64'], ['size', 'u64'], ['blocks', 'u64'], ['atime', 'u64'], ['mtime', 'u64'],
  ['ctime', 'u64'], ['atimensec', 'u32'], ['mtimensec', 'u32'], ['ctimensec', 'u32'], ['mode', 'u32'], ['nlink', 'u32'],
  ['uid', 'u32'], ['gid', 'u32'], ['rdev', 'u32'], ['blksize', 'u32'], ['flags', 'u32']);
const fuse_sx_time = struct(['tv_sec', 's64'], ['tv_nsec', 'u32'], ['__reserved', 's32']);
const fuse_statx = struct(['mask', 'u32'], ['blksize', 'u32'], ['attributes', 'u64'], ['nlink', 'u32'], ['uid', 'u32'],
  ['gid', 'u32'], ['mode', 'u16'], ['__spare0', arr('u16', 1)], ['ino', 'u64'], ['size', 'u64'], ['blocks', 'u64'],
  ['attributes_mask', 'u64'], ['atime', fuse_sx_time], ['btime', fuse_sx_time], ['ctime', fuse_sx_time],
  ['mtime', fuse_sx_time], ['rdev_major', 'u32'], ['rdev_minor', 'u32'], ['dev_major', 'u32'], ['dev_minor', 'u32'],
  ['__spare2', arr('u64', 14)]);
const fuse_kstatfs = struct(['blocks', 'u64'], ['bfree', 'u64'], ['bavail', 'u64'], ['files', 'u64'], ['ffree', 'u64'],
  ['bsize', 'u32'], ['namelen', 'u32'], ['frsize', 'u32'], ['padding', 'u32'], ['spare', arr('u32', 6)]);
const fuse_file_lock = struct(['start', 'u64'], ['end', 'u64'], ['type', 'u32'], ['pid', 'u32']);
const fuse_entry_out = struct(['nodeid', 'u64'], ['generation', 'u64'], ['entry_valid', 'u64'], ['attr_valid', 'u64'],
  ['entry_valid_nsec', 'u32'], ['attr_valid_nsec', 'u32'], ['attr', fuse_attr]);
const fuse_dirent = struct(['ino', 'u64'], ['off', 'u64'], ['namelen', 'u32'], ['type', 'u32'], ['name', arr('u8', 0)]);

/** Each struct constant of layout.ts, by export name, with the kernel struct it describes. */
const KERNEL: Record<string, CStruct> = {
  InHeader: struct(['len', 'u32'], ['opcode', 'u32'], ['unique', 'u64'], ['nodeid', 'u64'], ['uid', 'u32'], ['gid', 'u32'],
    ['pid', 'u32'], ['total_extlen', 'u16'], ['padding', 'u16']),
  OutHeader: struct(['len', 'u32'], ['error', 's32'], ['unique', 'u64']),
  // fuse_uring_req_header: in_out[128], op_in[128], then struct fuse_uring_ent_in_out (flattened).
  RingHeader: struct(['in_out', arr('u8', 128)], ['op_in', arr('u8', 128)], ['ent_flags', 'u64'], ['commit_id', 'u64'],
    ['payload_sz', 'u32'], ['ent_padding', 'u32'], ['ent_reserved', 'u64']),
  InitIn: struct(['major', 'u32'], ['minor', 'u32'], ['max_readahead', 'u32'], ['flags', 'u32'], ['flags2', 'u32'],
    ['unused', arr('u32', 11)]),
  InitOut: struct(['major', 'u32'], ['minor', 'u32'], ['max_readahead', 'u32'], ['flags', 'u32'], ['max_background', 'u16'],
    ['congestion_threshold', 'u16'], ['max_write', 'u32'], ['time_gran', 'u32'], ['max_pages', 'u16'],
    ['map_alignment', 'u16'], ['flags2', 'u32'], ['max_stack_depth', 'u32'], ['request_timeout', 'u16'],
    ['unused', arr('u16', 11)]),
  AttrL: fuse_attr,
  EntryOut: fuse_entry_out,
  AttrOut: struct(['attr_valid', 'u64'], ['attr_valid_nsec', 'u32'], ['dummy', 'u32'], ['attr', fuse_attr]),
  GetattrIn: struct(['getattr_flags', 'u32'], ['dummy', 'u32'], ['fh', 'u64']),
  SetattrIn: struct(['valid', 'u32'], ['padding', 'u32'], ['fh', 'u64'], ['size', 'u64'], ['lock_owner', 'u64'],
    ['atime', 'u64'], ['mtime', 'u64'], ['ctime', 'u64'], ['atimensec', 'u32'], ['mtimensec', 'u32'],
    ['ctimensec', 'u32'], ['mode', 'u32'], ['unused4', 'u32'], ['uid', 'u32'], ['gid', 'u32'], ['unused5', 'u32']),
  OpenIn: struct(['flags', 'u32'], ['open_flags', 'u32']),
  OpenOut: struct(['fh', 'u64'], ['open_flags', 'u32'], ['backing_id', 's32']),
  CreateIn: struct(['flags', 'u32'], ['mode', 'u32'], ['umask', 'u32'], ['open_flags', 'u32']),
  MkdirIn: struct(['mode', 'u32'], ['umask', 'u32']),
  MknodIn: struct(['mode', 'u32'], ['rdev', 'u32'], ['umask', 'u32'], ['padding', 'u32']),
  RenameIn: struct(['newdir', 'u64']),
  Rename2In: struct(['newdir', 'u64'], ['flags', 'u32'], ['padding', 'u32']),
  LinkIn: struct(['oldnodeid', 'u64']),
  ReadIn: struct(['fh', 'u64'], ['offset', 'u64'], ['size', 'u32'], ['read_flags', 'u32'], ['lock_owner', 'u64'],
    ['flags', 'u32'], ['padding', 'u32']),
  WriteIn: struct(['fh', 'u64'], ['offset', 'u64'], ['size', 'u32'], ['write_flags', 'u32'], ['lock_owner', 'u64'],
    ['flags', 'u32'], ['padding', 'u32']),
  WriteOut: struct(['size', 'u32'], ['padding', 'u32']),
  ReleaseIn: struct(['fh', 'u64'], ['flags', 'u32'], ['release_flags', 'u32'], ['lock_owner', 'u64']),
  FlushIn: struct(['fh', 'u64'], ['unused', 'u32'], ['padding', 'u32'], ['lock_owner', 'u64']),
  FsyncIn: struct(['fh', 'u64'], ['fsync_flags', 'u32'], ['padding', 'u32']),
  ForgetIn: struct(['nlookup', 'u64']),
  BatchForgetIn: struct(['count', 'u32'], ['dummy', 'u32']),
  ForgetOne: struct(['nodeid', 'u64'], ['nlookup', 'u64']),
  InterruptIn: struct(['unique', 'u64']),
  // struct fuse_statfs_out { struct fuse_kstatfs st; }: the kstatfs fields at the same offsets.
  StatfsOut: fuse_kstatfs,
  Dirent: fuse_dirent,
  DirentPlus: struct(['entry_out', fuse_entry_out], ['dirent', fuse_dirent]),
  SetxattrIn: struct(['size', 'u32'], ['flags', 'u32'], ['setxattr_flags', 'u32'], ['padding', 'u32']),
  GetxattrIn: struct(['size', 'u32'], ['padding', 'u32']),
  GetxattrOut: struct(['size', 'u32'], ['padding', 'u32']),
  AccessIn: struct(['mask', 'u32'], ['padding', 'u32']),
  FileLock: fuse_file_lock,
  LkIn: struct(['fh', 'u64'], ['owner', 'u64'], ['lk', fuse_file_lock], ['lk_flags', 'u32'], ['padding', 'u32']),
  LkOut: struct(['lk', fuse_file_lock]),
  BmapIn: struct(['block', 'u64'], ['blocksize', 'u32'], ['padding', 'u32']),
  BmapOut: struct(['block', 'u64']),
  IoctlIn: struct(['fh', 'u64'], ['flags', 'u32'], ['cmd', 'u32'], ['arg', 'u64'], ['in_size', 'u32'], ['out_size', 'u32']),
  IoctlOut: struct(['result', 's32'], ['flags', 'u32'], ['in_iovs', 'u32'], ['out_iovs', 'u32']),
  IoctlIovec: struct(['base', 'u64'], ['len', 'u64']),
  PollIn: struct(['fh', 'u64'], ['kh', 'u64'], ['flags', 'u32'], ['events', 'u32']),
  PollOut: struct(['revents', 'u32'], ['padding', 'u32']),
  FallocateIn: struct(['fh', 'u64'], ['offset', 'u64'], ['length', 'u64'], ['mode', 'u32'], ['padding', 'u32']),
  LseekIn: struct(['fh', 'u64'], ['offset', 'u64'], ['whence', 'u32'], ['padding', 'u32']),
  LseekOut: struct(['offset', 'u64']),
  CopyFileRangeIn: struct(['fh_in', 'u64'], ['off_in', 'u64'], ['nodeid_out', 'u64'], ['fh_out', 'u64'], ['off_out', 'u64'],
    ['len', 'u64'], ['flags', 'u64']),
  CopyFileRangeOut: struct(['bytes_copied', 'u64']),
  SyncfsIn: struct(['padding', 'u64']),
  StatxIn: struct(['getattr_flags', 'u32'], ['reserved', 'u32'], ['fh', 'u64'], ['sx_flags', 'u32'], ['sx_mask', 'u32']),
  SxTime: fuse_sx_time,
  Statx: fuse_statx,
  StatxOut: struct(['attr_valid', 'u64'], ['attr_valid_nsec', 'u32'], ['flags', 'u32'], ['spare', arr('u64', 2)],
    ['stat', fuse_statx]),
  SetupmappingIn: struct(['fh', 'u64'], ['foffset', 'u64'], ['len', 'u64'], ['flags', 'u64'], ['moffset', 'u64']),
  RemovemappingIn: struct(['count', 'u32']),
  RemovemappingOne: struct(['moffset', 'u64'], ['len', 'u64']),
  CuseInitIn: struct(['major', 'u32'], ['minor', 'u32'], ['unused', 'u32'], ['flags', 'u32']),
  CuseInitOut: struct(['major', 'u32'], ['minor', 'u32'], ['unused', 'u32'], ['flags', 'u32'], ['max_read', 'u32'],
    ['max_write', 'u32'], ['dev_major', 'u32'], ['dev_minor', 'u32'], ['spare', arr('u32', 10)]),
  ExtHeader: struct(['size', 'u32'], ['type', 'u32']),
  SecctxHeader: struct(['size', 'u32'], ['nr_secctx', 'u32']),
  Secctx: struct(['size', 'u32'], ['padding', 'u32']),
  SuppGroups: struct(['nr_groups', 'u32'], ['groups', arr('u32', 0)]),
  NotifyPollWakeupOut: struct(['kh', 'u64']),
  NotifyInvalInodeOut: struct(['ino', 'u64'], ['off', 's64'], ['len', 's64']),
  NotifyInvalEntryOut: struct(['parent', 'u64'], ['namelen', 'u32'], ['flags', 'u32']),
  NotifyDeleteOut: struct(['parent', 'u64'], ['child', 'u64'], ['namelen', 'u32'], ['padding', 'u32']),
  NotifyStoreOut: struct(['nodeid', 'u64'], ['offset', 'u64'], ['size', 'u32'], ['padding', 'u32']),
  NotifyRetrieveOut: struct(['notify_unique', 'u64'], ['nodeid', 'u64'], ['offset', 'u64'], ['size', 'u32'], ['padding', 'u32']),
  NotifyRetrieveIn: struct(['dummy1', 'u64'], ['offset', 'u64'], ['size', 'u32'], ['dummy2', 'u32'], ['dummy3', 'u64'],
    ['dummy4', 'u64']),
  NotifyPruneOut: struct(['count', 'u32'], ['padding', 'u32'], ['spare', 'u64']),
  BackingMap: struct(['fd', 's32'], ['flags', 'u32'], ['padding', 'u64']),
  UringEntInOut: struct(['flags', 'u64'], ['commit_id', 'u64'], ['payload_sz', 'u32'], ['padding', 'u32'], ['reserved', 'u64']),
  UringCmdReq: struct(['flags', 'u64'], ['commit_id', 'u64'], ['qid', 'u16'], ['padding', arr('u8', 6)]),
};

/** Keys of a layout constant that are not field offsets, with their kernel values. */
const EXTRA: Record<string, Record<string, number>> = {
  SetxattrIn: { COMPAT_SIZE: 8 }, // FUSE_COMPAT_SETXATTR_IN_SIZE
};

/** sizeof() as the kernel's compilation gave it (docs §16), independent of the definitions above. */
const SIZES: Record<string, number> = {
  InHeader: 40, OutHeader: 16, AttrL: 88, EntryOut: 128, AttrOut: 104, GetattrIn: 16, SetattrIn: 88, OpenIn: 8,
  OpenOut: 16, CreateIn: 16, ReleaseIn: 24, FlushIn: 24, ReadIn: 40, WriteIn: 40, WriteOut: 8, StatfsOut: 80,
  FsyncIn: 16, MknodIn: 16, MkdirIn: 8, RenameIn: 8, Rename2In: 16, LinkIn: 8, SetxattrIn: 16, GetxattrIn: 8,
  GetxattrOut: 8, LkIn: 48, LkOut: 24, FileLock: 24, AccessIn: 8, InitIn: 64, InitOut: 64, InterruptIn: 8,
  ForgetIn: 8, ForgetOne: 16, BatchForgetIn: 8, BmapIn: 16, BmapOut: 8, IoctlIn: 32, IoctlOut: 16, IoctlIovec: 16,
  PollIn: 24, PollOut: 8, FallocateIn: 32, LseekIn: 24, LseekOut: 8, CopyFileRangeIn: 56, CopyFileRangeOut: 8,
  StatxIn: 24, StatxOut: 288, Statx: 256, SxTime: 16, Dirent: 24, DirentPlus: 152, NotifyInvalInodeOut: 24,
  NotifyInvalEntryOut: 16, NotifyDeleteOut: 24, NotifyStoreOut: 24, NotifyRetrieveOut: 32, NotifyRetrieveIn: 40,
  NotifyPollWakeupOut: 8, NotifyPruneOut: 16, BackingMap: 16, SetupmappingIn: 40, RemovemappingIn: 4,
  RemovemappingOne: 16, SyncfsIn: 8, Secctx: 8, SecctxHeader: 8, ExtHeader: 8, SuppGroups: 4, CuseInitIn: 16,
  CuseInitOut: 72, RingHeader: 288, UringEntInOut: 32, UringCmdReq: 24,
};

const structExports = Object.entries(layout).filter(([, v]) => typeof v === 'object' && v !== null && 'SIZE' in v) as
  [string, Record<string, number>][];

test('the kernel definitions themselves: no implicit padding, sizes as the kernel compiled them', () => {
  for (const [name, def] of Object.entries(KERNEL)) {
    const l = lay(def);
    assert.equal(l.implicitPadding, 0, `${name} would need implicit padding`);
    assert.equal(l.size, SIZES[name], `sizeof ${name}`);
  }
});

test('every struct constant of layout.ts is pinned here', () => {
  const pinned = new Set(Object.keys(KERNEL));
  for (const [name] of structExports) assert.ok(pinned.has(name), `layout.ts exports ${name}, not pinned by this test`);
  for (const name of pinned) assert.ok(structExports.some(([n]) => n === name), `layout.ts lacks ${name}`);
});

for (const [name, def] of Object.entries(KERNEL)) {
  test(`layout.ts ${name}: size and every field offset`, () => {
    const got = (layout as unknown as Record<string, Record<string, number>>)[name];
    assert.ok(got, `layout.ts lacks ${name}`);
    const l = lay(def);
    const expected: Record<string, number> = { SIZE: l.size, ...EXTRA[name] };
    for (const key of Object.keys(got)) {
      if (key in expected) continue;
      assert.ok(l.off.has(key), `${name}.${key} is not a field of the kernel struct`);
      expected[key] = l.off.get(key)!;
    }
    assert.deepEqual({ ...got }, expected);
  });
}

test('the other constants of layout.ts', () => {
  assert.equal(layout.MIN_READ_BUFFER, 8192); // FUSE_MIN_READ_BUFFER
  assert.equal(layout.PAGE_SIZE, 4096);
  assert.equal(layout.EXT_GROUPS, 32); // FUSE_EXT_GROUPS
  assert.deepEqual({ ...layout.NotifyCode }, {
    POLL: 1, INVAL_INODE: 2, INVAL_ENTRY: 3, STORE: 4, RETRIEVE: 5, DELETE: 6, RESEND: 7, INC_EPOCH: 8, PRUNE: 9,
  });
});

test('spot checks against the offsets the kernel documents (docs §6, §16), as literals', () => {
  assert.deepEqual([layout.InHeader.opcode, layout.InHeader.unique, layout.InHeader.nodeid, layout.InHeader.pid, layout.InHeader.total_extlen], [4, 8, 16, 32, 36]);
  assert.deepEqual([layout.RingHeader.op_in, layout.RingHeader.commit_id, layout.RingHeader.payload_sz, layout.RingHeader.ent_padding], [128, 264, 272, 276]);
  assert.deepEqual([layout.AttrL.atimensec, layout.AttrL.mode, layout.AttrL.flags], [48, 60, 84]);
  assert.deepEqual([layout.EntryOut.entry_valid_nsec, layout.EntryOut.attr_valid_nsec, layout.EntryOut.attr], [32, 36, 40]);
  assert.equal(layout.AttrOut.attr, 16);
  assert.deepEqual([layout.OpenOut.open_flags, layout.OpenOut.backing_id], [8, 12]);
  assert.deepEqual([layout.ReadIn.size, layout.ReadIn.lock_owner, layout.ReadIn.flags], [16, 24, 32]);
  assert.deepEqual([layout.ReleaseIn.release_flags, layout.ReleaseIn.lock_owner, layout.FlushIn.lock_owner], [12, 16, 16]);
  assert.deepEqual([layout.SetattrIn.atimensec, layout.SetattrIn.mode, layout.SetattrIn.uid, layout.SetattrIn.gid], [56, 68, 76, 80]);
  assert.deepEqual([layout.StatfsOut.bsize, layout.StatfsOut.namelen, layout.StatfsOut.frsize], [40, 44, 48]);
  assert.deepEqual([layout.StatxIn.fh, layout.StatxIn.sx_flags, layout.StatxIn.sx_mask], [8, 16, 20]);
  assert.deepEqual([layout.StatxOut.flags, layout.StatxOut.stat], [12, 32]);
  assert.deepEqual([layout.Dirent.namelen, layout.Dirent.type, layout.Dirent.name, layout.DirentPlus.dirent], [16, 20, 24, 128]);
  assert.deepEqual([layout.InitOut.max_background, layout.InitOut.max_write, layout.InitOut.max_pages, layout.InitOut.flags2,
    layout.InitOut.max_stack_depth, layout.InitOut.request_timeout], [16, 20, 28, 32, 36, 40]);
  assert.deepEqual([layout.Statx.mode, layout.Statx.ino, layout.Statx.atime, layout.Statx.mtime, layout.Statx.rdev_major], [28, 32, 64, 112, 128]);
});
