/* Who should serve the ring? A FUSE-over-io_uring server in C with nothing in it but the serving
 * model, to measure what the model costs on this machine before building it into the addon.
 *
 *   queue-threads <mountpoint> single|percpu|hop [work_us]
 *
 * single  one thread, one ring, every queue (what the addon does today, CQ watched before sleeping)
 * percpu  one thread and ring per queue, pinned to the queue's CPU, each answering its own
 *         requests (libfuse's model)
 * hop     percpu's threads receive and commit; one unpinned "handler" thread (the JavaScript
 *         thread's stand-in) answers every request, handed over through shared memory with both
 *         sides watching instead of sleeping
 *
 * The filesystem is an empty root directory: LOOKUP answers ENOENT, GETATTR the root's attributes,
 * anything else ENOSYS. Each answer first burns work_us µs of CPU (default 5: about what
 * JavaScript spends per LOOKUP, docs/performance.md). Run bench/meta.c's statmissing against it.
 * Runs until unmounted (umount -l) or killed. Only libc and <linux/io_uring.h>. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define DEPTH 4
#define HDR 288
#define PAYLOAD (128 * 1024)
#define MAXQ 64

struct ring {
	int fd;
	unsigned *sq_head, *sq_tail, *sq_flags, sq_mask, *cq_head, *cq_tail, cq_mask;
	unsigned char *sqes;
	struct io_uring_cqe *cqes;
	unsigned tail;
};

struct ent {
	unsigned char hdr[HDR] __attribute__((aligned(64)));
	unsigned char *payload;
	struct iovec iov[2];
	unsigned qid;
	volatile int state; /* hop: 1 = handed to the handler, 2 = answered */
};

static int devfd, nq, work_us = 5;
static const char *mode;
static struct ent *ents; /* nq * DEPTH */

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + t.tv_nsec;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void ring_init(struct ring *r, unsigned entries)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	const char *f = getenv("QT_RING_FLAGS"); /* extra IORING_SETUP_* flags, e.g. 0x3000 (DEFER_TASKRUN) */
	p.flags = IORING_SETUP_SQE128 | (f ? (unsigned)strtoul(f, NULL, 0) : IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG);
	r->fd = (int)syscall(__NR_io_uring_setup, entries, &p);
	if (r->fd < 0) die("io_uring_setup");
	size_t sqlen = p.sq_off.array + p.sq_entries * 4, cqlen = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	size_t len = sqlen > cqlen ? sqlen : cqlen;
	unsigned char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
	r->sqes = mmap(NULL, p.sq_entries * 128, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
	if (m == MAP_FAILED || r->sqes == MAP_FAILED) die("mmap");
	r->sq_head = (unsigned *)(m + p.sq_off.head);
	r->sq_tail = (unsigned *)(m + p.sq_off.tail);
	r->sq_flags = (unsigned *)(m + p.sq_off.flags);
	r->sq_mask = *(unsigned *)(m + p.sq_off.ring_mask);
	unsigned *arr = (unsigned *)(m + p.sq_off.array);
	for (unsigned i = 0; i < p.sq_entries; i++) arr[i] = i;
	r->cq_head = (unsigned *)(m + p.cq_off.head);
	r->cq_tail = (unsigned *)(m + p.cq_off.tail);
	r->cq_mask = *(unsigned *)(m + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)(m + p.cq_off.cqes);
	r->tail = *r->sq_tail;
	if (syscall(__NR_io_uring_register, r->fd, IORING_REGISTER_FILES, &devfd, 1) < 0) die("register files");
}

static void queue_cmd(struct ring *r, unsigned idx, unsigned op)
{
	unsigned char *sqe = r->sqes + (size_t)(r->tail & r->sq_mask) * 128;
	struct ent *e = &ents[idx];
	memset(sqe, 0, 128);
	struct io_uring_sqe *s = (struct io_uring_sqe *)sqe;
	s->opcode = IORING_OP_URING_CMD;
	s->flags = IOSQE_FIXED_FILE;
	s->fd = 0;
	s->cmd_op = op;
	s->user_data = idx;
	if (op == 1) {
		s->addr = (uint64_t)(uintptr_t)e->iov;
		s->len = 2;
	}
	uint64_t commit_id;
	memcpy(&commit_id, e->hdr + 264, 8);
	memcpy(sqe + 56, op == 2 ? &commit_id : &(uint64_t){ 0 }, 8);
	uint16_t q = (uint16_t)e->qid;
	memcpy(sqe + 64, &q, 2);
	r->tail++;
}

