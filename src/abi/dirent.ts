// READDIR / READDIRPLUS replies written straight into the reply buffer: struct fuse_dirent (or
// fuse_direntplus) records, each padded to 8 bytes, the name encoded in place.
import type { DirentPlusWriter, DirentWriter, Entry } from '../filesystem.js';
import { encodeNameInto } from './names.js';
import { Dirent, DirentPlus } from './layout.js';
import { setU64, writeEntry } from './codec.js';
import { dtFromMode } from './flags.js';

export class DirBuffer implements DirentWriter, DirentPlusWriter {
  private buf!: Buffer;
  private view!: DataView;
  private cap = 0;
  /** Bytes written so far: the reply length. */
  pos = 0;
  count = 0;
  private plus = false;

  reset(buf: Buffer, view: DataView, cap: number, plus: boolean): this {
    this.buf = buf;
    this.view = view;
    this.cap = Math.min(cap, buf.length);
    this.pos = 0;
    this.count = 0;
    this.plus = plus;
    return this;
  }

  add(name: string, inoOrEntry: number | Entry, typeOrOffset: number, nextOffset?: number): boolean {
    if (typeof inoOrEntry === 'number') {
      if (this.plus) throw new TypeError('readdirplus: add(name, entry, nextOffset)');
      return this.put(name, inoOrEntry, typeOrOffset, nextOffset ?? 0, null);
    }
    if (!this.plus) throw new TypeError('readdir: add(name, ino, type, nextOffset)');
    const e = inoOrEntry;
    return this.put(name, e.attr.ino, dtFromMode(e.attr.mode), typeOrOffset, e);
  }

  private put(name: string, ino: number, type: number, off: number, entry: Entry | null): boolean {
    const base = this.pos + (entry ? DirentPlus.dirent : 0);
    const n = encodeNameInto(this.buf, base + Dirent.name, this.cap, name);
    if (n < 0) return false;
    if (n === 0 || n > 255) throw new RangeError(`readdir: invalid name length ${n}`);
    const end = base + Dirent.name + n;
    const padded = (end + 7) & ~7;
    if (padded > this.cap) return false;
    const v = this.view;
    if (entry) {
      if (entry.nodeid === 0) {
        // "." and "..": no entry information, so the kernel takes no lookup reference.
        this.buf.fill(0, this.pos, this.pos + DirentPlus.dirent);
      } else {
        writeEntry(v, this.pos, entry);
      }
    }
    setU64(v, base + Dirent.ino, ino);
    setU64(v, base + Dirent.off, off);
    v.setUint32(base + Dirent.namelen, n, true);
    v.setUint32(base + Dirent.type, type, true);
    this.buf.fill(0, end, padded);
    this.pos = padded;
    this.count++;
    return true;
  }
}
