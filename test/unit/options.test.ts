import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OptionError, parseOptionString, validateOptions } from '../../src/options.js';

test('invalid options are refused with a message naming the option and the range', () => {
  const bad: [object, RegExp][] = [
    [{ queueDepth: 0 }, /queueDepth must be an integer from 1 to 4096 \(got 0\)/],
    [{ queueDepth: 1.5 }, /queueDepth/],
    [{ maxWrite: 1024 }, /maxWrite must be an integer from 4096 to 16777216/],
    [{ maxWrite: 32 * 1024 * 1024 }, /maxWrite/],
    [{ transport: 'fast' }, /transport must be 'auto', 'uring' or 'dev'/],
    [{ fsName: 'a,b' }, /fsName must be a non-empty string without commas/],
    [{ allowOther: 'yes' }, /allowOther must be true or false/],
    [{ timeGran: 0 }, /timeGran/],
    [{ signal: {} }, /signal must be an AbortSignal/],
  ];
  for (const [o, re] of bad) assert.throws(() => validateOptions(o), (e: Error) => e instanceof OptionError && re.test(e.message), JSON.stringify(o));
  validateOptions({ queueDepth: 1, maxWrite: 4096, transport: 'dev', fsName: 'x', allowOther: false });
});

test('-o strings map onto options; unknown ones are refused', () => {
  assert.deepEqual(parseOptionString('allow_other,default_permissions,fsname=demo,max_write=131072,ro,rw,auto_unmount'),
    { allowOther: true, defaultPermissions: true, fsName: 'demo', maxWrite: 131072, readOnly: true, autoUnmount: true });
  assert.deepEqual(parseOptionString('no_default_permissions', { defaultPermissions: true }), { defaultPermissions: false });
  assert.deepEqual(parseOptionString('no_queue_threads'), { queueThreads: false });
  assert.deepEqual(parseOptionString('queue_threads'), { queueThreads: true });
  assert.deepEqual(parseOptionString('queue_threads=auto'), { queueThreads: 'auto' });
  assert.throws(() => parseOptionString('queue_threads=yes'), /-o queue_threads takes no value or =auto \(got "yes"\)/);
  assert.deepEqual(parseOptionString('no_follow_caller'), { followCaller: false });
  assert.deepEqual(parseOptionString('follow_caller'), { followCaller: true });
  assert.throws(() => parseOptionString('nonsense'), /unknown mount option -o nonsense/);
  assert.throws(() => parseOptionString('max_write=lots'), /needs a number/);
  assert.throws(() => parseOptionString('allow_other=1'), /takes no value/);
});