static int enter(struct ring *r, unsigned min_complete)
{
	unsigned pending = r->tail - __atomic_load_n(r->sq_tail, __ATOMIC_RELAXED);
	__atomic_store_n(r->sq_tail, r->tail, __ATOMIC_RELEASE);
	unsigned flags = min_complete || (__atomic_load_n(r->sq_flags, __ATOMIC_ACQUIRE) & IORING_SQ_TASKRUN) ? IORING_ENTER_GETEVENTS : 0;
	if (!pending && !flags) return 0;
	int ret = (int)syscall(__NR_io_uring_enter, r->fd, pending, min_complete, flags, NULL, 0);
	if (ret < 0 && errno != EINTR) die("io_uring_enter");
	return ret;
}

static int pop(struct ring *r, unsigned *idx, int *res)
{
	unsigned h = *r->cq_head;
	if (h == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE)) return 0;
	struct io_uring_cqe *c = &r->cqes[h & r->cq_mask];
	*idx = (unsigned)c->user_data;
	*res = c->res;
	__atomic_store_n(r->cq_head, h + 1, __ATOMIC_RELEASE);
	return 1;
}

static int ready(struct ring *r)
{
	return __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE) != *r->cq_head ||
	       (__atomic_load_n(r->sq_flags, __ATOMIC_ACQUIRE) & IORING_SQ_TASKRUN);
}

/* The filesystem: writes the reply into the entry. */
static void answer(struct ent *e)
{
	uint64_t end = now_ns() + (uint64_t)work_us * 1000;
	while (now_ns() < end) __builtin_ia32_pause();
	uint32_t opcode;
	uint64_t unique;
	memcpy(&opcode, e->hdr + 4, 4);
	memcpy(&unique, e->hdr + 8, 8);
	int32_t error = 0;
	uint32_t len = 0;
	if (opcode == 3) { /* GETATTR: fuse_attr_out of the root */
		memset(e->payload, 0, 104);
		uint64_t one = 1, valid = 1;
		memcpy(e->payload, &valid, 8);
		memcpy(e->payload + 16, &one, 8); /* ino */
		uint32_t m = 040755, nlink = 2;
		memcpy(e->payload + 16 + 60, &m, 4);
		memcpy(e->payload + 16 + 64, &nlink, 4);
		len = 104;
	} else {
		error = opcode == 1 ? -ENOENT : -ENOSYS;
	}
	memset(e->hdr, 0, 16);
	memcpy(e->hdr + 4, &error, 4);
	memcpy(e->hdr + 8, &unique, 8);
	memset(e->hdr + 256, 0, 8); /* (the commit_id at 264 stays for the SQE) */
	memset(e->hdr + 272, 0, 16);
	memcpy(e->hdr + 272, &len, 4);
}

/* single: one thread, every queue; watches the CQ for 50 µs before sleeping. */
static void serve_single(void)
{
	struct ring r;
	ring_init(&r, 256);
	for (int i = 0; i < nq * DEPTH; i++) queue_cmd(&r, i, 1);
	for (;;) {
		uint64_t end = now_ns() + 50000;
		while (!ready(&r) && now_ns() < end) __builtin_ia32_pause();
		enter(&r, ready(&r) ? 0 : 1);
		unsigned idx;
		int res;
		while (pop(&r, &idx, &res)) {
			if (res < 0) exit(0);
			answer(&ents[idx]);
			queue_cmd(&r, idx, 2);
		}
		enter(&r, 0);
	}
}

/* hop: the handler thread's inbox is the entries' state field. */
static void *handler(void *arg)
{
	(void)arg;
	for (;;) {
		for (int i = 0; i < nq * DEPTH; i++) {
			if (__atomic_load_n(&ents[i].state, __ATOMIC_ACQUIRE) == 1) {
				answer(&ents[i]);
				__atomic_store_n(&ents[i].state, 2, __ATOMIC_RELEASE);
			}
		}
		__builtin_ia32_pause();
	}
	return NULL;
}

