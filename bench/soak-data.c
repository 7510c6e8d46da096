/* The soak client's operations on file data: create, write at offsets (O_DIRECT or not), read,
 * whole-file verify, O_APPEND, truncate, fsync/fdatasync, mmap reads and writes, fallocate,
 * copy_file_range. Each keeps the model in step and checks what it reads. */
#include "soak-client.h"

void op_create(void)
{
	int s = free_ent();
	if (s < 0) return op_unlink();
	struct entry *e = &ent[s];
	char p[4096];
	e->dir = pick_dir();
	new_name(e->name);
	path_of(p, e->dir, e->name);
	int fd = T(K_create, open(p, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644));
	if (fd < 0) { fail("create %s: %s", p, strerror(errno)); return; }
	struct inode *ino = calloc(1, sizeof(*ino));
	ino->nlink = 1;
	e->used = 1; e->type = 'f'; e->ino = ino; nused++;
	size_t len = rnd(4) ? rnd_len(65536) : 0;
	if (len) {
		uint64_t seq = ++wseq;
		pattern(wbuf, 0, len, seq);
		ssize_t w = T(K_write, write(fd, wbuf, len));
		if (w == (ssize_t)len) model_write(ino, 0, wbuf, len);
		else fail("write %zu bytes to new file %s: %zd (%s)", len, p, w, w < 0 ? strerror(errno) : "short");
	}
	xclose(fd, p);
	if (len && ino->size != len) resync(ino, p);
}

/* A random file of the model, its path written to p; NULL (a file created instead) if there is none. */
static struct inode *pick_file(char *p, int *idx)
{
	int i = pick('f');
	if (i < 0) {
		op_create();
		return NULL;
	}
	path_of(p, ent[i].dir, ent[i].name);
	*idx = i;
	return ent[i].ino;
}

void op_write(void)
{
	char p[4096];
	int i;
	struct inode *ino = pick_file(p, &i);
	if (!ino) return;
	int direct = odirect && rnd(4) == 0;
	uint64_t off;
	size_t len;
	if (direct) {
		len = 4096 * (1 + rnd(16));
		off = rnd(ino->size + 65536) & ~4095ull;
	} else {
		len = rnd_len(262144);
		off = rnd(ino->size + 65536);
	}
	if (off + len > MAXFILE) off = MAXFILE - len;
	int fd = xopen(p, O_RDWR | (direct ? O_DIRECT : 0), K_open);
	if (fd < 0) return;
	uint64_t seq = ++wseq;
	pattern(wbuf, off, len, seq);
	ssize_t w = T(direct ? K_write_direct : K_write, pwrite(fd, wbuf, len, off));
	if (w != (ssize_t)len) {
		fail("pwrite%s %zu bytes at %llu to %s: %zd (%s)", direct ? " O_DIRECT" : "", len, (unsigned long long)off, p, w,
			w < 0 ? strerror(errno) : "short");
		xclose(fd, p);
		resync(ino, p);
		return;
	}
	model_write(ino, off, wbuf, len);
	if (rnd(3) == 0) {
		ssize_t r = T(direct ? K_read_direct : K_read, pread(fd, rbuf, len, off));
		if (r != (ssize_t)len) fail("read back %zu bytes at %llu of %s: %zd (%s)", len, (unsigned long long)off, p, r, r < 0 ? strerror(errno) : "short");
		else if (check("read back after write", p, ino->data + off, off, rbuf, len)) resync(ino, p);
	}
	xclose(fd, p);
}

void op_read(void)
{
	char p[4096];
	int i;
	struct inode *ino = pick_file(p, &i);
	if (!ino) return;
	int direct = odirect && rnd(4) == 0;
	uint64_t off;
	size_t len;
	if (direct) {
		off = rnd(ino->size + 8192) & ~4095ull;
		len = 4096 * (1 + rnd(64));
	} else {
		off = rnd(ino->size + 100);
		len = rnd_len(262144);
	}
	size_t expect = off >= ino->size ? 0 : ino->size - off < len ? ino->size - off : len;
	int fd = xopen(p, O_RDONLY | (direct ? O_DIRECT : 0), K_open);
	if (fd < 0) return;
	ssize_t r = T(direct ? K_read_direct : K_read, pread(fd, rbuf, len, off));
	if (r != (ssize_t)expect)
		fail("pread%s %zu at %llu of %s (size %zu): %zd, expected %zu (%s)", direct ? " O_DIRECT" : "", len,
			(unsigned long long)off, p, ino->size, r, expect, r < 0 ? strerror(errno) : "wrong length");
	else if (check(direct ? "pread O_DIRECT" : "pread", p, ino->data + off, off, rbuf, expect)) resync(ino, p);
	xclose(fd, p);
}

