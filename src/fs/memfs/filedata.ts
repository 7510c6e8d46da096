// A regular file's bytes: a sparse map of fixed-position chunks. A missing chunk, or the part of a
// chunk past its buffer, reads as zeros, so holes (and a write at 5 GiB) cost nothing. Chunk
// buffers start small and double up to CHUNK as writes reach further into them, so a 100-byte file
// holds 512 bytes, not 64 KiB. Reads and writes copy directly between the request/reply buffers
// and the chunks.
import { FuseError, Errno } from '../../errors.js';
import { MAX_FILE_SIZE } from './constants.js';
import type { Space } from './space.js';

export const CHUNK = 64 * 1024;
/** Smallest chunk buffer: keeps allocated bytes a whole number of 512-byte st_blocks. */
const MIN_CHUNK = 512;

/** Buffer length that holds bytes [0, end) of a chunk. */
function chunkLength(end: number): number {
  if (end <= MIN_CHUNK) return MIN_CHUNK;
  return Math.min(CHUNK, 2 ** (32 - Math.clz32(end - 1)));
}

export class FileData {
  size = 0;
  /** Bytes held in chunk buffers (st_blocks * 512). */
  allocated = 0;
  private readonly chunks = new Map<number, Buffer>();

  constructor(private readonly space: Space) {}

  /** Copies up to `size` bytes at `offset` into `out`; short (or 0) at end of file. */
  read(offset: number, size: number, out: Uint8Array): number {
    const end = Math.min(offset + Math.min(size, out.length), this.size);
    if (offset >= end) return 0;
    let pos = offset;
    let o = 0;
    while (pos < end) {
      const idx = Math.floor(pos / CHUNK);
      const from = pos - idx * CHUNK;
      const n = Math.min(CHUNK - from, end - pos);
      const c = this.chunks.get(idx);
      const have = c ? Math.max(0, Math.min(n, c.length - from)) : 0;
      if (have > 0) c!.copy(out, o, from, from + have);
      // `out` is a view of a reused reply buffer: holes must be written as zeros, not skipped.
      if (have < n) out.fill(0, o + have, o + n);
      pos += n;
      o += n;
    }
    return end - offset;
  }

  /** Writes all of `data` at `offset`, or throws (ENOSPC, EFBIG) having changed nothing. */
  write(offset: number, data: Uint8Array): void {
    const end = offset + data.length;
    if (end > MAX_FILE_SIZE) throw new FuseError(Errno.EFBIG);
    if (data.length === 0) return;

    let grow = 0;
    for (let pos = offset; pos < end;) {
      const idx = Math.floor(pos / CHUNK);
      const to = Math.min(CHUNK, end - idx * CHUNK);
      const need = chunkLength(to) - (this.chunks.get(idx)?.length ?? 0);
      if (need > 0) grow += need;
      pos = idx * CHUNK + to;
    }
    this.space.reserve(grow);
    this.allocated += grow;

    let src = 0;
    for (let pos = offset; pos < end;) {
      const idx = Math.floor(pos / CHUNK);
      const from = pos - idx * CHUNK;
      const to = Math.min(CHUNK, end - idx * CHUNK);
      const c = this.chunkFor(idx, from, to);
      c.set(data.subarray(src, src + (to - from)), from);
      src += to - from;
      pos = idx * CHUNK + to;
    }
    if (end > this.size) this.size = end;
  }

  /** Sets the size: shrinking frees whole chunks past it and zeros the rest of the last one. */
  truncate(size: number): void {
    if (size > MAX_FILE_SIZE) throw new FuseError(Errno.EFBIG);
    if (size < this.size) {
      const keep = Math.ceil(size / CHUNK);
      for (const [idx, c] of this.chunks) {
        if (idx >= keep) { this.chunks.delete(idx); this.free(c.length); }
      }
      const tail = size % CHUNK;
      const last = tail ? this.chunks.get(keep - 1) : undefined;
      if (last && last.length > tail) {
        // Zero the bytes past the new end: a later extension must read them back as a hole.
        const len = chunkLength(tail);
        if (len < last.length) {
          const shrunk = Buffer.alloc(len);
          last.copy(shrunk, 0, 0, tail);
          this.chunks.set(keep - 1, shrunk);
          this.free(last.length - len);
        } else {
          last.fill(0, tail);
        }
      }
    }
    this.size = size;
  }

  /** Frees everything (the inode is gone). */
  clear(): void {
    this.chunks.clear();
    this.free(this.allocated);
    this.size = 0;
  }

  /** The chunk buffer for a write of [from, to) into chunk idx, grown as needed (space already reserved). */
  private chunkFor(idx: number, from: number, to: number): Buffer {
    const c = this.chunks.get(idx);
    const len = chunkLength(to);
    if (c && c.length >= len) return c;
    // A new buffer the write covers entirely needs no zeroing.
    const fresh = !c && from === 0 && to === len ? Buffer.allocUnsafeSlow(len) : Buffer.alloc(len);
    if (c) c.copy(fresh, 0);
    this.chunks.set(idx, fresh);
    return fresh;
  }

  private free(bytes: number): void {
    this.allocated -= bytes;
    this.space.release(bytes);
  }
}
