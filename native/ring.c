/* Raw io_uring: setup, mmap, SQE allocation, submission, CQ reaping. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "ring.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static int sys_io_uring_setup(unsigned entries, struct io_uring_params *p)
{
	return (int)syscall(__NR_io_uring_setup, entries, p);
}

static int sys_io_uring_enter(int fd, unsigned to_submit, unsigned min_complete, unsigned flags)
{
	return (int)syscall(__NR_io_uring_enter, fd, to_submit, min_complete, flags, NULL, (size_t)0);
}

static int sys_io_uring_register(int fd, unsigned opcode, const void *arg, unsigned nr_args)
{
	return (int)syscall(__NR_io_uring_register, fd, opcode, arg, nr_args);
}

int fu_ring_init(struct fu_ring *r, unsigned entries, unsigned flags)
{
	struct io_uring_params p;
	int err;

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	memset(&p, 0, sizeof(p));
	p.flags = flags;
	if (flags & IORING_SETUP_SQPOLL) p.sq_thread_idle = 1000;
	int fd = sys_io_uring_setup(entries, &p); /* the kernel makes it O_CLOEXEC */
	if (fd < 0) return -errno;
	r->fd = fd;
	r->flags = flags;
	r->features = p.features;
	r->sq_entries = p.sq_entries;
	r->cq_entries = p.cq_entries;
	r->sqe_size = (flags & IORING_SETUP_SQE128) ? 2 * sizeof(struct io_uring_sqe) : sizeof(struct io_uring_sqe);
	r->cqe_size = (flags & IORING_SETUP_CQE32) ? 2 * sizeof(struct io_uring_cqe) : sizeof(struct io_uring_cqe);

	r->sq_map_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	r->cq_map_len = p.cq_off.cqes + p.cq_entries * r->cqe_size;
	if (p.features & IORING_FEAT_SINGLE_MMAP) {
		if (r->cq_map_len > r->sq_map_len) r->sq_map_len = r->cq_map_len;
		r->cq_map_len = r->sq_map_len;
	}
	r->sq_map = mmap(NULL, r->sq_map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
	if (r->sq_map == MAP_FAILED) {
		r->sq_map = NULL;
		goto fail;
	}
	if (p.features & IORING_FEAT_SINGLE_MMAP) {
		r->cq_map = r->sq_map;
	} else {
		r->cq_map = mmap(NULL, r->cq_map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
		if (r->cq_map == MAP_FAILED) {
			r->cq_map = NULL;
			goto fail;
		}
	}
	r->sqe_map_len = (size_t)p.sq_entries * r->sqe_size;
	r->sqe_map = mmap(NULL, r->sqe_map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
	if (r->sqe_map == MAP_FAILED) {
		r->sqe_map = NULL;
		goto fail;
	}

	unsigned char *sq = r->sq_map, *cq = r->cq_map;
	r->sq_khead = (unsigned *)(sq + p.sq_off.head);
	r->sq_ktail = (unsigned *)(sq + p.sq_off.tail);
	r->sq_kflags = (unsigned *)(sq + p.sq_off.flags);
	r->sq_array = (unsigned *)(sq + p.sq_off.array);
	r->sq_mask = *(unsigned *)(sq + p.sq_off.ring_mask);
	r->cq_khead = (unsigned *)(cq + p.cq_off.head);
	r->cq_ktail = (unsigned *)(cq + p.cq_off.tail);
	r->cq_mask = *(unsigned *)(cq + p.cq_off.ring_mask);
	r->cqes = cq + p.cq_off.cqes;
	r->sqes = r->sqe_map;
	/* SQ index array: identity mapping, set once */
	for (unsigned i = 0; i < r->sq_entries; i++) r->sq_array[i] = i;
	r->sqe_tail = __atomic_load_n(r->sq_ktail, __ATOMIC_RELAXED);
	return 0;

fail:
	err = -errno;
	fu_ring_destroy(r);
	return err;
}

void fu_ring_destroy(struct fu_ring *r)
{
	if (r->sqe_map) munmap(r->sqe_map, r->sqe_map_len);
	if (r->cq_map && r->cq_map != r->sq_map) munmap(r->cq_map, r->cq_map_len);
	if (r->sq_map) munmap(r->sq_map, r->sq_map_len);
	if (r->fd >= 0) close(r->fd);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

int fu_ring_register_files(struct fu_ring *r, const int *fds, unsigned n)
{
	int ret;
	do ret = sys_io_uring_register(r->fd, IORING_REGISTER_FILES, fds, n);
	while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : 0;
}

struct io_uring_sqe *fu_ring_get_sqe(struct fu_ring *r)
{
	unsigned head = __atomic_load_n(r->sq_khead, __ATOMIC_ACQUIRE);
	if (r->sqe_tail - head >= r->sq_entries) return NULL;
	struct io_uring_sqe *sqe = (struct io_uring_sqe *)(r->sqes + (size_t)(r->sqe_tail & r->sq_mask) * r->sqe_size);
	memset(sqe, 0, r->sqe_size);
	r->sqe_tail++;
	return sqe;
}

unsigned fu_ring_sq_pending(const struct fu_ring *r)
{
	return r->sqe_tail - __atomic_load_n(r->sq_khead, __ATOMIC_ACQUIRE);
}

int fu_ring_enter(struct fu_ring *r, unsigned to_submit, unsigned min_complete, unsigned flags)
{
	int ret;
	do ret = sys_io_uring_enter(r->fd, to_submit, min_complete, flags);
	while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : ret;
}

/* Makes the SQEs written so far visible to the kernel; returns the tail published before. */
static unsigned publish(struct fu_ring *r)
{
	unsigned published = __atomic_load_n(r->sq_ktail, __ATOMIC_RELAXED); /* only we write it */
	/* make the SQE contents visible before the new tail */
	__atomic_store_n(r->sq_ktail, r->sqe_tail, __ATOMIC_RELEASE);
	return published;
}

int fu_ring_submit_and_wait(struct fu_ring *r, unsigned min_complete)
{
	publish(r);
	return fu_ring_enter(r, fu_ring_sq_pending(r), min_complete, IORING_ENTER_GETEVENTS);
}

int fu_ring_submit(struct fu_ring *r, unsigned long *enters)
{
	unsigned published = publish(r);
	unsigned pending = fu_ring_sq_pending(r);
	if (!pending) return 0;
	if (r->flags & IORING_SETUP_SQPOLL) {
		/* the SQ thread consumes the SQ by itself; it only needs a kick when it went idle.
		 * Full barrier: the tail store must be visible before we read the NEED_WAKEUP flag. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (__atomic_load_n(r->sq_kflags, __ATOMIC_RELAXED) & IORING_SQ_NEED_WAKEUP) {
			(*enters)++;
			int ret = fu_ring_enter(r, 0, 0, IORING_ENTER_SQ_WAKEUP);
			if (ret < 0) return ret;
		}
		return (int)(r->sqe_tail - published); /* newly handed over; the SQ thread consumes them */
	}
	(*enters)++;
	/* COOP_TASKRUN: completions waiting as task_work are posted by the same syscall */
	unsigned flags = (r->flags & IORING_SETUP_COOP_TASKRUN) && fu_ring_taskrun_needed(r) ? IORING_ENTER_GETEVENTS : 0;
	return fu_ring_enter(r, pending, 0, flags);
}

int fu_ring_taskrun_needed(const struct fu_ring *r)
{
	if (!(r->flags & IORING_SETUP_TASKRUN_FLAG)) return 1;
	return (__atomic_load_n(r->sq_kflags, __ATOMIC_ACQUIRE) & IORING_SQ_TASKRUN) != 0;
}

unsigned fu_ring_cq_ready(const struct fu_ring *r)
{
	return __atomic_load_n(r->cq_ktail, __ATOMIC_ACQUIRE) - __atomic_load_n(r->cq_khead, __ATOMIC_RELAXED);
}

int fu_ring_pop_cqe(struct fu_ring *r, struct fu_cqe *out)
{
	unsigned head = __atomic_load_n(r->cq_khead, __ATOMIC_RELAXED);
	if (head == __atomic_load_n(r->cq_ktail, __ATOMIC_ACQUIRE)) return 0;
	const struct io_uring_cqe *c = (const struct io_uring_cqe *)(r->cqes + (size_t)(head & r->cq_mask) * r->cqe_size);
	out->user_data = c->user_data;
	out->res = c->res;
	out->flags = c->flags;
	/* the slot may be reused by the kernel once the new head is visible */
	__atomic_store_n(r->cq_khead, head + 1, __ATOMIC_RELEASE);
	return 1;
}
