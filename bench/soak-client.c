/* Soak client: mixed metadata and data operations on a mount, every byte read checked against a
 * model of what this process wrote.
 *
 *   soak-client <mnt> <id> <seconds> <seed> <odirect 0|1> [corrupt 0|1]
 *
 * Works in <mnt>/c<id> (its files, symlinks, hard links and up to 4 subdirectories) and in
 * <mnt>/shared, which the caller creates and every client uses at once: its own files there
 * (s<id>_<n>, renamed in and out), an O_APPEND log of 64-byte records, a file of 3000-byte regions
 * (one per client, sharing pages with the neighbours), and a file "hot" that clients replace by
 * rename while others read it. Every data write uses a pattern in which each 8-byte word says
 * which write of which client put it there, so a lost, stale, torn or misplaced write shows as a
 * mismatch naming both writes. At the end it checks every file once more, deletes everything it
 * created, and prints one JSON line: counts and a latency histogram per system call, errors
 * (each also on stderr as it happens), bytes written and verified, records appended.
 * `corrupt 1` flips a byte behind the model's back once, to prove that the checks catch it.
 * Built by bench/soak-run.ts with the system C compiler from soak-client.c, soak-model.c,
 * soak-data.c, soak-names.c and soak-shared.c; only libc. */
#include "soak-client.h"

const char *op_names[] = { OPS(NAME) };

const char *mnt;
int id, odirect, corrupt, corrupted;
uint64_t rng, wseq, name_ctr;
uint32_t salt;
char own[2048], shared[2048];
unsigned char *wbuf, *rbuf;
uint64_t bytes_written, bytes_verified, log_records, hot_published, hot_reads;
struct entry ent[MAXENT];
int nused, sub_used[MAXSUB + 1];
int logfd = -1, regfd = -1;
unsigned char region[REG];
size_t reg_hi;

static uint64_t deadline;
static uint64_t hist[NOPS][NBUCKETS], count[NOPS], maxns[NOPS];
static long nerr;
static char msgs[16][512];
static int nmsgs;

uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + t.tv_nsec;
}

/* Log-linear buckets, 32 per power of two (3 % wide); bench/soak-hist.ts inverts this. */
static int bucket(uint64_t v)
{
	if (v < 64) return (int)v;
	int e = 63 - __builtin_clzll(v);
	int i = (e - 5) * 32 + (int)(v >> (e - 5));
	return i < NBUCKETS ? i : NBUCKETS - 1;
}

void record(int k, uint64_t ns)
{
	hist[k][bucket(ns)]++;
	count[k]++;
	if (ns > maxns[k]) maxns[k] = ns;
}

void fail(const char *fmt, ...)
{
	char b[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	if (nerr++ < 100) fprintf(stderr, "soak-client %d: %s\n", id, b);
	if (nmsgs < 16) strcpy(msgs[nmsgs++], b);
}

uint64_t rnd(uint64_t n)
{
	rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
	return n ? (rng * 0x2545F4914F6CDD1Dull >> 11) % n : 0;
}

/* Mostly small writes, some large ones that the kernel splits into several requests. */
size_t rnd_len(size_t max)
{
	uint64_t r = rnd(100);
	size_t n = r < 40 ? 1 + rnd(512) : r < 70 ? 512 + rnd(8192) : r < 90 ? 8192 + rnd(65536) : 65536 + rnd(max);
	return n < max ? n : max;
}

static const struct { void (*fn)(void); int weight; } mix[] = {
	{ op_write, 140 }, { op_read, 140 }, { op_verify, 30 }, { op_create, 70 }, { op_append, 60 },
	{ op_truncate, 35 }, { op_rename, 60 }, { op_unlink, 50 }, { op_link, 20 }, { op_mkdir, 12 },
	{ op_rmdir, 12 }, { op_readdir, 40 }, { op_stat, 100 }, { op_symlink, 25 }, { op_readlink, 20 },
	{ op_fsync, 20 }, { op_mmap, 25 }, { op_log, 40 }, { op_region, 40 }, { op_hot_publish, 12 },
	{ op_hot_read, 30 }, { op_fallocate, 20 }, { op_copy_range, 20 },
	{ op_mmap_write, 15 },
};

static void step(void)
{
	if (nused < 6) return op_create();
	if (nused > MAXENT - 3) return op_unlink();
	int total = 0;
	for (size_t k = 0; k < sizeof(mix) / sizeof(mix[0]); k++) total += mix[k].weight;
	int r = (int)rnd(total);
	for (size_t k = 0; k < sizeof(mix) / sizeof(mix[0]); k++) {
		if (r < mix[k].weight) return mix[k].fn();
		r -= mix[k].weight;
	}
}

/* Checks everything once more, then removes all this client made. */
static void finish(void)
{
	for (int i = 0; i < MAXENT; i++) {
		if (ent[i].used && ent[i].type == 'f') verify(i, "final check");
		else if (ent[i].used) check_link(i);
	}
	check_dir(0);
	for (int k = 1; k <= MAXSUB; k++) if (sub_used[k]) check_dir(k);
	check_dir(SHARED);
	char p[4096];
	snprintf(p, sizeof(p), "%s/regions", shared);
	ssize_t r = pread(regfd, rbuf, REG, (uint64_t)id * REG);
	if (r < (ssize_t)reg_hi) fail("final pread of %s: %zd", p, r);
	else check("final region check", p, region, (uint64_t)id * REG, rbuf, r);
	for (int i = 0; i < MAXENT; i++) {
		if (!ent[i].used) continue;
		path_of(p, ent[i].dir, ent[i].name);
		if (T(K_unlink, unlink(p)) != 0) fail("unlink %s: %s", p, strerror(errno));
		drop(i);
	}
	for (int k = 1; k <= MAXSUB; k++) {
		if (!sub_used[k]) continue;
		dir_path(p, k);
		if (T(K_rmdir, rmdir(p)) != 0) fail("rmdir %s: %s", p, strerror(errno));
	}
	if (T(K_rmdir, rmdir(own)) != 0) fail("rmdir %s: %s", own, strerror(errno));
	close(logfd);
	close(regfd);
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) putchar(*s == '"' || *s == '\\' || (unsigned char)*s < 0x20 ? '?' : *s);
	putchar('"');
}

