// The opcode table as a whole, both layouts: every opcode of 7.45 a filesystem serves has a row
// (and a test in ops-*.test.ts), fixed structs of the kernel's sizes, ENOSYS for each missing
// method, clean errors for truncated and malformed requests, and no exception escaping dispatch()
// whatever the bytes or the handler's results.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { table } from '../../src/abi/table.js';
import { Op, opName } from '../../src/abi/opcodes.js';
import { Init } from '../../src/abi/flags.js';
import { Errno, FuseError } from '../../src/errors.js';
import type { Filesystem } from '../../src/filesystem.js';
import type { Request } from '../../src/abi/request.js';
import { LAYOUTS, both, build, harness, names, replyOf, sampleAttr, sampleEntry, type Layout } from './ops-harness.js';

/** Opcodes with a decode/encode test in ops-entry, ops-attr, ops-file, ops-xattr, ops-lock, ops-io, ops-session. */
const TESTED = new Set<number>([
  Op.LOOKUP, Op.MKDIR, Op.UNLINK, Op.RMDIR, Op.RENAME, Op.RENAME2, Op.SYMLINK, Op.MKNOD, Op.LINK, Op.READLINK,
  Op.GETATTR, Op.SETATTR, Op.STATFS, Op.STATX, Op.ACCESS, Op.SYNCFS,
  Op.OPEN, Op.CREATE, Op.TMPFILE, Op.READ, Op.WRITE, Op.FLUSH, Op.RELEASE, Op.FSYNC, Op.FSYNCDIR, Op.OPENDIR,
  Op.READDIR, Op.READDIRPLUS, Op.RELEASEDIR,
  Op.SETXATTR, Op.GETXATTR, Op.LISTXATTR, Op.REMOVEXATTR,
  Op.GETLK, Op.SETLK, Op.SETLKW,
  Op.FALLOCATE, Op.LSEEK, Op.COPY_FILE_RANGE, Op.COPY_FILE_RANGE_64, Op.BMAP, Op.IOCTL, Op.POLL,
  Op.FORGET, Op.BATCH_FORGET, Op.INTERRUPT, Op.NOTIFY_REPLY, Op.DESTROY,
]);

/**
 * The fixed argument struct the kernel sends first, per opcode (include/uapi/linux/fuse.h 7.45,
 * fs/fuse/*.c). SETXATTR: 8 is the compat fuse_setxattr_in; the row takes the other 8 bytes of
 * the extended form itself when SETXATTR_EXT was negotiated.
 */
const OP_IN: Record<number, number> = {
  [Op.LOOKUP]: 0, [Op.FORGET]: 8, [Op.GETATTR]: 16, [Op.SETATTR]: 88, [Op.READLINK]: 0, [Op.SYMLINK]: 0,
  [Op.MKNOD]: 16, [Op.MKDIR]: 8, [Op.UNLINK]: 0, [Op.RMDIR]: 0, [Op.RENAME]: 8, [Op.LINK]: 8, [Op.OPEN]: 8,
  [Op.READ]: 40, [Op.WRITE]: 40, [Op.STATFS]: 0, [Op.RELEASE]: 24, [Op.FSYNC]: 16, [Op.SETXATTR]: 8,
  [Op.GETXATTR]: 8, [Op.LISTXATTR]: 8, [Op.REMOVEXATTR]: 0, [Op.FLUSH]: 24, [Op.OPENDIR]: 8, [Op.READDIR]: 40,
  [Op.RELEASEDIR]: 24, [Op.FSYNCDIR]: 16, [Op.GETLK]: 48, [Op.SETLK]: 48, [Op.SETLKW]: 48, [Op.ACCESS]: 8,
  [Op.CREATE]: 16, [Op.INTERRUPT]: 8, [Op.BMAP]: 16, [Op.DESTROY]: 0, [Op.IOCTL]: 32, [Op.POLL]: 24,
  [Op.NOTIFY_REPLY]: 0, [Op.BATCH_FORGET]: 8, [Op.FALLOCATE]: 32, [Op.READDIRPLUS]: 40, [Op.RENAME2]: 16, [Op.LSEEK]: 24,
  [Op.COPY_FILE_RANGE]: 56, [Op.SYNCFS]: 8, [Op.TMPFILE]: 16, [Op.STATX]: 24, [Op.COPY_FILE_RANGE_64]: 56,
};

