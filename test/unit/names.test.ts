import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bufferToName, decodeName, encodeNameInto, nameByteLength, nameToBuffer } from '../../src/abi/names.js';

const cases: Buffer[] = [
  Buffer.from('plain.txt'),
  Buffer.from('héllo wörld ✓ 😀'),
  Buffer.from([0x66, 0x6f, 0xff, 0xfe, 0x80]),            // not UTF-8 at all
  Buffer.from([0xc3, 0x28]),                               // broken 2-byte sequence
  Buffer.from([0xed, 0xa0, 0x80]),                         // an encoded surrogate: invalid UTF-8
  Buffer.from([0xc0, 0xaf]),                               // overlong '/'
  Buffer.from([0xf0, 0x9f, 0x98]),                         // truncated 4-byte sequence
  Buffer.from([0xe2, 0x82, 0xac, 0xff, 0x41]),             // valid then invalid then ASCII
];

test('every byte string round-trips through the name rule', () => {
  for (const b of cases) {
    const name = bufferToName(b);
    assert.deepEqual(nameToBuffer(name), b, b.toString('hex'));
    assert.equal(nameByteLength(name), b.length);
  }
  for (let v = 0x01; v <= 0xff; v++) {
    const b = Buffer.from([0x61, v, 0x62]);
    assert.deepEqual(nameToBuffer(bufferToName(b)), b, v.toString(16));
  }
});

test('valid UTF-8 decodes as the text it is; invalid bytes become U+DC80..U+DCFF', () => {
  assert.equal(bufferToName(Buffer.from('héllo')), 'héllo');
  assert.equal(bufferToName(Buffer.from([0x61, 0xff])), 'a\udcff');
  assert.equal(decodeName(Buffer.from('xxabcxx'), 2, 5), 'abc');
});

test('encodeNameInto refuses what does not fit and writes nothing past the end', () => {
  const b = Buffer.alloc(8, 0xee);
  assert.equal(encodeNameInto(b, 2, 6, 'abcde'), -1);
  assert.equal(b[6], 0xee);
  assert.equal(encodeNameInto(b, 2, 6, 'é'), 2);
  assert.deepEqual(b.subarray(2, 4), Buffer.from('é'));
});
