// Readdir writers for calling filesystems directly in unit tests: they collect what is added
// and can pretend the reply buffer is full after `room` entries.
import type { DirentPlusWriter, DirentWriter, Entry } from '../../src/filesystem.js';

export class Dirents implements DirentWriter {
  list: { name: string; ino: number; type: number; off: number }[] = [];
  constructor(private room = Infinity) {}
  add(name: string, ino: number, type: number, off: number): boolean {
    if (this.room-- <= 0) return false;
    this.list.push({ name, ino, type, off });
    return true;
  }
}

export class DirentsPlus implements DirentPlusWriter {
  list: { name: string; entry: Entry; off: number }[] = [];
  constructor(private room = Infinity) {}
  add(name: string, entry: Entry, off: number): boolean {
    if (this.room-- <= 0) return false;
    this.list.push({ name, entry, off });
    return true;
  }
}
