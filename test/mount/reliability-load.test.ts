// Abort and unmount under load (issue 6, item 2): client processes hammer the mount — writes read
// back and compared, stats of names whose lookup takes 200 ms (so requests are always in flight),
// readdir, and reads through a file held open — while it is unmounted (umount, umount -l) or its
// connection aborted through fusectl. Every way ends the session cleanly: destroy() once, the
// request buffers let go, exit 0, no crash or unhandled rejection; no byte read back differs
// from what was written. The CLI exits 0 for an unmount and 1, with one line, for an abort.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Child, fmtExit, makeMountpoint, parseJsonLines, teardown } from '../helpers/child.js';
import { CLI, lines, mountedLine } from '../helpers/cli.js';
import { ROOT, type Transport } from '../helpers/daemon.js';
import { isMounted, uringSkipReason } from '../helpers/proc.js';
import { runCmd } from '../helpers/run.js';

const T = { timeout: 120_000 };
const FUSECTL = '/sys/fs/fuse/connections';
const FAULTY = join(ROOT, 'dist', 'test', 'fixtures', 'faulty.js');
const fusectlSkip = existsSync(join(FUSECTL, 'version')) || readFileSync('/proc/mounts', 'utf8').includes(` ${FUSECTL} fusectl `)
  ? false : 'fusectl is not mounted (node scripts/test-setup.js mounts it)';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * A client process: 4 chains of write → read back → compare, a stat of a slow name, readdir, and
 * a read through a file it holds open (dropped on SIGUSR1). Runs until SIGTERM, then prints
 * {"ops","errors":{code:n},"mismatches","heldReads"} and exits 0.
 */
const HAMMER = `
import { promises as fsp } from 'node:fs';
import { randomBytes } from 'node:crypto';
const dir = process.argv[1];
const stats = { ops: 0, errors: {}, mismatches: 0, heldReads: 0 };
let stop = false;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const heldData = randomBytes(8192);
await fsp.writeFile(dir + '/held', heldData);
let held = await fsp.open(dir + '/held', 'r');
process.on('SIGUSR1', () => { const h = held; held = null; h?.close().catch(() => {}); });
process.on('SIGTERM', () => { stop = true; });
const count = (e) => { const c = e.code ?? String(e.message); stats.errors[c] = (stats.errors[c] ?? 0) + 1; };
let started = false;
async function chain(i) {
  for (let n = 0; !stop; n++) {
    let failed = false;
    const fail = (e) => { count(e); failed = true; };
    const data = randomBytes(1 + ((n * 7919 + i * 104729) % 65536));
    try {
      await fsp.writeFile(dir + '/f' + i, data);
      const back = await fsp.readFile(dir + '/f' + i);
      if (!back.equals(data)) stats.mismatches++;
      stats.ops += 2;
    } catch (e) { fail(e); }
    try { await fsp.stat(dir + '/slow-' + i + '-' + n); stats.ops++; } catch (e) { if (e.code === 'ENOENT') stats.ops++; else fail(e); }
    try { await fsp.readdir(dir); stats.ops++; } catch (e) { fail(e); }
    const h = held;
    if (h) {
      try {
        const b = Buffer.alloc(8192);
        const { bytesRead } = await h.read(b, 0, 8192, 0);
        if (bytesRead !== 8192 || !b.equals(heldData)) stats.mismatches++;
        stats.heldReads++;
      } catch (e) { if (held) fail(e); }
    }
    if (!started && i === 0) { started = true; process.stdout.write('started\\n'); }
    if (failed) await sleep(5);
  }
}
await Promise.all([0, 1, 2, 3].map(chain));
process.stdout.write(JSON.stringify(stats) + '\\n');
`;

interface HammerStats { ops: number; errors: Record<string, number>; mismatches: number; heldReads: number }

interface Hammer { child: Child; stop(): Promise<HammerStats> }