static void report(double seconds)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("{\"id\":%d,\"seconds\":%.3f,\"cpu_us\":%lld,\"errors\":%ld,\"bytes_written\":%llu,\"bytes_verified\":%llu,"
		"\"log_records\":%llu,\"hot_published\":%llu,\"hot_reads\":%llu,\"messages\":[", id, seconds,
		(long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec, nerr,
		(unsigned long long)bytes_written, (unsigned long long)bytes_verified, (unsigned long long)log_records,
		(unsigned long long)hot_published, (unsigned long long)hot_reads);
	for (int m = 0; m < nmsgs; m++) { if (m) putchar(','); json_string(msgs[m]); }
	printf("],\"ops\":{");
	int first = 1;
	for (int k = 0; k < NOPS; k++) {
		if (!count[k]) continue;
		printf("%s\"%s\":{\"n\":%llu,\"max_ns\":%llu,\"h\":[", first ? "" : ",", op_names[k], (unsigned long long)count[k], (unsigned long long)maxns[k]);
		first = 0;
		int f2 = 1;
		for (int b = 0; b < NBUCKETS; b++) {
			if (!hist[k][b]) continue;
			printf("%s[%d,%llu]", f2 ? "" : ",", b, (unsigned long long)hist[k][b]);
			f2 = 0;
		}
		printf("]}");
	}
	printf("}}\n");
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: soak-client <mnt> <id> <seconds> <seed> <odirect 0|1> [corrupt 0|1]\n");
		return 2;
	}
	mnt = argv[1];
	id = atoi(argv[2]);
	double seconds = atof(argv[3]);
	rng = strtoull(argv[4], NULL, 10) * 0x9E3779B97F4A7C15ull + (uint64_t)id * 0xBF58476D1CE4E5B9ull + 1;
	odirect = atoi(argv[5]);
	corrupt = argc > 6 && atoi(argv[6]);
	salt = 0x5A5A5A5Au ^ ((uint32_t)id << 24);
	snprintf(own, sizeof(own), "%s/c%d", mnt, id);
	snprintf(shared, sizeof(shared), "%s/shared", mnt);
	if (posix_memalign((void **)&wbuf, 4096, BUFSZ) || posix_memalign((void **)&rbuf, 4096, BUFSZ)) return 3;
	uint64_t start = now_ns();
	deadline = start + (uint64_t)(seconds * 1e9);
	char p[4096];
	if (T(K_mkdir, mkdir(own, 0755)) != 0) { fprintf(stderr, "soak-client %d: mkdir %s: %s\n", id, own, strerror(errno)); return 3; }
	snprintf(p, sizeof(p), "%s/log", shared);
	logfd = xopen(p, O_WRONLY | O_APPEND | O_CREAT, K_open);
	snprintf(p, sizeof(p), "%s/regions", shared);
	regfd = xopen(p, O_RDWR | O_CREAT, K_open);
	if (logfd < 0 || regfd < 0) return 3;
	while (now_ns() < deadline) step();
	finish();
	report((now_ns() - start) / 1e9);
	return 0;
}
