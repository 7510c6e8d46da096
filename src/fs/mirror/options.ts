// What a MirrorFs can be told (MirrorFsOptions) and what it counts (MirrorStats).

export interface MirrorFsOptions {
  /**
   * Serve the data of opened regular files by FUSE passthrough when the session negotiated it
   * (mount with { passthrough: true } and call attach()): the kernel reads and writes the source
   * file itself and READ/WRITE never reach the daemon. Default: when running as root (the
   * backing ioctls need CAP_SYS_ADMIN). A file the kernel refuses falls back to userspace I/O.
   */
  passthrough?: boolean;
  /** O_PATH fds kept for inodes, least recently used evicted first. Default 2048. */
  maxCachedFds?: number;
  /** Seconds the kernel may cache names (default 1): the source may change behind the mount. */
  entryTimeout?: number;
  /** Seconds the kernel may cache attributes (default 1). */
  attrTimeout?: number;
  /**
   * Create files, directories, symlinks and nodes as the requesting user (fsuid/fsgid switched
   * for the one syscall), so they are owned by the caller as on a local filesystem. Default: when
   * the daemon runs as root (otherwise everything is owned by the daemon's user).
   */
  createAsCaller?: boolean;
  /** Where the mirror reports trouble worth a line (default: stderr). */
  log?: (line: string) => void;
}

/** Counters for tests and monitoring. */
export interface MirrorStats {
  /** Inodes in the table (the root included). */
  nodes: number;
  /** O_PATH fds held by the cache (not counting the root's or those of open files). */
  cachedFds: number;
  maxCachedFds: number;
  /** Fds opened again for inodes whose fd was evicted, and those refused as stale. */
  resolutions: number;
  stale: number;
  evictions: number;
  openFiles: number;
  openDirs: number;
  /** Opens served by passthrough, by userspace I/O, and passthrough refusals by the kernel. */
  passthroughOpens: number;
  userspaceOpens: number;
  passthroughRefused: number;
  /** READ and WRITE requests that reached the daemon, and their bytes. */
  reads: number;
  writes: number;
  bytesRead: number;
  bytesWritten: number;
  /**
   * FSYNC (fsync and fdatasync of a file), FSYNCDIR, SYNCFS and FLUSH requests served, each an
   * fsync(2), fdatasync(2), syncfs(2) or (FLUSH) nothing on the source: the mirror keeps no data
   * of its own.
   */
  fsyncs: number;
  fdatasyncs: number;
  fsyncdirs: number;
  syncfs: number;
  flushes: number;
}
