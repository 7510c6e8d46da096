// Small file-system assertions shared by the mount tests.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Asserts that `p` rejects with the errno code `code` (e.g. 'ENOENT'). */
export async function expectErrno(p: Promise<unknown>, code: string, what = 'the call'): Promise<void> {
  let result: unknown;
  try {
    result = await p;
  } catch (e) {
    assert.equal((e as NodeJS.ErrnoException).code, code, `${what}: expected ${code}, got ${(e as Error).message}`);
    return;
  }
  assert.fail(`${what}: expected ${code}, but it succeeded (${JSON.stringify(result)})`);
}

/** A scratch directory on the ordinary file system (never the FUSE mount), removed afterwards. */
export async function withTempDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(await realpath(tmpdir()), 'fuse-uring-data-'));
  try {
    return await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Writes `size` random bytes to `path` and returns them. */
export async function randomFile(path: string, size: number): Promise<Buffer> {
  const data = randomBytes(size);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, data);
  return data;
}

/** Runs `fn` over `items` with at most `width` calls in flight. */
export async function inBatches<T>(items: readonly T[], width: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(fn));
}