/** The Filesystem method each opcode needs (SETLK/SETLKW: setlk, or flock with FUSE_LK_FLOCK). */
const METHOD: Record<number, keyof Filesystem> = {
  [Op.LOOKUP]: 'lookup', [Op.GETATTR]: 'getattr', [Op.SETATTR]: 'setattr', [Op.READLINK]: 'readlink',
  [Op.SYMLINK]: 'symlink', [Op.MKNOD]: 'mknod', [Op.MKDIR]: 'mkdir', [Op.UNLINK]: 'unlink', [Op.RMDIR]: 'rmdir',
  [Op.RENAME]: 'rename', [Op.LINK]: 'link', [Op.OPEN]: 'open', [Op.READ]: 'read', [Op.WRITE]: 'write',
  [Op.STATFS]: 'statfs', [Op.RELEASE]: 'release', [Op.FSYNC]: 'fsync', [Op.SETXATTR]: 'setxattr',
  [Op.GETXATTR]: 'getxattr', [Op.LISTXATTR]: 'listxattr', [Op.REMOVEXATTR]: 'removexattr', [Op.FLUSH]: 'flush',
  [Op.OPENDIR]: 'opendir', [Op.READDIR]: 'readdir', [Op.RELEASEDIR]: 'releasedir', [Op.FSYNCDIR]: 'fsyncdir',
  [Op.GETLK]: 'getlk', [Op.SETLK]: 'setlk', [Op.SETLKW]: 'setlk', [Op.ACCESS]: 'access', [Op.CREATE]: 'create',
  [Op.BMAP]: 'bmap', [Op.IOCTL]: 'ioctl', [Op.POLL]: 'poll', [Op.FALLOCATE]: 'fallocate',
  [Op.READDIRPLUS]: 'readdirplus', [Op.RENAME2]: 'rename', [Op.LSEEK]: 'lseek',
  [Op.COPY_FILE_RANGE]: 'copyFileRange', [Op.COPY_FILE_RANGE_64]: 'copyFileRange', [Op.SYNCFS]: 'syncfs',
  [Op.TMPFILE]: 'tmpfile', [Op.STATX]: 'statx', [Op.FORGET]: 'forget', [Op.BATCH_FORGET]: 'forget',
};

const NO_REPLY = new Set<number>([Op.FORGET, Op.BATCH_FORGET, Op.INTERRUPT, Op.NOTIFY_REPLY]);
/** Without a method these succeed, as with libfuse's low-level API (OPEN/OPENDIR: handle 0). */
const SUCCEED_WITHOUT = new Set<number>([Op.OPEN, Op.OPENDIR, Op.RELEASE, Op.RELEASEDIR, Op.DESTROY]);
/** Opcodes whose payload starts with a name (that must be NUL-terminated within the request). */
const NAMED = [Op.LOOKUP, Op.MKDIR, Op.UNLINK, Op.RMDIR, Op.RENAME, Op.RENAME2, Op.SYMLINK, Op.MKNOD, Op.LINK,
  Op.CREATE, Op.SETXATTR, Op.GETXATTR, Op.REMOVEXATTR];
/** Served elsewhere (INIT) or virtiofs only (SETUPMAPPING, REMOVEMAPPING). */
const NOT_HERE = new Set<number>([Op.INIT, Op.SETUPMAPPING, Op.REMOVEMAPPING]);

const rows = table.filter((r) => r !== undefined);

test('the table has a row for every opcode of 7.45 a filesystem serves, each tested', () => {
  for (const [name, code] of Object.entries(Op)) {
    if (NOT_HERE.has(code)) continue;
    assert.ok(table[code], `no row for ${name}`);
    assert.equal(table[code]!.name, name);
    assert.equal(table[code]!.opcode, code);
  }
  for (const r of rows) {
    assert.ok(TESTED.has(r.opcode), `${r.name} has no decode/encode test`);
  }
});

test('each row takes the fixed struct of the kernel\'s size', () => {
  for (const r of rows) {
    assert.equal(r.opIn, OP_IN[r.opcode], r.name);
  }
});

