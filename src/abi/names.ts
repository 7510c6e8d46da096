// Names are bytes on Linux. fuse-uring hands them to handlers as strings with one rule, applied
// everywhere a name crosses the kernel boundary (lookup, create, readdir, rename, symlink targets,
// xattr names): bytes that form valid UTF-8 decode as UTF-8; every other byte 0x80–0xFF becomes
// the lone surrogate U+DC80–U+DCFF ("surrogateescape", as Python's os.fsdecode does). Valid UTF-8
// never yields a lone surrogate, so encoding maps those back to the original bytes and every
// byte string round-trips exactly.

const strict = new TextDecoder('utf-8', { fatal: true });

/** Decodes buf[start, end) as a name. */
export function decodeName(buf: Uint8Array, start: number, end: number): string {
  let ascii = true;
  for (let i = start; i < end; i++) {
    if (buf[i]! >= 0x80) { ascii = false; break; }
  }
  if (ascii) return Buffer.prototype.latin1Slice.call(buf, start, end) as string;
  try {
    return strict.decode(buf.subarray(start, end));
  } catch {
    return decodeEscaped(buf, start, end);
  }
}

function decodeEscaped(buf: Uint8Array, start: number, end: number): string {
  let out = '';
  let i = start;
  while (i < end) {
    const b = buf[i]!;
    let cp = -1;
    let n = 0;
    if (b < 0x80) { cp = b; n = 1; }
    else if (b >= 0xc2 && b <= 0xdf) { n = 2; cp = b & 0x1f; }
    else if (b >= 0xe0 && b <= 0xef) { n = 3; cp = b & 0x0f; }
    else if (b >= 0xf0 && b <= 0xf4) { n = 4; cp = b & 0x07; }
    if (n > 1) {
      if (i + n > end) cp = -1;
      else {
        for (let k = 1; k < n; k++) {
          const c = buf[i + k]!;
          if ((c & 0xc0) !== 0x80) { cp = -1; break; }
          cp = (cp << 6) | (c & 0x3f);
        }
        // Overlong forms, UTF-16 surrogates and values past U+10FFFF are not valid UTF-8.
        if (cp >= 0 && ((n === 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n === 4 && (cp < 0x10000 || cp > 0x10ffff)))) cp = -1;
      }
    }
    if (cp < 0) { out += String.fromCharCode(0xdc00 + b); i += 1; }
    else { out += String.fromCodePoint(cp); i += n; }
  }
  return out;
}

/** Bytes `name` encodes to. */
export function nameByteLength(name: string): number {
  let n = 0;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < name.length && isLow(name.charCodeAt(i + 1))) { n += 4; i++; }
    else if (c >= 0xdc80 && c <= 0xdcff) n += 1;
    else n += 3;
  }
  return n;
}

function isLow(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/**
 * Writes `name` into buf at `off` if it fits before `end`; returns the byte count, or -1 (and
 * writes nothing past `end`) when it does not fit.
 */
export function encodeNameInto(buf: Uint8Array, off: number, end: number, name: string): number {
  const len = name.length;
  if (off + len <= end) {
    let i = 0;
    for (; i < len; i++) {
      const c = name.charCodeAt(i);
      if (c >= 0x80) break;
      buf[off + i] = c;
    }
    if (i === len) return len;
  }
  const n = nameByteLength(name);
  if (off + n > end) return -1;
  let p = off;
  for (let i = 0; i < len; i++) {
    let c = name.charCodeAt(i);
    if (c < 0x80) buf[p++] = c;
    else if (c < 0x800) { buf[p++] = 0xc0 | (c >> 6); buf[p++] = 0x80 | (c & 0x3f); }
    else if (c >= 0xdc80 && c <= 0xdcff) buf[p++] = c - 0xdc00; // an escaped byte (pairs were consumed above)
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < len && isLow(name.charCodeAt(i + 1))) {
      c = 0x10000 + ((c - 0xd800) << 10) + (name.charCodeAt(++i) - 0xdc00);
      buf[p++] = 0xf0 | (c >> 18); buf[p++] = 0x80 | ((c >> 12) & 0x3f);
      buf[p++] = 0x80 | ((c >> 6) & 0x3f); buf[p++] = 0x80 | (c & 0x3f);
    } else {
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // a lone surrogate no byte maps to
      buf[p++] = 0xe0 | (c >> 12); buf[p++] = 0x80 | ((c >> 6) & 0x3f); buf[p++] = 0x80 | (c & 0x3f);
    }
  }
  return p - off;
}

/** The bytes of a name (e.g. to pass a non-UTF-8 name to Node's fs as a Buffer path). */
export function nameToBuffer(name: string): Buffer {
  const b = Buffer.allocUnsafe(nameByteLength(name));
  encodeNameInto(b, 0, b.length, name);
  return b;
}

/** The name for raw bytes (e.g. a Buffer from fs.readdir(…, { encoding: 'buffer' })). */
export function bufferToName(b: Uint8Array): string {
  return decodeName(b, 0, b.length);
}