async function startHammer(dir: string): Promise<Hammer> {
  // Its own scratch directory as the Child's "mount point": the teardown must not touch the real one.
  const scratch = await makeMountpoint('hammer');
  const child = new Child(`hammer ${dir}`, scratch, 'env', ['UV_THREADPOOL_SIZE=16', process.execPath, '--input-type=module', '-e', HAMMER, dir]);
  await child.waitFor('started', () => (child.stdout().includes('started') ? true : undefined), 20_000);
  return {
    child,
    async stop() {
      child.signal('SIGTERM');
      await child.waitExit(20_000).catch(() => undefined);
      await teardown(child);
      const last = parseJsonLines<HammerStats>(child.stdout()).pop();
      assert.ok(last, `the hammer printed no summary (${child.exit && fmtExit(child.exit)}): ${child.stderr()}`);
      return last;
    },
  };
}

interface Faulty {
  child: Child;
  mnt: string;
  ready: { id: number; bufferBytes: number; transport: Transport };
  closed(): { ok: boolean; destroyCalls: number; aborted: boolean; arrayBuffers: number; error?: string } | undefined;
}

async function startFaulty(transport: Transport): Promise<Faulty> {
  const mnt = await makeMountpoint(`load-${transport}`);
  const child = new Child(`faulty(${transport})`, mnt, process.execPath, [FAULTY, '--transport', transport, '--mnt', mnt]);
  const events = () => parseJsonLines<{ event: string } & Record<string, unknown>>(child.stdout());
  const ready = await child.waitFor('ready', () => events().find((e) => e.event === 'ready'), 20_000).catch(async (e) => {
    await teardown(child);
    throw e;
  });
  return {
    child, mnt, ready: ready as unknown as Faulty['ready'],
    closed: () => events().find((e) => e.event === 'closed') as ReturnType<Faulty['closed']>,
  };
}

type How = 'umount' | 'umount -l' | 'abort';

/** The fusectl id of the mount on `mnt`: the minor of its device in /proc/self/mountinfo. */
function connectionId(mnt: string): number {
  const line = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4] === mnt).pop();
  assert.ok(line, `${mnt} is not mounted`);
  return Number(line.split(' ')[2]!.split(':')[1]);
}

/**
 * Does the unmount or abort. A plain umount is refused (EBUSY) while anything in the mount is in
 * use — an open file, a lookup in flight — so under load it must fail without disturbing anyone;
 * it succeeds once the clients have stopped (`stopClients`), with their last requests (RELEASE,
 * FORGET) still arriving.
 */
async function act(how: How, f: Faulty, stopClients: () => Promise<void>): Promise<void> {
  if (how === 'abort') {
    await writeFile(join(FUSECTL, String(f.ready.id), 'abort'), '1');
    return;
  }
  if (how === 'umount -l') {
    const r = await runCmd('umount', ['-l', f.mnt], { timeout: 10_000 });
    assert.equal(r.code, 0, r.stderr);
    return;
  }
  for (let i = 0; i < 3; i++) {
    const busy = await runCmd('umount', [f.mnt], { timeout: 10_000 });
    assert.notEqual(busy.code, 0, 'umount succeeded although files are open and requests in flight');
    assert.match(busy.stderr, /busy/);
    await sleep(100);
  }
  assert.equal(await isMounted(f.mnt), true, 'a refused umount leaves the mount served');
  const stopping = stopClients();
  const end = Date.now() + 20_000;
  for (;;) {
    const r = await runCmd('umount', [f.mnt], { timeout: 10_000 });
    if (r.code === 0) break;
    assert.match(r.stderr, /busy/);
    assert.ok(Date.now() < end, 'umount still found the mount busy 20 s after the clients were told to stop');
    await sleep(5);
  }
  await stopping;
}