static void *queue_thread(void *arg)
{
	unsigned q = (unsigned)(uintptr_t)arg;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(q, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	struct ring r;
	ring_init(&r, 16);
	for (int i = 0; i < DEPTH; i++) queue_cmd(&r, q * DEPTH + i, 1);
	int hop = strcmp(mode, "hop") == 0;
	for (;;) {
		enter(&r, 1); /* sleeps: the caller on this CPU wakes us locally */
		unsigned idx;
		int res;
		unsigned handed[DEPTH], nh = 0;
		while (pop(&r, &idx, &res)) {
			if (res < 0) exit(0);
			if (!hop) {
				answer(&ents[idx]);
				queue_cmd(&r, idx, 2);
			} else {
				__atomic_store_n(&ents[idx].state, 1, __ATOMIC_RELEASE);
				handed[nh++] = idx;
			}
		}
		for (unsigned i = 0; i < nh; i++) {
			while (__atomic_load_n(&ents[handed[i]].state, __ATOMIC_ACQUIRE) != 2) __builtin_ia32_pause();
			ents[handed[i]].state = 0;
			queue_cmd(&r, handed[i], 2);
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s <mountpoint> single|percpu|hop [work_us]\n", argv[0]);
		return 2;
	}
	mode = argv[2];
	if (argc > 3) work_us = atoi(argv[3]);
	nq = (int)sysconf(_SC_NPROCESSORS_CONF);
	devfd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (devfd < 0) die("/dev/fuse");
	char opts[128];
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0", devfd);
	if (mount("qt", argv[1], "fuse.qt", MS_NOSUID | MS_NODEV, opts) < 0) die("mount");
	static unsigned char buf[PAYLOAD + 4096];
	ssize_t n = read(devfd, buf, sizeof(buf));
	if (n < 104) die("read INIT");
	uint32_t minor;
	memcpy(&minor, buf + 44, 4);
	unsigned char out[16 + 64];
	memset(out, 0, sizeof(out));
	uint32_t len = sizeof(out), flags = 0x40000000 | 0x400000 | 0x40000 | 0x20 | 0x1, flags2 = 0x200;
	uint32_t maj = 7, min = minor < 45 ? minor : 45, ra = 131072, mw = PAYLOAD, tg = 1;
	uint16_t bg = 16, cg = 12, mp = PAYLOAD / 4096;
	memcpy(out, &len, 4);
	memcpy(out + 8, buf + 8, 8); /* unique */
	memcpy(out + 16, &maj, 4);
	memcpy(out + 20, &min, 4);
	memcpy(out + 24, &ra, 4);
	memcpy(out + 28, &flags, 4);
	memcpy(out + 32, &bg, 2);
	memcpy(out + 34, &cg, 2);
	memcpy(out + 36, &mw, 4);
	memcpy(out + 40, &tg, 4);
	memcpy(out + 44, &mp, 2);
	memcpy(out + 48, &flags2, 4);
	if (write(devfd, out, sizeof(out)) != (ssize_t)sizeof(out)) die("write INIT");
	ents = aligned_alloc(64, sizeof(*ents) * nq * DEPTH);
	memset(ents, 0, sizeof(*ents) * nq * DEPTH);
	for (int i = 0; i < nq * DEPTH; i++) {
		ents[i].payload = aligned_alloc(4096, PAYLOAD);
		ents[i].qid = i / DEPTH;
		ents[i].iov[0] = (struct iovec){ ents[i].hdr, HDR };
		ents[i].iov[1] = (struct iovec){ ents[i].payload, PAYLOAD };
	}
	if (strcmp(mode, "single") == 0) serve_single();
	pthread_t t;
	if (strcmp(mode, "hop") == 0) pthread_create(&t, NULL, handler, NULL);
	for (int q = 0; q < nq; q++) pthread_create(&t, NULL, queue_thread, (void *)(uintptr_t)q);
	pause();
	return 0;
}
