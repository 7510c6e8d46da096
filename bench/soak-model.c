/* The soak client's model of what it wrote: write patterns that name their write, the check of
 * bytes read against the model, paths, and the table of names (bench/soak-client.h). */
#include "soak-client.h"

/* Byte p of a write with sequence number seq: byte p%8 of the word (seq << 32 | (p/8 ^ salt)). */
void pattern(unsigned char *b, uint64_t off, size_t len, uint64_t seq)
{
	for (size_t i = 0; i < len; i++) {
		uint64_t p = off + i, w = seq << 32 | (uint32_t)((p >> 3) ^ salt);
		b[i] = (unsigned char)(w >> ((p & 7) * 8));
	}
}

/* Names the write an aligned 8-byte word came from, or says it is none of ours. */
static void describe_word(char *out, size_t n, const unsigned char *w, uint64_t p)
{
	uint64_t v;
	memcpy(&v, w, 8);
	uint32_t x = (uint32_t)v ^ (uint32_t)(p >> 3) ^ 0x5A5A5A5Au;
	if (v == 0) snprintf(out, n, "zeros");
	else if ((x & 0xFFFFFF) == 0) snprintf(out, n, "write #%llu of client %u", (unsigned long long)(v >> 32), x >> 24);
	else snprintf(out, n, "0x%016llx (no write's pattern at this offset)", (unsigned long long)v);
}

/* Compares n bytes read at file offset off with the expected ones; reports the first difference. */
int check(const char *what, const char *path, const unsigned char *exp, uint64_t off, const unsigned char *got, size_t n)
{
	if (memcmp(got, exp, n) == 0) { bytes_verified += n; return 0; }
	size_t i = 0, diff = 0;
	while (got[i] == exp[i]) i++;
	for (size_t j = i; j < n; j++) diff += got[j] != exp[j];
	uint64_t p = off + i, wa = p & ~7ull;
	char e[128] = "?", g[128] = "?";
	if (wa >= off && wa + 8 <= off + n) {
		describe_word(e, sizeof(e), exp + (wa - off), wa);
		describe_word(g, sizeof(g), got + (wa - off), wa);
	}
	fail("%s %s: %zu of %zu bytes read at %llu differ, first at %llu: expected %s, got %s", what, path, diff, n,
		(unsigned long long)off, (unsigned long long)p, e, g);
	return -1;
}

/* own and shared are at most 2047 bytes, names 39: every path fits in 4096. */
void dir_path(char *out, int dir)
{
	if (dir == 0) snprintf(out, 2100, "%s", own);
	else if (dir == SHARED) snprintf(out, 2100, "%s", shared);
	else snprintf(out, 2100, "%s/d%d", own, dir);
}

void path_of(char *out, int dir, const char *name)
{
	char d[2100];
	dir_path(d, dir);
	snprintf(out, 4096, "%s/%.40s", d, name);
}

void resize(struct inode *ino, size_t n)
{
	if (n > ino->cap) {
		size_t c = ino->cap ? ino->cap : 4096;
		while (c < n) c *= 2;
		ino->data = realloc(ino->data, c);
		if (!ino->data) { perror("realloc"); exit(3); }
		ino->cap = c;
	}
	if (n > ino->size) memset(ino->data + ino->size, 0, n - ino->size);
	ino->size = n;
}

void model_write(struct inode *ino, uint64_t off, const unsigned char *b, size_t n)
{
	if (off + n > ino->size) resize(ino, off + n);
	memcpy(ino->data + off, b, n);
	bytes_written += n;
}

/* After a failure the model is re-read from the file, so one fault is reported once. */
void resync(struct inode *ino, const char *path)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) { if (fd >= 0) close(fd); return; }
	ino->size = 0;
	resize(ino, st.st_size);
	ssize_t r = pread(fd, ino->data, st.st_size, 0);
	if (r >= 0) ino->size = r;
	close(fd);
}

int pick(int type)
{
	int c[MAXENT], n = 0;
	for (int i = 0; i < MAXENT; i++)
		if (ent[i].used && (type < 0 || ent[i].type == type)) c[n++] = i;
	return n ? c[rnd(n)] : -1;
}

int free_ent(void)
{
	for (int i = 0; i < MAXENT; i++) if (!ent[i].used) return i;
	return -1;
}

int pick_sub(void)
{
	int c[MAXSUB], n = 0;
	for (int k = 1; k <= MAXSUB; k++) if (sub_used[k]) c[n++] = k;
	return n ? c[rnd(n)] : 0;
}

/* Where a new name goes: this client's directory, one of its subdirectories, or the shared one. */
int pick_dir(void)
{
	uint64_t r = rnd(100);
	return r < 20 ? SHARED : r < 45 ? pick_sub() : 0;
}

void new_name(char *out)
{
	snprintf(out, 40, "s%d_%llu", id, (unsigned long long)name_ctr++);
}

void drop(int i)
{
	struct entry *e = &ent[i];
	if (e->type == 'f' && --e->ino->nlink == 0) { free(e->ino->data); free(e->ino); }
	e->used = 0;
	e->ino = NULL;
	nused--;
}

int xopen(const char *p, int flags, int k)
{
	int fd = T(k, open(p, flags | O_CLOEXEC, 0644));
	if (fd < 0) fail("open %s (flags 0%o): %s", p, flags, strerror(errno));
	return fd;
}

void xclose(int fd, const char *p)
{
	if (T(K_close, close(fd)) != 0) fail("close %s: %s", p, strerror(errno));
}
