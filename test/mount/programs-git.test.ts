// git and sqlite3 on a real mount, for every filesystem the fixture serves (memfs; mirror with
// and without FUSE passthrough once the fixture has them) over both transports. git: init,
// commits of hundreds of files (add, modify, rename, delete, gc), fsck --full, clone
// (hard-linked and --no-local) inside the mount. sqlite3: a WAL database (the -shm file is a
// MAP_SHARED mapping shared by every connection) filled in transactions by one process while
// another holds a read snapshot and a third reads committed data, then integrity_check, here
// and on a copy taken out of the mount.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, lstat, mkdir, readdir, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { inBatches } from '../helpers/files.js';
import { uringSkipReason } from '../helpers/proc.js';
import { mustRun, runCmd } from '../helpers/run.js';
import { FILESYSTEMS, TRANSPORTS, fsLabel, opts, transportName, withFs, type FsMount } from '../helpers/programs.js';

const T = { timeout: 200_000 };

/** git with the mount's environment (HOME in scratch, fixed identity), asserting exit 0. */
const git = (m: FsMount, cwd: string, args: readonly string[], timeout = 60_000) =>
  mustRun('git', args, { ...opts(m, timeout), cwd });

/** Content that differs per file and spans 1 to 6 pages. */
const fileText = (rel: string, n: number) =>
  `${rel}\n${Array.from({ length: 40 + (n % 6) * 120 }, (_, i) => `line ${i} of ${rel}: ${'#'.repeat(i % 23)}`).join('\n')}\n`;

/** `git fsck --full --strict`: exit 0 and nothing that reports damage. */
async function fsckClean(m: FsMount, repo: string): Promise<void> {
  const r = await runCmd('git', ['fsck', '--full', '--strict', '--no-progress'], { ...opts(m, 90_000), cwd: repo });
  assert.equal(r.code, 0, `git fsck in ${repo} exited ${r.code}: ${r.stdout}${r.stderr}`);
  assert.doesNotMatch(`${r.stdout}${r.stderr}`, /error|missing|corrupt|broken|bad |invalid/i, `git fsck in ${repo}: ${r.stdout}${r.stderr}`);
}

async function statusClean(m: FsMount, repo: string): Promise<void> {
  assert.equal(await git(m, repo, ['status', '--porcelain', '--untracked-files=all']), '', `git status in ${repo} is clean`);
}

