// What the machine allows, decided before mounting: preflight() on made-up machines (so that
// io_uring switched off, a missing /dev/fuse or a user without fusermount3 are tested without
// touching this machine), and the option checks that need no machine at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OptionError, parseDuration, parseOptionString, validateOptions, type MountOptions } from '../../src/options.js';
import { preflight, type Environment } from '../../src/preflight.js';

/** A root machine where everything works. */
const good: Environment = {
  euid: 0, groups: [0], enableUring: true, ioUringDisabled: 0, ioUringGroup: -1, maxPagesLimit: 256,
  devFuse: 'ok', fusermount3: '/usr/bin/fusermount3', fusermount3Setuid: true, userAllowOther: false,
  possibleCpus: 2, totalMemory: 8 * 2 ** 30,
};
const user: Environment = { ...good, euid: 1000, groups: [1000] };

/** Asserts preflight refuses with one line matching `re`. */
function refuses(o: MountOptions, env: Environment, re: RegExp): void {
  assert.throws(() => preflight(o, env), (e: Error) => {
    assert.ok(e instanceof OptionError, `${e.name}: ${e.message}`);
    assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
    assert.match(e.message, re);
    return true;
  });
}

test('root on a machine with io_uring: mount(2), and io_uring unless transport dev', () => {
  assert.deepEqual(preflight({}, good), { tryUring: true, via: 'mount' });
  assert.deepEqual(preflight({ transport: 'dev' }, good), { tryUring: false, via: 'mount' });
  assert.deepEqual(preflight({ autoUnmount: true }, good), { tryUring: true, via: 'mount' }, 'autoUnmount needs no fusermount3 as root');
  assert.deepEqual(preflight({}, user), { tryUring: true, via: 'fusermount3' });
});

test("io_uring off (enable_uring N, missing, or kernel.io_uring_disabled): 'uring' refuses and says how, 'auto' falls back", () => {
  const off: Array<[Partial<Environment>, RegExp]> = [
    [{ enableUring: false }, /io_uring is off for FUSE.*echo Y > \/sys\/module\/fuse\/parameters\/enable_uring.*transport 'dev'/],
    [{ enableUring: undefined }, /this kernel has no FUSE-over-io_uring.*Linux ≥ 6\.14/],
    [{ ioUringDisabled: 2 }, /kernel\.io_uring_disabled = 2.*sysctl -w kernel\.io_uring_disabled=0.*transport 'dev'/],
  ];
  for (const [change, re] of off) {
    refuses({ transport: 'uring' }, { ...good, ...change }, re);
    const plan = preflight({}, { ...good, ...change });
    assert.equal(plan.tryUring, false, JSON.stringify(change));
    assert.match(plan.uringUnavailable ?? '', re);
  }
  // io_uring_disabled = 1 limits it to root and the io_uring group.
  assert.equal(preflight({ transport: 'uring' }, { ...good, ioUringDisabled: 1 }).tryUring, true);
  refuses({ transport: 'uring' }, { ...user, ioUringDisabled: 1 }, /io_uring_group.*join that group/);
  assert.equal(preflight({ transport: 'uring' }, { ...user, ioUringDisabled: 1, ioUringGroup: 1000 }).tryUring, true);
});

