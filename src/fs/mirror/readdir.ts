// Directory pages straight from getdents64(2) on the handle's fd: no snapshot of the whole
// directory, entries appear and vanish as they do on the source, and a page starts where the
// kernel's offset says by seeking the fd to the source's own d_off cookie for that entry.
import type { OpenDir } from './handles.js';
import { check, sys } from './sys.js';

/** One getdents64 call's worth; read and parsed synchronously, so one buffer serves every handle. */
const buf = Buffer.allocUnsafe(32 * 1024);

/**
 * Calls `emit(name, ino, type, offset)` for the entries after the kernel's `offset` until it
 * returns false (the reply is full) or the directory ends. `name` is a view of a shared buffer,
 * valid during the call. Offsets are 1-based entry counts; an offset this handle never gave out
 * ends the listing.
 */
export function readPage(h: OpenDir, offset: number,
  emit: (name: Buffer, ino: number, type: number, offset: number) => boolean): void {
  const start = offset === 0 ? 0n : h.cookies[offset - 1];
  if (start === undefined) return;
  check(sys.fsSeekdir(h.fd, start));
  let index = offset;
  for (;;) {
    const n = check(sys.fsGetdents(h.fd, buf));
    if (n === 0) return;
    for (let p = 0; p < n;) {
      const ino = buf.readUInt32LE(p) + buf.readUInt32LE(p + 4) * 2 ** 32;
      const doff = buf.readBigInt64LE(p + 8);
      const reclen = buf.readUInt16LE(p + 16);
      const type = buf[p + 18]!;
      let end = buf.indexOf(0, p + 19);
      if (end < 0 || end > p + reclen) end = p + reclen;
      const name = buf.subarray(p + 19, end);
      p += reclen;
      if (!emit(name, ino, type, index + 1)) return;
      h.cookies[index++] = doff;
    }
  }
}
