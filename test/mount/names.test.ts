// Names are bytes: a name that is not valid UTF-8 must come back byte for byte through create,
// lookup, readdir, rename, link, symlink targets and xattr names, over both transports. The
// library hands such names to memfs as strings with lone surrogates (src/abi/names.ts) and
// encodes them back; these tests only ever look at the bytes, through Buffer paths in node:fs,
// ls and python3.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { link, mkdir, readFile, readdir, readlink, rename, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { withDaemon, type Transport } from '../helpers/daemon.js';
import { expectErrno } from '../helpers/files.js';
import { uringSkipReason } from '../helpers/proc.js';
import { mustRun } from '../helpers/run.js';

const T = { timeout: 120_000 };

/** "f", three bytes that are no UTF-8 (0xff, 0xfe, a stray continuation 0x80), ".t". */
const ODD = Buffer.from([0x66, 0xff, 0xfe, 0x80, 0x2e, 0x74]);
/** A truncated two-byte sequence (0xc3 then "("), and an overlong encoding of "/" (0xc0 0xaf). */
const ODD2 = Buffer.from([0xc3, 0x28, 0x2d, 0xc0, 0xaf]);

const path = (...parts: (string | Buffer)[]): Buffer => {
  const bufs: Buffer[] = [];
  parts.forEach((p, i) => {
    if (i > 0) bufs.push(Buffer.from('/'));
    bufs.push(typeof p === 'string' ? Buffer.from(p) : p);
  });
  return Buffer.concat(bufs);
};