for (const transport of ['uring', 'dev'] as const satisfies readonly Transport[]) {
  describe(`under load over ${transport}`, { skip: transport === 'uring' ? uringSkipReason() : false }, () => {
    for (const how of ['umount', 'umount -l', 'abort'] as const) {
      it(`${how} while requests are in flight and files are open ends the session cleanly`, { ...T, skip: how === 'abort' ? fusectlSkip : false }, async () => {
        const f = await startFaulty(transport);
        const hammers: Hammer[] = [];
        try {
          for (const d of ['w1', 'w2']) {
            await mkdir(join(f.mnt, d));
            hammers.push(await startHammer(join(f.mnt, d)));
          }
          await sleep(800);
          let results: HammerStats[] | undefined;
          const stopClients = async () => { results ??= await Promise.all(hammers.map((h) => h.stop())); };
          await act(how, f, stopClients);
          // After a lazy unmount the held files keep the connection alive: reads through them
          // still work. The session ends once the clients let go.
          await sleep(how === 'umount -l' ? 500 : 200);
          await stopClients();
          results = results!;
          const exit = await f.child.waitExit(15_000);
          const why = `hammers ${JSON.stringify(results)}; stderr:\n${f.child.stderr()}`;
          assert.deepEqual(exit, { code: 0, signal: null }, `the daemon ended with ${fmtExit(exit)}; ${why}`);
          const closed = f.closed();
          assert.equal(closed?.ok, true, why);
          assert.equal(closed?.destroyCalls, 1, why);
          assert.equal(closed?.aborted, how === 'abort', `aborted flag; ${why}`);
          assert.ok(closed!.arrayBuffers < f.ready.bufferBytes / 4,
            `the request buffers (${f.ready.bufferBytes} bytes) were let go: ${closed!.arrayBuffers} bytes of ArrayBuffers after GC`);
          assert.doesNotMatch(f.child.stderr(), /transport failed|unhandled|Error:/i, why);
          assert.equal(await isMounted(f.mnt), false, 'no mount left');
          for (const r of results) {
            assert.equal(r.mismatches, 0, `data read back differed from what was written; ${why}`);
            assert.ok(r.ops > 20, `the hammer got work done before the ${how}: ${JSON.stringify(r)}`);
          }
          const codes = Object.keys(Object.assign({}, ...results.map((r) => r.errors)));
          if (how === 'abort') assert.ok(codes.some((c) => c === 'ECONNABORTED' || c === 'ENOTCONN'), `the clients saw the abort: ${codes}`);
          else assert.ok(codes.every((c) => c === 'ENOENT'), `the only errors after an unmount are ENOENT (the path is gone): ${codes}`);
          if (how === 'umount -l') assert.ok(results.every((r) => r.heldReads > 0));
        } finally {
          for (const h of hammers) await h.stop().catch(() => undefined);
          await teardown(f.child);
        }
      });
    }

    for (const how of ['umount -l', 'abort'] as const) {
      it(`the CLI under load exits ${how === 'abort' ? '1 with one line saying the connection was aborted' : '0'} after ${how}`,
        { ...T, skip: how === 'abort' ? fusectlSkip : false }, async () => {
          const mnt = await makeMountpoint(`load-cli-${transport}`);
          const cli = new Child('cli', mnt, process.execPath, [CLI, 'memfs', mnt, '--transport', transport]);
          let hammer: Hammer | undefined;
          try {
            await cli.waitFor('mounted line', () => (cli.stderr().includes(mountedLine(mnt)) ? true : undefined), 20_000);
            await mkdir(join(mnt, 'w'));
            hammer = await startHammer(join(mnt, 'w'));
            await sleep(500);
            if (how === 'abort') {
              await writeFile(join(FUSECTL, String(connectionId(mnt)), 'abort'), '1');
            } else {
              assert.equal((await runCmd('umount', ['-l', mnt])).code, 0);
            }
            await sleep(200);
            await hammer.stop();
            hammer = undefined;
            const exit = await cli.waitExit(15_000);
            const out = lines(cli.stderr());
            if (how === 'abort') {
              assert.deepEqual(exit, { code: 1, signal: null }, cli.stderr());
              assert.equal(out.length, 2, `the mounted line and one more:\n${cli.stderr()}`);
              assert.match(out[1]!, /^fuse-uring: the FUSE connection of .* was aborted \(through \/sys\/fs\/fuse\/connections\/\d+\/abort, or by the kernel\)/);
            } else {
              assert.deepEqual(exit, { code: 0, signal: null }, cli.stderr());
              assert.equal(out.length, 1, cli.stderr());
            }
            assert.equal(await isMounted(mnt), false);
          } finally {
            await hammer?.stop().catch(() => undefined);
            await teardown(cli);
          }
        });
    }
  });
}