/** Every method, each answering validly and counting its calls. */
function fullFs(calls: Record<string, number> = {}): Filesystem {
  const e = sampleEntry(5);
  const impl: Filesystem = {
    lookup: () => e, forget: () => {}, getattr: () => ({ attr: sampleAttr(5) }), setattr: () => ({ attr: sampleAttr(5) }),
    mkdir: () => e, unlink: () => {}, rmdir: () => {}, rename: () => {}, open: () => ({ fh: 1 }),
    create: () => ({ ...e, fh: 1 }), read: () => 0, write: (_c, _n, _f, _o, d) => d.length, flush: () => {},
    release: () => {}, fsync: () => {}, opendir: () => ({ fh: 2 }),
    readdir: (_c, _n, _f, _o, out) => { out.add('a', 1, 8, 1); },
    readdirplus: (_c, _n, _f, _o, out) => { out.add('a', e, 1); }, releasedir: () => {},
    statfs: () => ({ blocks: 1, bfree: 1, bavail: 1, files: 1, ffree: 1, bsize: 4096, namelen: 255, frsize: 4096 }),
    readlink: () => 'target', symlink: () => e, mknod: () => e, link: () => e, setxattr: () => {},
    getxattr: () => Buffer.from('v'), listxattr: () => ['user.a'], removexattr: () => {}, access: () => {},
    fsyncdir: () => {}, getlk: () => ({ start: 0, end: 0, type: 2, pid: 0 }), setlk: () => {}, flock: () => {},
    bmap: () => 1, ioctl: () => ({ result: 0 }), poll: () => 1, fallocate: () => {}, lseek: () => 0,
    copyFileRange: () => 0, tmpfile: () => ({ ...e, fh: 3 }), statx: () => ({ attr: { mask: 0x7ff, ino: 5, mode: 0o100644 } }),
    syncfs: () => {},
  };
  const fs: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(impl)) {
    fs[k] = (...a: unknown[]) => { calls[k] = (calls[k] ?? 0) + 1; return (f as (...x: unknown[]) => unknown)(...a); };
  }
  return fs as Filesystem;
}

/** A well-formed request for each opcode: a zeroed fixed struct and two names. */
const goodData = names('a', 'b');
const dispatchOne = (L: Layout, fs: Filesystem, opcode: number, opIn: Buffer, data: Buffer, o: { devArgBytes?: number; flags?: bigint } = {}) => {
  const h = harness(fs, o.flags);
  const req = build(L, opcode, 1, opIn, data, { devArgBytes: o.devArgBytes });
  h.d.dispatch(req);
  return { ...h, req };
};

both('every opcode without its method: ENOSYS (success for the libfuse defaults, no reply for FORGET/INTERRUPT)', (L) => {
  for (const r of rows) {
    const h = dispatchOne(L, {}, r.opcode, Buffer.alloc(r.opIn), goodData);
    if (NO_REPLY.has(r.opcode)) {
      assert.equal(h.releases.length, 1, r.name);
      assert.equal(h.commits.length, 0, r.name);
      continue;
    }
    assert.equal(h.commits.length, 1, r.name);
    assert.equal(replyOf(h.req).error, SUCCEED_WITHOUT.has(r.opcode) ? 0 : -Errno.ENOSYS, r.name);
  }
});

both('each method missing, all others present: ENOSYS for its opcodes', (L) => {
  for (const [code, method] of Object.entries(METHOD).map(([c, m]) => [Number(c), m] as const)) {
    if (NO_REPLY.has(code) || SUCCEED_WITHOUT.has(code)) continue;
    const fs = fullFs() as Record<string, unknown>;
    delete fs[method];
    const h = dispatchOne(L, fs as Filesystem, code, Buffer.alloc(OP_IN[code]!), goodData);
    assert.equal(replyOf(h.req).error, -Errno.ENOSYS, `${opName(code)} without ${method}`);
  }
});

both('every opcode with its method and a well-formed request succeeds', (L) => {
  for (const r of rows) {
    const calls: Record<string, number> = {};
    const h = dispatchOne(L, fullFs(calls), r.opcode, Buffer.alloc(r.opIn), goodData);
    if (NO_REPLY.has(r.opcode)) { assert.equal(h.releases.length, 1, r.name); continue; }
    assert.equal(replyOf(h.req).error, 0, r.name);
    if (METHOD[r.opcode] && r.opcode !== Op.BATCH_FORGET) assert.equal(calls[METHOD[r.opcode]!], 1, r.name);
    assert.ok(!h.traces.some((t) => t.includes('<undecodable')), `${r.name}: ${h.traces.join(' | ')}`);
  }
});