for (const fsKind of FILESYSTEMS) {
  for (const transport of TRANSPORTS) {
    const skip = transport === 'uring' ? uringSkipReason() : false;

    describe(`git and sqlite3 on ${fsLabel(fsKind)} over ${transportName(transport)}`, { skip }, () => {
      it('git: init, commits of 300 files, modify/rename/delete, gc, fsck --full, clone twice', T, () =>
        withFs(fsKind, transport, async (m) => {
          const repo = join(m.mnt, 'repo');
          await git(m, m.mnt, ['init', '-q', '-b', 'main', repo]);
          const files: string[] = [];
          for (let d = 0; d < 10; d++) {
            for (let s = 0; s < 3; s++) {
              await mkdir(join(repo, `dir${d}`, `sub${s}`), { recursive: true });
              for (let f = 0; f < 10; f++) files.push(`dir${d}/sub${s}/file${f}.txt`);
            }
          }
          await inBatches(files.map((rel, n) => ({ rel, n })), 16, ({ rel, n }) => writeFile(join(repo, rel), fileText(rel, n)));
          await writeFile(join(repo, 'blob.bin'), randomBytes(300_000));
          await writeFile(join(repo, 'run.sh'), '#!/bin/sh\necho run\n', { mode: 0o755 });
          await symlink('dir0/sub0/file0.txt', join(repo, 'link'));
          await git(m, repo, ['add', '-A']);
          await git(m, repo, ['commit', '-q', '-m', 'initial: 300 files, a binary, a script, a symlink']);
          assert.equal((await git(m, repo, ['ls-files'])).split('\n').filter(Boolean).length, 303);

          // Modify every tenth file and a mode.
          for (let i = 0; i < files.length; i += 10) await appendFile(join(repo, files[i]!), `modified ${i}\n`);
          await mustRun('chmod', ['755', join(repo, files[1]!)]);
          await git(m, repo, ['commit', '-q', '-a', '-m', 'modify 30 files and a mode']);
          // Renames: a whole directory and a file to the top.
          await git(m, repo, ['mv', 'dir1', 'moved1']);
          await git(m, repo, ['mv', 'dir0/sub1/file3.txt', 'top.txt']);
          await git(m, repo, ['commit', '-q', '-m', 'rename a directory and a file']);
          // Deletes: git rm of a directory, rm behind git's back.
          await git(m, repo, ['rm', '-r', '-q', 'dir2']);
          await unlink(join(repo, 'dir3/sub0/file1.txt'));
          await rm(join(repo, 'dir4'), { recursive: true });
          await git(m, repo, ['add', '-A']);
          await git(m, repo, ['commit', '-q', '-m', 'delete two directories and a file']);
          // Pack everything (writes packs, renames over, deletes loose objects), then add loose ones.
          await git(m, repo, ['gc', '-q', '--prune=now'], 90_000);
          await writeFile(join(repo, 'after-gc.txt'), 'loose again\n');
          await appendFile(join(repo, 'top.txt'), 'after gc\n');
          await git(m, repo, ['add', '-A']);
          await git(m, repo, ['commit', '-q', '-m', 'after gc']);
          assert.equal((await git(m, repo, ['ls-files'])).split('\n').filter(Boolean).length, 303 - 30 - 1 - 30 + 1);
          await fsckClean(m, repo);
          await statusClean(m, repo);
          const head = (await git(m, repo, ['rev-parse', 'HEAD'])).trim();
          const count = (await git(m, repo, ['log', '--oneline'])).split('\n').filter(Boolean).length;
          assert.equal(count, 5);

          // A local clone hard-links the objects; --no-local goes through pack-objects/index-pack.
          await git(m, m.mnt, ['clone', '-q', repo, join(m.mnt, 'clone')], 90_000);
          await git(m, m.mnt, ['clone', '-q', '--no-local', repo, join(m.mnt, 'clone2')], 90_000);
          const packs = (await readdir(join(m.mnt, 'clone', '.git', 'objects', 'pack'))).filter((n) => n.endsWith('.pack'));
          assert.ok(packs.length >= 1, 'the local clone has the pack');
          for (const p of packs) {
            assert.equal((await lstat(join(m.mnt, 'clone', '.git', 'objects', 'pack', p))).nlink, 2,
              `${p} in the local clone is a hard link of the original's (git clone falls back to copying if link() fails)`);
          }
          for (const c of ['clone', 'clone2']) {
            const dir = join(m.mnt, c);
            assert.equal((await git(m, dir, ['log', '--oneline'])).split('\n').filter(Boolean).length, count, `${c}: git log --oneline | wc -l`);
            assert.equal((await git(m, dir, ['rev-parse', 'HEAD'])).trim(), head, `${c}: HEAD`);
            await statusClean(m, dir);
            await fsckClean(m, dir);
            const r = await runCmd('diff', ['-r', '--no-dereference', '--exclude=.git', repo, dir], { timeout: 60_000 });
            assert.equal(r.code, 0, `diff -r repo ${c}:\n${r.stdout.slice(0, 3000)}${r.stderr}`);
          }
          await statusClean(m, repo);
        }));

      it('sqlite3 in WAL mode: 10,000 rows in transactions, a concurrent snapshot reader, integrity_check', T, () =>
        withFs(fsKind, transport, async (m) => {
          const db = join(m.mnt, 'test.db');
          const oneShot = async (sql: string) => (await mustRun('sqlite3', ['-batch', db, sql], opts(m))).trim();
          const w = m.start('sqlite3 writer', 'sqlite3', ['-batch', db]);
          w.send('PRAGMA journal_mode=WAL;\n');
          assert.equal((await w.until('\n', 30_000)).trim(), 'wal', 'journal_mode=WAL took effect');
          w.send('CREATE TABLE t(id INTEGER PRIMARY KEY, tag TEXT NOT NULL UNIQUE, n INTEGER NOT NULL, payload BLOB NOT NULL);\n');
          const BATCHES = 10, PER = 1000;
          let payloadBytes = 0;
          const batch = (b: number) => {
            const rows: string[] = [];
            for (let i = 0; i < PER; i++) {
              const len = 50 + ((b * PER + i) % 300);
              payloadBytes += len;
              rows.push(`INSERT INTO t(tag, n, payload) VALUES ('b${b}-r${i}', ${b * PER + i}, randomblob(${len}));`);
            }
            return `BEGIN;\n${rows.join('\n')}\nCOMMIT;\nSELECT 'committed-${b}';\n`;
          };
          w.send(batch(0));
          await w.until('committed-0\n', 60_000);

          // A second connection opens a read transaction: its snapshot is the first batch.
          const r = m.start('sqlite3 reader', 'sqlite3', ['-batch', db]);
          r.send("BEGIN; SELECT 'r1:' || count(*) FROM t;\n");
          assert.equal((await r.until('\n', 30_000)).trim(), `r1:${PER}`);

          for (let b = 1; b < BATCHES; b++) {
            w.send(batch(b));
            await w.until(`committed-${b}\n`, 60_000);
            if (b === 4) {
              // A third process sees what is committed, while the writer and the reader are open.
              assert.equal(await oneShot('SELECT count(*) FROM t;'), String(5 * PER), 'a new connection sees the five committed batches');
              for (const suffix of ['-wal', '-shm']) {
                const st = await lstat(`${db}${suffix}`);
                assert.ok(st.isFile() && st.size > 0, `${db}${suffix} exists and is not empty (size ${st.size})`);
              }
            }
          }
          r.send("SELECT 'r2:' || count(*) FROM t;\n");
          assert.equal((await r.until('\n', 30_000)).trim(), `r2:${PER}`, 'the open read transaction still sees its snapshot');
          r.send("COMMIT; SELECT 'r3:' || count(*) FROM t;\n");
          assert.equal((await r.until('\n', 30_000)).trim(), `r3:${BATCHES * PER}`, 'after COMMIT the reader sees every batch');

          const total = BATCHES * PER;
          assert.equal(await oneShot('PRAGMA integrity_check;'), 'ok');
          assert.equal(await oneShot('SELECT count(*), count(DISTINCT tag), sum(n), sum(length(payload)) FROM t;'),
            `${total}|${total}|${(total * (total - 1)) / 2}|${payloadBytes}`);
          // Some updates and deletes, then a checkpoint while both connections are open.
          w.send("UPDATE t SET payload = zeroblob(10) WHERE n % 7 = 0; DELETE FROM t WHERE n % 10 = 9; SELECT 'changed';\n");
          await w.until('changed\n', 60_000);
          w.send("PRAGMA wal_checkpoint(TRUNCATE); SELECT 'checkpointed';\n");
          assert.match(await w.until('checkpointed\n', 60_000), /^0\|0\|0\s*$/, 'the checkpoint completed (not busy, WAL emptied)');
          assert.equal(await oneShot('PRAGMA integrity_check;'), 'ok');

          w.send('.quit\n');
          r.send('.quit\n');
          await w.mustExit0(30_000);
          await r.mustExit0(30_000);
          const remaining = total - total / 10;
          assert.equal(await oneShot('SELECT count(*), sum(length(payload) = 10) FROM t;'),
            `${remaining}|${Array.from({ length: total }, (_, n) => n).filter((n) => n % 10 !== 9 && n % 7 === 0).length}`);
          // The last connection to close checkpoints and removes the WAL; the database file
          // alone, copied out of the mount, is the whole database.
          await assert.rejects(lstat(`${db}-wal`), { code: 'ENOENT' }, 'the WAL file is gone after the last close');
          const copy = join(m.scratch, 'copy.db');
          await mustRun('cp', [db, copy], opts(m));
          const out = (await mustRun('sqlite3', ['-batch', copy, 'PRAGMA integrity_check; SELECT count(*) FROM t;'], opts(m))).trim();
          assert.equal(out, `ok\n${remaining}`, 'the copy taken out of the mount');
        }));
    });
  }
}