/* Whole file: fstat's size and link count, then every byte. */
void verify(int i, const char *what)
{
	struct inode *ino = ent[i].ino;
	char p[4096];
	path_of(p, ent[i].dir, ent[i].name);
	if (corrupt && !corrupted && ino->size > 0) {
		int cfd = open(p, O_WRONLY);
		uint64_t at = rnd(ino->size);
		unsigned char flipped = ino->data[at] ^ 0x10;
		if (cfd >= 0 && pwrite(cfd, &flipped, 1, at) == 1) corrupted = 1;
		if (cfd >= 0) close(cfd);
	}
	int fd = xopen(p, O_RDONLY, K_open);
	if (fd < 0) return;
	struct stat st;
	if (T(K_fstat, fstat(fd, &st)) != 0) fail("fstat %s: %s", p, strerror(errno));
	else if ((size_t)st.st_size != ino->size || (int)st.st_nlink != ino->nlink)
		fail("%s %s: size %lld nlink %d, expected size %zu nlink %d", what, p, (long long)st.st_size, (int)st.st_nlink, ino->size, ino->nlink);
	uint64_t off = 0;
	for (;;) {
		ssize_t r = T(K_read, pread(fd, rbuf, 262144, off));
		size_t expect = ino->size - off < 262144 ? ino->size - off : 262144;
		if (r != (ssize_t)expect) {
			fail("%s %s: read at %llu gave %zd, expected %zu (%s)", what, p, (unsigned long long)off, r, expect, r < 0 ? strerror(errno) : "wrong length");
			resync(ino, p);
			break;
		}
		if (r == 0) break;
		if (check(what, p, ino->data + off, off, rbuf, r)) { resync(ino, p); break; }
		off += r;
	}
	xclose(fd, p);
}

void op_verify(void)
{
	int i = pick('f');
	if (i < 0) return op_create();
	verify(i, "verify");
}

void op_append(void)
{
	char p[4096];
	int i;
	struct inode *ino = pick_file(p, &i);
	if (!ino) return;
	size_t len = 1 + rnd(16384);
	if (ino->size + len > MAXFILE) return op_truncate();
	int fd = xopen(p, O_WRONLY | O_APPEND, K_open);
	if (fd < 0) return;
	uint64_t at = ino->size, seq = ++wseq;
	pattern(wbuf, at, len, seq);
	ssize_t w = T(K_append, write(fd, wbuf, len));
	struct stat st;
	if (w != (ssize_t)len) {
		fail("O_APPEND write of %zu to %s: %zd (%s)", len, p, w, w < 0 ? strerror(errno) : "short");
		xclose(fd, p);
		resync(ino, p);
		return;
	}
	model_write(ino, at, wbuf, len);
	if (T(K_fstat, fstat(fd, &st)) != 0) fail("fstat %s: %s", p, strerror(errno));
	else if ((size_t)st.st_size != ino->size) fail("O_APPEND to %s: size %lld after, expected %zu", p, (long long)st.st_size, ino->size);
	xclose(fd, p);
}

void op_truncate(void)
{
	char p[4096];
	int i;
	struct inode *ino = pick_file(p, &i);
	if (!ino) return;
	uint64_t n = rnd(3) ? rnd(ino->size + 1) : ino->size + rnd(32768);
	if (n > MAXFILE) n = MAXFILE;
	int r;
	if (rnd(2)) {
		r = T(K_truncate, truncate(p, n));
	} else {
		int fd = xopen(p, O_WRONLY, K_open);
		if (fd < 0) return;
		r = T(K_ftruncate, ftruncate(fd, n));
		xclose(fd, p);
	}
	if (r != 0) { fail("truncate %s to %llu: %s", p, (unsigned long long)n, strerror(errno)); resync(ino, p); return; }
	if (n < ino->size) ino->size = n;
	else resize(ino, n);
}

void op_fsync(void)
{
	char p[4096];
	int i;
	struct inode *ino = pick_file(p, &i);
	if (!ino) return;
	uint64_t off = rnd(ino->size + 4096);
	size_t len = 1 + rnd(8192);
	int fd = xopen(p, O_WRONLY, K_open);
	if (fd < 0) return;
	uint64_t seq = ++wseq;
	pattern(wbuf, off, len, seq);
	ssize_t w = T(K_write, pwrite(fd, wbuf, len, off));
	if (w != (ssize_t)len) {
		fail("pwrite %zu at %llu to %s: %zd (%s)", len, (unsigned long long)off, p, w, w < 0 ? strerror(errno) : "short");
		xclose(fd, p);
		resync(ino, p);
		return;
	}
	model_write(ino, off, wbuf, len);
	int data = rnd(2);
	if (T(data ? K_fdatasync : K_fsync, data ? fdatasync(fd) : fsync(fd)) != 0) fail("%s %s: %s", data ? "fdatasync" : "fsync", p, strerror(errno));
	xclose(fd, p);
}

