// Timestamps with nanoseconds, as struct fuse_attr carries them. Date.now() alone has millisecond
// resolution, which makes make(1)-style "is it newer" checks tie; the monotonic clock, anchored
// to the wall clock once, gives sub-microsecond steps (it does not follow later wall-clock
// steps, which is acceptable for an in-memory filesystem that lives as long as its process).

export interface Timespec {
  sec: number;
  nsec: number;
}

// performance.now() is that monotonic clock as a double (ms since the process started), read
// without the four BigInts per call that process.hrtime.bigint() arithmetic costs on every read
// and write; split at whole seconds so the sum never exceeds a double's exact range.
const startMs = Date.now() - performance.now();
const startSec = Math.floor(startMs / 1000);
const startFracMs = startMs - startSec * 1000;

export function now(): Timespec {
  const ms = startFracMs + performance.now();
  const whole = Math.floor(ms / 1000);
  const nsec = Math.max(0, Math.min(999_999_999, Math.round((ms - whole * 1000) * 1e6)));
  return { sec: startSec + whole, nsec };
}
