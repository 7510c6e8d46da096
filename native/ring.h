/* A minimal raw io_uring (io_uring_setup/enter/register syscalls, no liburing). No FUSE knowledge.
 * Single-threaded use only: one thread queues SQEs, submits and reaps. */
#ifndef FUSE_URING_RING_H
#define FUSE_URING_RING_H

#include <stddef.h>
#include <stdint.h>
#include <linux/io_uring.h>

struct fu_ring {
	int fd;
	unsigned flags;         /* IORING_SETUP_* given to io_uring_setup */
	unsigned features;      /* IORING_FEAT_* reported by the kernel */
	unsigned sq_entries, cq_entries;
	unsigned sq_mask, cq_mask;
	unsigned *sq_khead, *sq_ktail, *sq_kflags, *sq_array;
	unsigned *cq_khead, *cq_ktail;
	unsigned char *sqes;    /* sq_entries × sqe_size */
	unsigned char *cqes;    /* cq_entries × cqe_size */
	size_t sqe_size, cqe_size;
	unsigned sqe_tail;      /* our tail: SQEs written up to here, published to *sq_ktail by fu_ring_submit */
	void *sq_map, *cq_map, *sqe_map;
	size_t sq_map_len, cq_map_len, sqe_map_len;
};

/* A completion copied out of the CQ. */
struct fu_cqe {
	uint64_t user_data;
	int32_t res;
	uint32_t flags;
};

/* Sets the ring up (entries rounded up by the kernel to a power of two). Returns 0 or -errno. */
int fu_ring_init(struct fu_ring *r, unsigned entries, unsigned flags);
/* munmap + close. Safe on a zeroed or already-destroyed ring (fd < 0). */
void fu_ring_destroy(struct fu_ring *r);
/* io_uring_register(IORING_REGISTER_FILES). Returns 0 or -errno. */
int fu_ring_register_files(struct fu_ring *r, const int *fds, unsigned n);
/* A zeroed SQE slot (sqe_size bytes) in the SQ, or NULL if the SQ is full. Not visible to the kernel
 * until fu_ring_submit. */
struct io_uring_sqe *fu_ring_get_sqe(struct fu_ring *r);
/* SQEs written but not yet consumed by the kernel. */
unsigned fu_ring_sq_pending(const struct fu_ring *r);
/* Publishes the SQ tail and hands pending SQEs to the kernel (one io_uring_enter; with SQPOLL only a
 * wake-up when needed). *enters is incremented per syscall made. Returns the number of SQEs submitted
 * (with SQPOLL: newly published) or -errno (EINTR is retried). */
int fu_ring_submit(struct fu_ring *r, unsigned long *enters);
/* Submits what is pending and waits for min_complete CQEs in one io_uring_enter (not for SQPOLL
 * rings). Returns >= 0 or -errno. */
int fu_ring_submit_and_wait(struct fu_ring *r, unsigned min_complete);
/* Raw io_uring_enter(to_submit, min_complete, flags); EINTR retried. Returns >= 0 or -errno. */
int fu_ring_enter(struct fu_ring *r, unsigned to_submit, unsigned min_complete, unsigned flags);
/* Copies the oldest CQE out and advances the CQ head past it. Returns 1, or 0 if the CQ is empty. */
int fu_ring_pop_cqe(struct fu_ring *r, struct fu_cqe *out);
/* COOP_TASKRUN rings: whether io_uring_enter(GETEVENTS) is needed to run pending task_work (always
 * true without IORING_SETUP_TASKRUN_FLAG, which is what tells). */
int fu_ring_taskrun_needed(const struct fu_ring *r);
/* Number of CQEs waiting in the CQ. */
unsigned fu_ring_cq_ready(const struct fu_ring *r);

#endif
