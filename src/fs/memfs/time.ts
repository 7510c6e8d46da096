// Timestamps with nanoseconds, as struct fuse_attr carries them. Date.now() alone has millisecond
// resolution, which makes make(1)-style "is it newer" checks tie; the monotonic hrtime clock,
// anchored to the wall clock once, gives real nanoseconds (it does not follow later wall-clock
// steps, which is acceptable for an in-memory filesystem that lives as long as its process).

export interface Timespec {
  sec: number;
  nsec: number;
}

const epochMinusHrtime = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

export function now(): Timespec {
  const ns = epochMinusHrtime + process.hrtime.bigint();
  return { sec: Number(ns / 1_000_000_000n), nsec: Number(ns % 1_000_000_000n) };
}
