// A regular file's bytes: a sparse map of fixed-position chunks. A missing chunk, or the part of a
// chunk past its buffer, reads as zeros, so holes (and a write at 5 GiB) cost nothing. Chunk
// buffers start small and double up to CHUNK as writes reach further into them, so a 100-byte file
// holds 512 bytes, not 64 KiB. Reads and writes copy directly between the request/reply buffers
// and the chunks. The chunk map is also the file's allocation map: fallocate adds buffers,
// punching a hole removes them, and SEEK_DATA/SEEK_HOLE report them. Bytes of a buffer past the
// file's size are always zero (truncate clears them), so growing the size never exposes old data.
import { freemem } from 'node:os';
import { FuseError, Errno } from '../../errors.js';
import {
  FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, FALLOC_FL_ZERO_RANGE, MAX_FILE_SIZE, SEEK_DATA, SEEK_HOLE,
} from './constants.js';
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
    this.reserve(this.growth(offset, end));

    let src = 0;
    for (let pos = offset; pos < end;) {
      const idx = Math.floor(pos / CHUNK);
      const from = pos - idx * CHUNK;
      const to = Math.min(CHUNK, end - idx * CHUNK);
      const c = this.chunkFor(idx, from, to, true);
      c.set(data.subarray(src, src + (to - from)), from);
      src += to - from;
      pos = idx * CHUNK + to;
    }
    if (end > this.size) this.size = end;
  }

  /**
   * fallocate(2): mode 0 allocates [offset, offset + length) and extends the size to cover it;
   * KEEP_SIZE allocates without changing the size (blocks past the end count, as on tmpfs);
   * PUNCH_HOLE|KEEP_SIZE zeros the range and frees the chunks it covers whole; ZERO_RANGE zeros
   * it leaving it allocated (and extends the size unless KEEP_SIZE). Other modes (collapse,
   * insert, unshare, a bare PUNCH_HOLE) are EOPNOTSUPP, as the kernel answers for tmpfs.
   */
  fallocate(offset: number, length: number, mode: number): void {
    if (!(offset >= 0) || !(length > 0)) throw new FuseError(Errno.EINVAL);
    const end = offset + length;
    if (end > MAX_FILE_SIZE) throw new FuseError(Errno.EFBIG);
    const keepSize = (mode & FALLOC_FL_KEEP_SIZE) !== 0;
    switch (mode & ~FALLOC_FL_KEEP_SIZE) {
      case 0:
        this.allocate(offset, end);
        break;
      case FALLOC_FL_PUNCH_HOLE:
        if (!keepSize) throw new FuseError(Errno.EOPNOTSUPP);
        this.punch(offset, end);
        return;
      case FALLOC_FL_ZERO_RANGE:
        this.allocate(offset, end);
        this.fillZero(offset, end);
        break;
      default:
        throw new FuseError(Errno.EOPNOTSUPP);
    }
    if (!keepSize && end > this.size) this.size = end;
  }

  /** SEEK_DATA / SEEK_HOLE from `offset`: the chunk buffers are the data, everything else a hole. */
  seek(offset: number, whence: number): number {
    if (whence !== SEEK_DATA && whence !== SEEK_HOLE) throw new FuseError(Errno.EINVAL);
    if (!(offset >= 0) || offset >= this.size) throw new FuseError(Errno.ENXIO);
    const first = Math.floor(offset / CHUNK);
    const idxs = [...this.chunks.keys()].filter((i) => i >= first).sort((a, b) => a - b);
    let pos = offset;
    for (const idx of idxs) {
      const start = idx * CHUNK;
      const end = start + this.chunks.get(idx)!.length;
      if (end <= pos) continue;
      if (whence === SEEK_DATA) {
        const at = Math.max(start, pos);
        if (at >= this.size) break; // only preallocated chunks past the end are left
        return at;
      }
      if (start > pos) break; // pos lies in a hole
      pos = end; // contiguous data continues into the next chunk, if that one starts here
      if (pos >= this.size) break;
    }
    if (whence === SEEK_DATA) throw new FuseError(Errno.ENXIO);
    // The end of the file counts as a hole.
    return Math.min(pos, this.size);
  }

  /**
   * copy_file_range: up to `length` bytes of `src` from `srcOffset` (stopping at its end) to
   * `dstOffset` here, chunk by chunk: holes in the source stay holes. Returns the bytes copied;
   * short if the space runs out part-way (ENOSPC only if nothing could be copied).
   */
  copyFrom(src: FileData, srcOffset: number, dstOffset: number, length: number): number {
    let n = Math.min(length, Math.max(0, src.size - srcOffset));
    if (n <= 0) return 0;
    if (dstOffset + n > MAX_FILE_SIZE) {
      n = MAX_FILE_SIZE - dstOffset;
      if (n <= 0) throw new FuseError(Errno.EFBIG);
    }
    let done = 0;
    while (done < n) {
      const pos = srcOffset + done;
      const idx = Math.floor(pos / CHUNK);
      const from = pos - idx * CHUNK;
      const piece = Math.min(CHUNK - from, n - done);
      const c = src.chunks.get(idx);
      const have = c ? Math.max(0, Math.min(piece, c.length - from)) : 0;
      const at = dstOffset + done;
      try {
        if (have > 0) this.write(at, c!.subarray(from, from + have));
      } catch (e) {
        if (done > 0 && e instanceof FuseError && e.errno === Errno.ENOSPC) break;
        throw e;
      }
      if (have < piece) {
        this.punch(at + have, at + piece);
        if (at + piece > this.size) this.size = at + piece;
      }
      done += piece;
    }
    return done;
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

  /**
   * Bytes of new chunk buffer that covering [offset, end) needs. Chunks the range covers whole
   * are counted together, so a huge range (fallocate of a petabyte) costs one pass over the map.
   */
  private growth(offset: number, end: number): number {
    const first = Math.floor(offset / CHUNK);
    const last = Math.floor((end - 1) / CHUNK);
    const needIn = (idx: number, to: number) => Math.max(0, chunkLength(to) - (this.chunks.get(idx)?.length ?? 0));
    if (first === last) return needIn(first, end - first * CHUNK);
    let grow = needIn(first, CHUNK) + needIn(last, end - last * CHUNK);
    if (last - first > 1) {
      grow += (last - first - 1) * CHUNK;
      // Whichever is shorter: the chunks in between (a write), or the file's chunks (a large fallocate).
      if (last - first - 1 < this.chunks.size) {
        for (let idx = first + 1; idx < last; idx++) grow -= this.chunks.get(idx)?.length ?? 0;
      } else {
        for (const [idx, c] of this.chunks) if (idx > first && idx < last) grow -= c.length;
      }
    }
    return grow;
  }

  private reserve(bytes: number): void {
    this.space.reserve(bytes);
    this.allocated += bytes;
  }

  /**
   * Gives [offset, end) chunk buffers (zero-filled where new), or throws ENOSPC having changed
   * nothing. Without a size limit, a request larger than the free memory is ENOSPC too: tmpfs
   * also refuses rather than exhaust the machine.
   */
  private allocate(offset: number, end: number): void {
    const grow = this.growth(offset, end);
    if (!Number.isFinite(this.space.limit) && grow > freemem()) throw new FuseError(Errno.ENOSPC);
    this.reserve(grow);
    for (let pos = offset; pos < end;) {
      const idx = Math.floor(pos / CHUNK);
      const to = Math.min(CHUNK, end - idx * CHUNK);
      this.chunkFor(idx, pos - idx * CHUNK, to, false);
      pos = idx * CHUNK + to;
    }
  }

  /** Zeros [offset, end) in the buffers that exist; allocates nothing. */
  private fillZero(offset: number, end: number): void {
    for (const [idx, c] of this.chunks) {
      const base = idx * CHUNK;
      const from = Math.max(offset - base, 0);
      const to = Math.min(end - base, c.length);
      if (from < to) c.fill(0, from, to);
    }
  }

  /** Makes [offset, end) a hole: chunks it covers whole (or up to their buffer's end) go, the rest is zeroed. */
  private punch(offset: number, end: number): void {
    for (const [idx, c] of this.chunks) {
      const base = idx * CHUNK;
      const from = Math.max(offset - base, 0);
      const to = Math.min(end - base, c.length);
      if (from >= to) continue;
      if (from === 0 && to === c.length) {
        this.chunks.delete(idx);
        this.free(c.length);
      } else if (to === c.length && chunkLength(from) < c.length) {
        // The hole reaches the buffer's end: shrink it, as truncate does.
        const shrunk = Buffer.alloc(chunkLength(from));
        c.copy(shrunk, 0, 0, from);
        this.chunks.set(idx, shrunk);
        this.free(c.length - shrunk.length);
      } else {
        c.fill(0, from, to);
      }
    }
  }

  /**
   * The chunk buffer for [from, to) of chunk idx, grown as needed (space already reserved).
   * `filled`: the caller writes all of [from, to), so a new buffer it covers needs no zeroing.
   */
  private chunkFor(idx: number, from: number, to: number, filled: boolean): Buffer {
    const c = this.chunks.get(idx);
    const len = chunkLength(to);
    if (c && c.length >= len) return c;
    const fresh = filled && !c && from === 0 && to === len ? Buffer.allocUnsafeSlow(len) : Buffer.alloc(len);
    if (c) c.copy(fresh, 0);
    this.chunks.set(idx, fresh);
    return fresh;
  }

  private free(bytes: number): void {
    this.allocated -= bytes;
    this.space.release(bytes);
  }
}