test('a /dev/fuse request shorter than its fixed struct: EIO (no reply for FORGET/INTERRUPT), method not called', () => {
  for (const flags of [0n, Init.SETXATTR_EXT]) {
    for (const r of rows) {
        const need = r.opcode === Op.SETXATTR && flags ? 16 : OP_IN[r.opcode]!;
      if (need === 0) continue;
      for (const short of [0, need - 1]) {
        const calls: Record<string, number> = {};
        const h = dispatchOne('dev', fullFs(calls), r.opcode, Buffer.alloc(need), Buffer.alloc(0), { devArgBytes: short, flags });
        assert.deepEqual(calls, {}, `${r.name} with ${short} bytes`);
        if (NO_REPLY.has(r.opcode)) { assert.equal(h.releases.length, 1); continue; }
        assert.equal(replyOf(h.req).error, -Errno.EIO, `${r.name} with ${short} bytes`);
      }
    }
  }
});

both('a name without its NUL within the request: EIO, method not called', (L) => {
  for (const code of NAMED) {
    for (const data of [Buffer.from('abc'), Buffer.alloc(0)]) {
      const calls: Record<string, number> = {};
      const h = dispatchOne(L, fullFs(calls), code, Buffer.alloc(OP_IN[code]!), data);
      assert.equal(replyOf(h.req).error, -Errno.EIO, opName(code));
      assert.deepEqual(calls, {}, opName(code));
    }
  }
});

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const JUNK: unknown[] = [undefined, null, -1, 0, 1.5, NaN, Infinity, 2 ** 64, 'x', '', {}, [], [''], Buffer.alloc(70000),
  { attr: null }, { nodeid: -1, attr: {} }, { result: 'x' }, { start: 'a' }, Symbol('s'), () => 0];

/**
 * Every method returns (or throws, or rejects with) something arbitrary. forget() is declared
 * synchronous and FORGET has no reply to carry an error, so it only throws or returns junk: a
 * rejected Promise from it would be an unhandled rejection (see the report on dispatch.ts).
 */
function junkFs(rand: () => number): Filesystem {
  const fs: Record<string, unknown> = {};
  for (const k of Object.keys(fullFs())) {
    fs[k] = () => {
      const x = JUNK[Math.floor(rand() * JUNK.length)];
      const how = rand();
      if (how < 0.1) throw x;
      if (how < 0.15) throw new FuseError(Errno.EPERM);
      if (k === 'forget') return x;
      if (how < 0.25) return Promise.reject(x);
      if (how < 0.35) return Promise.resolve(x);
      return x;
    };
  }
  return fs as Filesystem;
}

function randomBytes(rand: () => number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    // Mostly small values and NULs, so sizes and names are sometimes plausible.
    const k = rand();
    b[i] = k < 0.5 ? 0 : k < 0.8 ? Math.floor(rand() * 8) : Math.floor(rand() * 256);
  }
  return b;
}

/** The reply header is consistent, or the slot was released (no-reply opcodes only). */
function checkSettled(req: Request, commits: Request[], releases: Request[], opcode: number): void {
  const n = commits.filter((c) => c === req).length + releases.filter((c) => c === req).length;
  assert.equal(n, 1, `${opName(opcode)}: settled once`);
  if (releases.includes(req)) { assert.ok(NO_REPLY.has(opcode), `${opName(opcode)} released`); return; }
  const rep = replyOf(req);
  assert.ok(rep.error <= 0 && rep.error > -4096, `${opName(opcode)}: error ${rep.error}`);
}

for (const L of LAYOUTS) {
  test(`fuzz: random bytes for every opcode, valid and junk handlers, never an exception out of dispatch() [${L}]`, async () => {
    const rand = prng(L === 'ring' ? 1 : 2);
    for (let round = 0; round < 300; round++) {
      for (const r of rows) {
            const opIn = randomBytes(rand, Math.max(r.opIn, 16));
        const data = randomBytes(rand, Math.floor(rand() * 64));
        const full = opIn.length + data.length;
        const devArgBytes = rand() < 0.3 ? Math.floor(rand() * (full + 1)) : undefined;
        const flags = rand() < 0.5 ? Init.SETXATTR_EXT : 0n;
        const fs = rand() < 0.5 ? fullFs() : junkFs(rand);
        const h = harness(fs, flags);
        const req = build(L, r.opcode, 1 + Math.floor(rand() * 5), opIn, data, { devArgBytes, payloadSize: 512 + Math.floor(rand() * 4096) });
        assert.doesNotThrow(() => h.d.dispatch(req), r.name);
        await new Promise((ok) => setImmediate(ok));
        checkSettled(req, h.commits, h.releases, r.opcode);
      }
    }
  });
}
