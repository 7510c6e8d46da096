// FUSE_INTERRUPT end to end, over both transports: a client process (a child of the test) blocks
// in a synchronous request that the fixture (test/fixtures/interrupt-fs.ts) holds for 30 s; the
// test signals the client; the kernel sends INTERRUPT (over /dev/fuse, even with the ring); the
// dispatcher aborts ctx.signal; the handler answers EINTR; the client ends at once, and the
// daemon goes on serving. Without the plumbing the client would stay blocked the full 30 s: a
// request already sent can only end with the daemon's answer (even SIGKILL waits for it).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import { uringSkipReason } from '../helpers/proc.js';
import { withFixture, type Fixture, type Transport } from '../fixtures/harness.js';

const T = { timeout: 120_000 };
/** Far below the fixture's 30 s wait: only an answered INTERRUPT ends the client this fast. */
const QUICK_MS = 5_000;

interface Client {
  pid: number;
  out(): string;
  err(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  kill(sig: NodeJS.Signals): void;
}

function startClient(cmd: string, args: readonly string[]): Client {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  if (proc.pid === undefined) throw new Error(`could not spawn ${cmd}`);
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (s: string) => { out += s; });
  proc.stderr!.setEncoding('utf8').on('data', (s: string) => { err += s; });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
  return {
    pid: proc.pid, out: () => out, err: () => err, exited,
    kill: (sig) => { if (proc.exitCode === null && proc.signalCode === null) proc.kill(sig); },
  };
}

async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}

interface Waiting { op: string; unique: number; pid: number; devReads: number }
interface Interrupted { op: string; unique: number; ms: number; devReads: number }

/**
 * Signals `client` once the fixture holds its `op` request; checks that the handler saw the
 * interrupt, that the INTERRUPT came through /dev/fuse, and that the client ended quickly.
 */
async function interruptClient(f: Fixture, client: Client, op: string, sig: NodeJS.Signals) {
  try {
    const w = await f.waitEvent(`the fixture holding ${op}`, (e) => e.event === 'waiting' && e.op === op, 10_000) as unknown as Waiting;
    assert.equal(w.pid, client.pid, 'the held request is the client\'s');
    const t0 = Date.now();
    client.kill(sig);
    const ended = await within(client.exited, 15_000, `client exit after ${sig}`);
    const ie = await f.waitEvent('the handler\'s interrupt', (e) => e.event === 'interrupted' && e.unique === w.unique, 5_000) as unknown as Interrupted;
    assert.equal(ie.op, op);
    assert.ok(ended.at - t0 < QUICK_MS, `the client ended ${ended.at - t0} ms after ${sig}: the INTERRUPT was not answered`);
    // With the ring too, INTERRUPT arrives through /dev/fuse (the original request over the ring).
    assert.ok(ie.devReads > w.devReads, `a /dev/fuse read brought the INTERRUPT: ${JSON.stringify({ w, ie })}`);
    return { w, ie, ended, afterMs: ended.at - t0 };
  } finally {
    client.kill('SIGKILL');
    await within(client.exited, 40_000, 'client exit').catch(() => undefined);
  }
}

async function stillServing(f: Fixture, interrupts: number): Promise<void> {
  assert.equal(await readFile(join(f.mnt, 'fast'), 'utf8'), 'fast file\n', 'the daemon serves the next request');
  const s = await f.call<{ pending: number; interrupts: number }>('stats');
  assert.equal(s.pending, 0, `no handler left pending: ${JSON.stringify(s)}`);
  assert.equal(s.interrupts, interrupts);
  assert.ok(!f.events().some((e) => e.event === 'wait-expired'), 'no handler ran into its 30 s limit');
}

for (const transport of ['uring', 'dev'] as const satisfies readonly Transport[]) {
  const skip = transport === 'uring' ? uringSkipReason() : false;

  describe(`FUSE_INTERRUPT over ${transport}`, { skip }, () => {
    it('SIGINT to `cat` blocked in open(2): the handler sees ctx.signal, cat dies at once, the daemon goes on', T, (t) =>
      withFixture('interrupt-fs.js', transport, [], async (f) => {
        assert.equal(f.ready.transport, transport);
        const client = startClient('cat', [join(f.mnt, 'slow')]);
        const r = await interruptClient(f, client, 'OPEN', 'SIGINT');
        t.diagnostic(`cat ended ${r.afterMs} ms after SIGINT; handler held OPEN ${r.ie.ms} ms; /dev/fuse reads ${r.w.devReads} → ${r.ie.devReads}`);
        assert.equal(r.ended.signal, 'SIGINT', `cat: ${client.err()}`);
        await stillServing(f, 1);
      }));

    it('a caught signal makes the blocked open(2) fail with EINTR', T, (t) =>
      withFixture('interrupt-fs.js', transport, [], async (f) => {
        // libc open() through ctypes: no retry on EINTR (Python's own os.open would retry).
        const script = [
          'import ctypes, json, os, signal, sys, time',
          'signal.signal(signal.SIGUSR1, lambda s, f: None)',
          'libc = ctypes.CDLL(None, use_errno=True)',
          't = time.monotonic()',
          'fd = libc.open(sys.argv[1].encode(), os.O_RDONLY)',
          'print(json.dumps({"fd": fd, "errno": ctypes.get_errno(), "elapsed": time.monotonic() - t}), flush=True)',
        ].join('\n');
        const client = startClient('python3', ['-c', script, join(f.mnt, 'slow')]);
        const r = await interruptClient(f, client, 'OPEN', 'SIGUSR1');
        assert.equal(r.ended.code, 0, client.err());
        const res = JSON.parse(client.out()) as { fd: number; errno: number; elapsed: number };
        t.diagnostic(`open(2) returned ${res.fd} errno ${res.errno} after ${(res.elapsed * 1000).toFixed(0)} ms (${r.afterMs} ms after SIGUSR1)`);
        assert.equal(res.fd, -1, client.out());
        assert.equal(res.errno, constants.errno.EINTR, `open(2) failed with EINTR: ${client.out()}`);
        await stillServing(f, 1);
      }));

    it('SIGKILL to a process blocked in a direct-I/O read(2) is answered just as quickly', T, (t) =>
      withFixture('interrupt-fs.js', transport, [], async (f) => {
        const client = startClient('cat', [join(f.mnt, 'slowread')]);
        const r = await interruptClient(f, client, 'READ', 'SIGKILL');
        t.diagnostic(`cat ended ${r.afterMs} ms after SIGKILL (READ held ${r.ie.ms} ms)`);
        assert.equal(r.ended.signal, 'SIGKILL');
        await stillServing(f, 1);
        // And once more: the connection still interrupts (the kernel was never told ENOSYS).
        const again = startClient('cat', [join(f.mnt, 'slow')]);
        await interruptClient(f, again, 'OPEN', 'SIGINT');
        await stillServing(f, 2);
      }));
  });
}