test('max_write above the kernel\'s max_pages_limit is refused with the limit and how to raise it', () => {
  refuses({ maxWrite: 4 * 2 ** 20 }, good, /maxWrite 4194304 is above this kernel's limit of 1048576 bytes.*max_pages_limit = 256.*echo 1024 > \/proc\/sys\/fs\/fuse\/max_pages_limit/);
  preflight({ maxWrite: 2 ** 20 }, good);
  preflight({ maxWrite: 4 * 2 ** 20 }, { ...good, maxPagesLimit: 1024 });
});

test('buffers that do not fit: too many ring entries, or more than the memory', () => {
  refuses({ queueDepth: 4096 }, { ...good, possibleCpus: 16 }, /queueDepth 4096 × 16 queues.*65536 ring entries.*queueDepth ≤ 2047/);
  preflight({ queueDepth: 4096, transport: 'dev' }, { ...good, possibleCpus: 16, totalMemory: 2 ** 40 });
  refuses({ queueDepth: 1024 }, { ...good, totalMemory: 2 ** 30 }, /request buffers.*need 2\.0 GiB, more than this machine's 1\.0 GiB of memory: lower queueDepth or maxWrite/);
  preflight({ queueDepth: 256 }, { ...good, totalMemory: 2 ** 30 });
});

test('a non-root user: fusermount3, its setuid bit, /dev/fuse, allow_other and passthrough are checked', () => {
  refuses({}, { ...user, fusermount3: undefined }, /non-root user needs fusermount3 \(Debian\/Ubuntu: apt-get install fuse3\), or run as root/);
  refuses({}, { ...user, fusermount3Setuid: false }, /fusermount3 is not setuid root.*chmod u\+s/);
  refuses({}, { ...user, devFuse: 'denied' }, /\/dev\/fuse is not readable and writable by you.*chmod 0666 \/dev\/fuse/);
  refuses({}, { ...user, devFuse: 'missing' }, /\/dev\/fuse does not exist.*modprobe fuse/);
  refuses({}, { ...good, devFuse: 'missing' }, /\/dev\/fuse does not exist/);
  refuses({ allowOther: true }, user, /allow_other for a non-root user needs `user_allow_other` in \/etc\/fuse\.conf/);
  preflight({ allowOther: true }, { ...user, userAllowOther: true });
  preflight({ allowOther: true }, good);
  refuses({ passthrough: true }, user, /passthrough needs root/);
  // Root needs none of fusermount3: mount(2).
  preflight({}, { ...good, fusermount3: undefined, fusermount3Setuid: false });
});

test('options that contradict each other are refused before anything else', () => {
  const bad: Array<[MountOptions, RegExp]> = [
    [{ passthrough: true, writeback: true }, /passthrough and writeback exclude each other/],
    [{ maxBackground: 10, congestionThreshold: 20 }, /congestionThreshold \(20\) must not be above maxBackground \(10\)/],
    [{ timeGran: 3 }, /timeGran must be a power of ten/],
    [{ ringSetupFlags: 0x2000 }, /DEFER_TASKRUN.*cannot be used/],
    [{ ringSetupFlags: 0x100, transport: 'dev' }, /ringSetupFlags apply to the io_uring transport/],
    [{ ringSetupFlags: 0x200 }, /TASKRUN_FLAG \(0x200\) needs COOP_TASKRUN/],
    [{ ringSetupFlags: 0x40 }, /ringSetupFlags: 0x40 not supported/],
    [{ ringSetupFlags: 0x2, queueThreads: true }, /SQPOLL .* need one thread serving the ring: set queueThreads: false/],
    [{ ringSetupFlags: 0x1000, queueThreads: true }, /SINGLE_ISSUER .*queueThreads: false/],
    [{ ringSetupFlags: 0x2, queueThreads: 'auto' }, /SQPOLL .* need one thread serving the ring: set queueThreads: false/],
    [{ queueThreads: 'no' as never }, /queueThreads must be true, false or 'auto' \(got "no"\)/],
    [{ followCaller: 1 as never }, /followCaller must be true or false/],
    [{ requestTimeout: 5 }, /requestTimeout must be an integer from 10 to 86400000/],
    [{ requestTimeout: 1.5 }, /requestTimeout/],
    [{ force: 'yes' as never }, /force must be true or false/],
  ];
  for (const [o, re] of bad) {
    assert.throws(() => validateOptions(o), (e: Error) => e instanceof OptionError && re.test(e.message), JSON.stringify(o));
  }
  for (const o of [{ timeGran: 1000 }, { timeGran: 1e9 }, { requestTimeout: 0 }, { requestTimeout: 30_000 }, { ringSetupFlags: 0x300 },
    { ringSetupFlags: 0x1002, queueThreads: false }, { ringSetupFlags: 0x2 }, { queueThreads: 'auto' as const }, { followCaller: false }, { maxBackground: 20, congestionThreshold: 15 }, { passthrough: true, writeback: false }]) {
    validateOptions(o);
  }
});

test('-o values are checked where they are parsed, naming the -o option', () => {
  assert.throws(() => parseOptionString('max_write=1024'), /^OptionError: -o max_write: must be an integer from 4096/);
  assert.throws(() => parseOptionString('time_gran=7'), /-o time_gran: must be a power of ten/);
  assert.throws(() => parseOptionString('transport=pigeon'), /-o transport: must be 'auto', 'uring' or 'dev'/);
  assert.throws(() => parseOptionString('request_timeout=5'), /-o request_timeout: must be an integer from 10/);
  assert.throws(() => parseOptionString('request_timeout=soon'), /-o request_timeout= needs a duration like 500ms, 30s or 2m/);
  assert.deepEqual(parseOptionString('request_timeout=30s,max_write=131072'), { requestTimeout: 30_000, maxWrite: 131072 });
  assert.deepEqual(parseOptionString('request_timeout=250'), { requestTimeout: 250 });
});

test('durations: milliseconds by default, ms/s/m/h suffixes, 0 or off for none', () => {
  assert.equal(parseDuration('500', 'x'), 500);
  assert.equal(parseDuration('500ms', 'x'), 500);
  assert.equal(parseDuration('1.5s', 'x'), 1500);
  assert.equal(parseDuration('2m', 'x'), 120_000);
  assert.equal(parseDuration('1h', 'x'), 3_600_000);
  assert.equal(parseDuration('off', 'x'), 0);
  assert.throws(() => parseDuration('-1s', '--request-timeout'), /--request-timeout needs a duration/);
  assert.throws(() => parseDuration('5 minutes', '--request-timeout'), /--request-timeout needs a duration/);
});
