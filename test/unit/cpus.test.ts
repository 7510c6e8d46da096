import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { parseCpuList, possibleCpus } from '../../src/cpus.js';

test('cpu lists count every listed CPU', () => {
  assert.equal(parseCpuList('0-1\n'), 2);
  assert.equal(parseCpuList('0'), 1);
  assert.equal(parseCpuList('5'), 1);
  assert.equal(parseCpuList('0-23'), 24);
  assert.equal(parseCpuList('0-3,8-11'), 8);
  assert.equal(parseCpuList('0,2,4'), 3);
});

test('malformed cpu lists are refused, not guessed', () => {
  for (const bad of ['', '   ', 'abc', '0-x', '5-2', '0,,3', '-1', '1-', '0-1,', '1.5']) {
    assert.equal(parseCpuList(bad), undefined, JSON.stringify(bad));
  }
});

test('possibleCpus falls back to the CPUs Node sees when the file is missing or malformed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cpus-'));
  assert.equal(possibleCpus(join(dir, 'missing')), availableParallelism());
  writeFileSync(join(dir, 'bad'), 'garbage');
  assert.equal(possibleCpus(join(dir, 'bad')), availableParallelism());
  writeFileSync(join(dir, 'good'), '0-7\n');
  assert.equal(possibleCpus(join(dir, 'good')), 8);
});