/** Runs a program and returns its stdout as raw bytes (SIGKILL after 30 s). */
function runBytes(cmd: string, args: readonly string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: 'buffer', timeout: 30_000, killSignal: 'SIGKILL', maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}; stderr: ${stderr.toString()}`));
      else resolve(stdout);
    });
  });
}

/** Names in `dir` as hex strings (python3 os.listdir on bytes). */
async function listHex(dir: Buffer): Promise<string[]> {
  const out = await mustRun('python3', ['-c', 'import os, sys\nprint(*sorted(n.hex() for n in os.listdir(bytes.fromhex(sys.argv[1]))))', dir.toString('hex')]);
  return out.trim().split(' ').filter((s) => s !== '');
}

const hasName = (names: Buffer[], name: Buffer) => names.some((n) => n.equals(name));

for (const transport of ['uring', 'dev'] as const satisfies readonly Transport[]) {
  const skip = transport === 'uring' ? uringSkipReason() : false;

  describe(`names that are not UTF-8 over ${transport === 'uring' ? 'FUSE-over-io_uring' : 'classic /dev/fuse'}`, { skip }, () => {
    it('round-trip through create, lookup, readdir (node, ls, python), rename and unlink', T, () => withDaemon({ transport }, async (d) => {
      const f = path(d.mnt, ODD);
      await writeFile(f, 'odd contents');
      assert.equal(await readFile(f, 'utf8'), 'odd contents');
      assert.ok((await stat(f)).isFile());
      const names = await readdir(Buffer.from(d.mnt), { encoding: 'buffer' });
      assert.ok(hasName(names, ODD), `readdir gives the bytes back: ${names.map((n) => n.toString('hex')).join(' ')}`);
      assert.equal(names.length, 1);
      assert.deepEqual(await runBytes('ls', ['-1', '-N', d.mnt]), Buffer.concat([ODD, Buffer.from('\n')]), 'ls prints the raw bytes');
      assert.deepEqual(await listHex(Buffer.from(d.mnt)), [ODD.toString('hex')]);
      // A lookup of a name one byte off finds nothing.
      await expectErrno(stat(path(d.mnt, Buffer.from([0x66, 0xff, 0xfe, 0x81, 0x2e, 0x74]))), 'ENOENT', 'a different byte');
      await expectErrno(stat(path(d.mnt, 'f\ufffd\ufffd\ufffd.t')), 'ENOENT', 'the replacement-character spelling');
      // Rename to another non-UTF-8 name, in a non-UTF-8 directory.
      const dir = path(d.mnt, ODD2);
      await mkdir(dir);
      const moved = path(d.mnt, ODD2, ODD);
      await rename(f, moved);
      await expectErrno(stat(f), 'ENOENT', 'the old name');
      assert.equal(await readFile(moved, 'utf8'), 'odd contents');
      assert.deepEqual(await listHex(dir), [ODD.toString('hex')]);
      assert.deepEqual((await readdir(Buffer.from(d.mnt), { encoding: 'buffer' })).map((n) => n.toString('hex')), [ODD2.toString('hex')]);
      const renamed = path(d.mnt, ODD2, ODD2);
      await rename(moved, renamed);
      assert.deepEqual(await listHex(dir), [ODD2.toString('hex')]);
      // A hard link under a third odd name.
      const third = Buffer.concat([ODD, ODD2]);
      await link(renamed, path(d.mnt, third));
      assert.equal((await stat(renamed)).nlink, 2);
      assert.equal(await readFile(path(d.mnt, third), 'utf8'), 'odd contents');
      await unlink(renamed);
      await expectErrno(stat(renamed), 'ENOENT', 'the unlinked name');
      assert.deepEqual(await listHex(dir), []);
      assert.deepEqual((await listHex(Buffer.from(d.mnt))).sort(), [ODD2.toString('hex'), third.toString('hex')].sort());
    }));

    it('valid UTF-8 names stay as they are, and 255 bytes is the limit whatever the bytes', T, () => withDaemon({ transport }, async (d) => {
      const names = ['naïve', '名前', 'emoji-😀', 'e\u0301-combining'];
      for (const n of names) await writeFile(`${d.mnt}/${n}`, n);
      assert.deepEqual((await readdir(d.mnt)).sort(), [...names].sort());
      for (const n of names) assert.equal(await readFile(`${d.mnt}/${n}`, 'utf8'), n);
      const ff255 = Buffer.alloc(255, 0xff);
      await writeFile(path(d.mnt, ff255), 'long');
      assert.ok(hasName(await readdir(Buffer.from(d.mnt), { encoding: 'buffer' }), ff255));
      await expectErrno(writeFile(path(d.mnt, Buffer.alloc(256, 0xff)), 'x'), 'ENAMETOOLONG', 'a 256-byte name');
    }));

    it('symlink targets carry any bytes: readlink returns them, and the link resolves', T, () => withDaemon({ transport }, async (d) => {
      await writeFile(path(d.mnt, ODD), 'reached through the link');
      const linkName = path(d.mnt, ODD2);
      await symlink(ODD, linkName);
      assert.deepEqual(await readlink(linkName, { encoding: 'buffer' }), ODD);
      assert.equal(await readFile(linkName, 'utf8'), 'reached through the link');
      // A dangling target with odd bytes in several components.
      const target = Buffer.concat([Buffer.from('/nowhere/'), ODD2, Buffer.from('/'), ODD, Buffer.from([0xff])]);
      const dangling = path(d.mnt, 'dangling');
      await symlink(target, dangling);
      assert.deepEqual(await readlink(dangling, { encoding: 'buffer' }), target);
      await expectErrno(stat(dangling), 'ENOENT', 'following the dangling link');
      const size = (await mustRun('stat', ['-c', '%s', `${d.mnt}/dangling`])).trim();
      assert.equal(size, String(target.length), 'st_size is the target length in bytes');
      const py = await mustRun('python3', ['-c', 'import os, sys\nprint(os.readlink(bytes.fromhex(sys.argv[1])).hex())', dangling.toString('hex')]);
      assert.equal(py.trim(), target.toString('hex'));
    }));

    it('xattr names with bytes that are not UTF-8 round-trip through setxattr, listxattr and getxattr', T, () => withDaemon({ transport }, async (d) => {
      const f = path(d.mnt, ODD);
      await writeFile(f, '');
      const out = await mustRun('python3', ['-c', `
import os, sys
f = bytes.fromhex(sys.argv[1])
name = b'user.' + bytes.fromhex(sys.argv[2])
os.setxattr(f, name, b'odd value')
os.setxattr(f, b'user.plain', b'plain')
print(*sorted(os.fsencode(n).hex() for n in os.listxattr(f)))
print(os.getxattr(f, name).decode())
try:
    os.getxattr(f, b'user.' + bytes.fromhex(sys.argv[2])[:-1])
except OSError as e:
    print(e.errno)
os.removexattr(f, name)
print(*sorted(os.listxattr(f)))`, f.toString('hex'), ODD.toString('hex')]);
      const [listed, value, missing, after] = out.trim().split('\n');
      const oddName = Buffer.concat([Buffer.from('user.'), ODD]).toString('hex');
      assert.deepEqual(listed!.split(' '), [oddName, Buffer.from('user.plain').toString('hex')].sort());
      assert.equal(value, 'odd value');
      assert.equal(missing, '61', 'a name one byte shorter is ENODATA');
      assert.equal(after, 'user.plain');
    }));
  });
}