void op_mmap(void)
{
	char p[4096];
	int i;
	struct inode *ino = pick_file(p, &i);
	if (!ino) return;
	if (ino->size == 0) return op_read();
	int fd = xopen(p, O_RDONLY, K_open);
	if (fd < 0) return;
	uint64_t t0 = now_ns();
	unsigned char *m = mmap(NULL, ino->size, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) { fail("mmap %s: %s", p, strerror(errno)); xclose(fd, p); return; }
	int same = memcmp(m, ino->data, ino->size) == 0;
	if (!same) memcpy(rbuf, m, ino->size);
	munmap(m, ino->size);
	record(K_mmap_read, now_ns() - t0);
	if (same) bytes_verified += ino->size;
	else if (check("mmap read", p, ino->data, 0, rbuf, ino->size)) resync(ino, p);
	xclose(fd, p);
}

/* Stores through a shared writable mapping, written back by msync (FUSE's writepage path). */
void op_mmap_write(void)
{
	char p[4096];
	int i;
	struct inode *ino = pick_file(p, &i);
	if (!ino) return;
	if (ino->size == 0) return op_write();
	uint64_t off = rnd(ino->size);
	size_t len = 1 + rnd(ino->size - off < 65536 ? ino->size - off : 65536);
	int fd = xopen(p, O_RDWR, K_open);
	if (fd < 0) return;
	uint64_t seq = ++wseq;
	pattern(wbuf, off, len, seq);
	uint64_t t0 = now_ns();
	unsigned char *m = mmap(NULL, ino->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) { fail("mmap PROT_WRITE %s: %s", p, strerror(errno)); xclose(fd, p); return; }
	memcpy(m + off, wbuf, len);
	int r = msync(m, ino->size, MS_SYNC);
	int e = errno;
	munmap(m, ino->size);
	record(K_mmap_write, now_ns() - t0);
	model_write(ino, off, wbuf, len);
	if (r != 0) { fail("msync %s: %s", p, strerror(e)); resync(ino, p); }
	xclose(fd, p);
}

/* Allocate (extending or not), punch a hole, or zero a range; the model follows. */
void op_fallocate(void)
{
	char p[4096];
	int i;
	struct inode *ino = pick_file(p, &i);
	if (!ino) return;
	static const int modes[] = { 0, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, FALLOC_FL_ZERO_RANGE,
		FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE };
	int mode = modes[rnd(5)];
	uint64_t off = rnd(ino->size + 16384), len = 1 + rnd(131072);
	if (off + len > MAXFILE) { off = rnd(MAXFILE / 2); len = 1 + rnd(MAXFILE / 2); }
	int fd = xopen(p, O_WRONLY, K_open);
	if (fd < 0) return;
	if (T(K_fallocate, fallocate(fd, mode, off, len)) != 0) {
		/* A source filesystem without ZERO_RANGE (tmpfs) may say so; anything else is a fault. */
		if (!(errno == EOPNOTSUPP && mode != 0)) fail("fallocate mode 0x%x [%llu, +%llu) of %s: %s", mode, (unsigned long long)off,
			(unsigned long long)len, p, strerror(errno));
		xclose(fd, p);
		resync(ino, p);
		return;
	}
	xclose(fd, p);
	uint64_t end = off + len;
	if (!(mode & FALLOC_FL_KEEP_SIZE) && end > ino->size) resize(ino, end);
	if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) {
		if (end > ino->size) end = ino->size;
		if (off < end) memset(ino->data + off, 0, end - off);
	}
}

/* copy_file_range from one of our files to another (never the same inode: overlap is EINVAL). */
void op_copy_range(void)
{
	int a = pick('f'), b = pick('f');
	if (a < 0 || b < 0 || ent[a].ino == ent[b].ino) return op_write();
	struct inode *src = ent[a].ino, *dst = ent[b].ino;
	char pa[4096], pb[4096];
	path_of(pa, ent[a].dir, ent[a].name);
	path_of(pb, ent[b].dir, ent[b].name);
	loff_t in = rnd(src->size + 1), out = rnd(dst->size + 8192);
	size_t len = 1 + rnd(131072);
	if (out + len > MAXFILE) out = MAXFILE - len;
	int fa = xopen(pa, O_RDONLY, K_open);
	if (fa < 0) return;
	int fb = xopen(pb, O_WRONLY, K_open);
	if (fb < 0) { xclose(fa, pa); return; }
	loff_t in0 = in, out0 = out;
	ssize_t r = T(K_copy_file_range, copy_file_range(fa, &in, fb, &out, len, 0));
	size_t most = (size_t)in0 >= src->size ? 0 : src->size - in0 < len ? src->size - in0 : len;
	if (r < 0) {
		fail("copy_file_range %s [%lld, +%zu) to %s at %lld: %s", pa, (long long)in0, len, pb, (long long)out0, strerror(errno));
		resync(dst, pb);
	} else if ((size_t)r > most) {
		fail("copy_file_range %s [%lld, +%zu) to %s: copied %zd, at most %zu were there", pa, (long long)in0, len, pb, r, most);
		resync(dst, pb);
	} else if (r > 0) {
		unsigned char *tmp = malloc(r);
		memcpy(tmp, src->data + in0, r);
		model_write(dst, out0, tmp, r);
		free(tmp);
	}
	xclose(fa, pa);
	xclose(fb, pb);
}
