/* Who should serve the ring? A FUSE-over-io_uring server in C with nothing in it but the serving
 * model, to measure what the model costs on this machine before building it into the addon.
 *
 *   queue-threads <mountpoint> single|percpu|hop|mixed [work_us]
 *
 * single  one thread, one ring, every queue (what the addon does today, CQ watched before sleeping)
 * percpu  one thread and ring per queue, pinned to the queue's CPU, each answering its own
 *         requests (libfuse's model)
 * hop     percpu's threads receive and commit; one unpinned "handler" thread (the JavaScript
 *         thread's stand-in) answers every request, handed over through shared memory with both
 *         sides watching instead of sleeping
 * mixed   the handler thread, pinned to CPU 0 at SCHED_IDLE, serves queue 0's ring itself and
 *         answers the other queues' requests handed over from their threads as in hop (the loop
 *         thread following a caller on CPU 0 while queue threads serve the other CPUs)
 *
 * The filesystem is an empty root directory: LOOKUP answers ENOENT, GETATTR the root's attributes,
 * anything else ENOSYS. Each answer first burns work_us µs of CPU (default 5: about what
 * JavaScript spends per LOOKUP, docs/performance.md). Run bench/meta.c's statmissing against it.
 * Runs until unmounted (umount -l) or killed. Uses the addon's raw ring (native/ring.c):
 *   cc -O2 -pthread -o queue-threads bench/queue-threads.c native/ring.c */
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

#include "../native/fuse_abi.h"
#include "../native/ring.h"

#define DEPTH 4
#define PAYLOAD (128 * 1024)

