/* The soak client's operations on the files every client shares: 64-byte records on an O_APPEND
 * log (checked whole by bench/soak-checks.ts), this client's 3000 bytes of a file whose pages it
 * shares with its neighbours, and "hot", replaced by rename while others read it. */
#include "soak-client.h"

/* One 64-byte record on the shared O_APPEND log; bench/soak-run.ts checks the log at the end. */
void op_log(void)
{
	char rec[LOGREC + 1];
	int n = snprintf(rec, sizeof(rec), "log c=%03d seq=%012llu ", id, (unsigned long long)(log_records + 1));
	for (int k = n; k < LOGREC - 1; k++) rec[k] = (char)('a' + (log_records + 1 + id) % 26);
	rec[LOGREC - 1] = '\n';
	ssize_t w = T(K_append, write(logfd, rec, LOGREC));
	if (w != LOGREC) fail("O_APPEND write to %s/log: %zd (%s)", shared, w, w < 0 ? strerror(errno) : "short");
	else log_records++;
}

/* This client's 3000 bytes of the shared "regions" file: its neighbours write the same pages. */
void op_region(void)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/regions", shared);
	size_t a = rnd(REG), b = a + 1 + rnd(REG - a);
	uint64_t base = (uint64_t)id * REG, seq = ++wseq;
	pattern(wbuf, base + a, b - a, seq);
	ssize_t w = T(K_write, pwrite(regfd, wbuf, b - a, base + a));
	if (w != (ssize_t)(b - a)) { fail("pwrite %zu at %llu to %s: %zd (%s)", b - a, (unsigned long long)(base + a), p, w, w < 0 ? strerror(errno) : "short"); return; }
	memcpy(region + a, wbuf, b - a);
	bytes_written += b - a;
	if (b > reg_hi) reg_hi = b;
	ssize_t r = T(K_read, pread(regfd, rbuf, REG, base));
	if (r < (ssize_t)reg_hi || r > REG) fail("pread %d at %llu of %s: %zd (%s)", REG, (unsigned long long)base, p, r, r < 0 ? strerror(errno) : "wrong length");
	else check("region read", p, region, base, rbuf, r);
}

static unsigned char hot_byte(unsigned c, uint64_t seq, size_t i)
{
	return (unsigned char)(i * 131 + seq * 7 + c * 31 + (i >> 8));
}

/* Writes a complete new "hot" under a temporary name and renames it over the old one. */
void op_hot_publish(void)
{
	char tmp[4096], hot[4096];
	snprintf(tmp, sizeof(tmp), "%s/hot.tmp%d", shared, id);
	snprintf(hot, sizeof(hot), "%s/hot", shared);
	uint64_t seq = hot_published + 1;
	size_t body = 100 + rnd(20000);
	int h = snprintf((char *)wbuf, 128, "hot c=%d seq=%llu len=%zu\n", id, (unsigned long long)seq, body);
	for (size_t i = 0; i < body; i++) wbuf[h + i] = hot_byte(id, seq, i);
	int fd = T(K_create, open(tmp, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644));
	if (fd < 0) { fail("create %s: %s", tmp, strerror(errno)); return; }
	ssize_t w = T(K_write, write(fd, wbuf, h + body));
	xclose(fd, tmp);
	if (w != (ssize_t)(h + body)) { fail("write %zu to %s: %zd (%s)", h + body, tmp, w, w < 0 ? strerror(errno) : "short"); unlink(tmp); return; }
	if (T(K_rename, rename(tmp, hot)) != 0) { fail("rename %s over %s: %s", tmp, hot, strerror(errno)); unlink(tmp); return; }
	bytes_written += h + body;
	hot_published++;
}

/* Whatever version of "hot" a reader opens, it is one writer's complete file. */
void op_hot_read(void)
{
	char hot[4096];
	snprintf(hot, sizeof(hot), "%s/hot", shared);
	int fd = T(K_open, open(hot, O_RDONLY | O_CLOEXEC));
	if (fd < 0) { if (errno != ENOENT) fail("open %s: %s", hot, strerror(errno)); return; }
	struct stat st;
	if (T(K_fstat, fstat(fd, &st)) != 0) { fail("fstat %s: %s", hot, strerror(errno)); xclose(fd, hot); return; }
	size_t size = st.st_size < BUFSZ ? st.st_size : BUFSZ;
	ssize_t r = T(K_read, pread(fd, rbuf, size + 1, 0));
	xclose(fd, hot);
	unsigned c;
	unsigned long long seq;
	size_t body;
	int h = 0;
	if (r < 0) { fail("pread %s: %s", hot, strerror(errno)); return; }
	char head[128];
	memcpy(head, rbuf, r < 127 ? r : 127);
	head[r < 127 ? r : 127] = 0;
	if (sscanf(head, "hot c=%u seq=%llu len=%zu%n", &c, &seq, &body, &h) != 3 || head[h++] != '\n') {
		fail("%s: %zd bytes without a valid header (size %lld)", hot, r, (long long)st.st_size);
		return;
	}
	if ((size_t)r != h + body || (size_t)st.st_size != h + body) {
		fail("%s version %u.%llu: %zd bytes read, size %lld, header says %zu", hot, c, seq, r, (long long)st.st_size, h + body);
		return;
	}
	for (size_t i = 0; i < body; i++) {
		if (rbuf[h + i] != hot_byte(c, seq, i)) { fail("%s version %u.%llu: byte %zu of the body is wrong (torn by a rename?)", hot, c, seq, i); return; }
	}
	bytes_verified += r;
	hot_reads++;
}
