// The classic transport: requests read(2) from /dev/fuse into `depth` slots, replies writev(2).
import { native } from '../native.js';
import { Transport } from './transport.js';

export class DevTransport extends Transport {
  private constructor(fd: number) {
    super('dev', native.channelCreate(fd));
  }

  static open(fd: number, depth: number, payloadSize: number): DevTransport {
    const t = new DevTransport(fd);
    try {
      t.addDevSlots(depth, payloadSize);
    } catch (e) {
      t.close();
      throw e;
    }
    return t;
  }
}