struct ent {
	unsigned char hdr[FU_URING_HEADER_SIZE] __attribute__((aligned(64)));
	unsigned char *payload;
	struct iovec iov[2];
	unsigned qid;
	int state; /* hop: 1 = handed to the handler, 2 = answered */
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

static void die(const char *what, int err)
{
	fprintf(stderr, "queue-threads: %s: %s\n", what, strerror(err));
	exit(1);
}

static void ring_init(struct fu_ring *r, unsigned entries)
{
	const char *f = getenv("QT_RING_FLAGS"); /* extra IORING_SETUP_* flags, e.g. 0x3000 (DEFER_TASKRUN) */
	unsigned flags = f ? (unsigned)strtoul(f, NULL, 0) : IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
	int err = fu_ring_init(r, entries, IORING_SETUP_SQE128 | flags);
	if (!err) err = fu_ring_register_files(r, &devfd, 1);
	if (err) die("io_uring setup", -err);
}

static void queue_cmd(struct fu_ring *r, unsigned idx, unsigned op)
{
	struct io_uring_sqe *sqe = fu_ring_get_sqe(r);
	struct ent *e = &ents[idx];
	struct fu_fuse_uring_cmd_req req = { .qid = (uint16_t)e->qid };
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->flags = IOSQE_FIXED_FILE;
	sqe->fd = 0;
	sqe->cmd_op = op;
	sqe->user_data = idx;
	if (op == FUSE_IO_URING_CMD_REGISTER) {
		sqe->addr = (uint64_t)(uintptr_t)e->iov;
		sqe->len = 2;
	} else {
		memcpy(&req.commit_id, e->hdr + FU_URING_COMMIT_ID_OFFSET, 8);
	}
	memcpy((unsigned char *)sqe + FU_SQE_CMD_OFFSET, &req, sizeof(req));
}

static void enter(struct fu_ring *r, unsigned min_complete)
{
	int ret = fu_ring_submit_and_wait(r, min_complete);
	if (ret < 0) die("io_uring_enter", -ret);
}

/* A CQE, or task_work that posts one. */
static int ready(const struct fu_ring *r)
{
	return fu_ring_cq_ready(r) || (__atomic_load_n(r->sq_kflags, __ATOMIC_ACQUIRE) & IORING_SQ_TASKRUN);
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

/* Answers every request the ring holds and queues its COMMIT_AND_FETCH; exits when the ring ends. */
static void answer_ring(struct fu_ring *r)
{
	struct fu_cqe c;
	while (fu_ring_pop_cqe(r, &c)) {
		if (c.res < 0) exit(0);
		answer(&ents[c.user_data]);
		queue_cmd(r, (unsigned)c.user_data, FUSE_IO_URING_CMD_COMMIT_AND_FETCH);
	}
}

/* single: one thread, every queue; watches the CQ for 50 µs before sleeping. */
static void serve_single(void)
{
	struct fu_ring r;
	ring_init(&r, 256);
	for (int i = 0; i < nq * DEPTH; i++) queue_cmd(&r, i, FUSE_IO_URING_CMD_REGISTER);
	for (;;) {
		uint64_t end = now_ns() + 50000;
		while (!ready(&r) && now_ns() < end) __builtin_ia32_pause();
		enter(&r, ready(&r) ? 0 : 1);
		answer_ring(&r);
		enter(&r, 0);
	}
}

/* hop: the handler thread's inbox is the entries' state field; answers those from entry `from` on. */
static void answer_handed(int from)
{
	for (int i = from; i < nq * DEPTH; i++) {
		if (__atomic_load_n(&ents[i].state, __ATOMIC_ACQUIRE) == 1) {
			answer(&ents[i]);
			__atomic_store_n(&ents[i].state, 2, __ATOMIC_RELEASE);
		}
	}
	__builtin_ia32_pause();
}

static void *handler(void *arg)
{
	(void)arg;
	for (;;) answer_handed(0);
	return NULL;
}

/* mixed: queue 0's ring served here, the others' requests answered from the inbox as in hop */
static void *mixed_handler(void *arg)
{
	(void)arg;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	struct sched_param idle = { 0 };
	if (sched_setscheduler(0, SCHED_IDLE, &idle)) die("SCHED_IDLE", errno);
	struct fu_ring r;
	ring_init(&r, 16);
	for (int i = 0; i < DEPTH; i++) queue_cmd(&r, i, FUSE_IO_URING_CMD_REGISTER);
	enter(&r, 0);
	for (;;) {
		if (ready(&r)) {
			enter(&r, 0);
			answer_ring(&r);
			enter(&r, 0);
		}
		answer_handed(DEPTH);
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
	struct fu_ring r;
	ring_init(&r, 16);
	for (int i = 0; i < DEPTH; i++) queue_cmd(&r, q * DEPTH + i, FUSE_IO_URING_CMD_REGISTER);
	int hop = strcmp(mode, "hop") == 0 || strcmp(mode, "mixed") == 0;
	for (;;) {
		enter(&r, 1); /* sleeps: the caller on this CPU wakes us locally */
		struct fu_cqe c;
		unsigned handed[DEPTH], nh = 0;
		while (fu_ring_pop_cqe(&r, &c)) {
			unsigned idx = (unsigned)c.user_data;
			if (c.res < 0) exit(0);
			if (!hop) {
				answer(&ents[idx]);
				queue_cmd(&r, idx, FUSE_IO_URING_CMD_COMMIT_AND_FETCH);
			} else {
				__atomic_store_n(&ents[idx].state, 1, __ATOMIC_RELEASE);
				handed[nh++] = idx;
			}
		}
		for (unsigned i = 0; i < nh; i++) {
			while (__atomic_load_n(&ents[handed[i]].state, __ATOMIC_ACQUIRE) != 2) __builtin_ia32_pause();
			ents[handed[i]].state = 0;
			queue_cmd(&r, handed[i], FUSE_IO_URING_CMD_COMMIT_AND_FETCH);
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s <mountpoint> single|percpu|hop|mixed [work_us]\n", argv[0]);
		return 2;
	}
	mode = argv[2];
	if (argc > 3) work_us = atoi(argv[3]);
	nq = (int)sysconf(_SC_NPROCESSORS_CONF);
	devfd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (devfd < 0) die("/dev/fuse", errno);
	char opts[128];
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0", devfd);
	if (mount("qt", argv[1], "fuse.qt", MS_NOSUID | MS_NODEV, opts) < 0) die("mount", errno);
	static unsigned char buf[PAYLOAD + 4096];
	ssize_t n = read(devfd, buf, sizeof(buf));
	if (n < 104) die("read INIT", n < 0 ? errno : EPROTO);
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
	if (write(devfd, out, sizeof(out)) != (ssize_t)sizeof(out)) die("write INIT", errno);
	ents = aligned_alloc(64, sizeof(*ents) * nq * DEPTH);
	memset(ents, 0, sizeof(*ents) * nq * DEPTH);
	for (int i = 0; i < nq * DEPTH; i++) {
		ents[i].payload = aligned_alloc(4096, PAYLOAD);
		ents[i].qid = i / DEPTH;
		ents[i].iov[0] = (struct iovec){ ents[i].hdr, FU_URING_HEADER_SIZE };
		ents[i].iov[1] = (struct iovec){ ents[i].payload, PAYLOAD };
	}
	if (strcmp(mode, "single") == 0) serve_single();
	pthread_t t;
	if (strcmp(mode, "hop") == 0) pthread_create(&t, NULL, handler, NULL);
	int mixed = strcmp(mode, "mixed") == 0;
	if (mixed) pthread_create(&t, NULL, mixed_handler, NULL);
	for (int q = mixed ? 1 : 0; q < nq; q++) pthread_create(&t, NULL, queue_thread, (void *)(uintptr_t)q);
	pause();
	return 0;
}
