/* The FUSE channel: ring slots (FUSE-over-io_uring entries), /dev/fuse slots, and their integration
 * into the libuv loop (uv_poll on the ring fd and on /dev/fuse, uv_prepare for batched submission).
 *
 * Slots [0, nring) are ring slots (one io_uring entry each), [nring, nslots) are /dev/fuse slots.
 * Events for JavaScript are (slot, res) pairs written into the Int32Array given to channelStart.
 *
 * Ownership of a slot's buffers:
 *   ring slot  ST_KERNEL  REGISTER or COMMIT_AND_FETCH is with the kernel (it may write the buffers)
 *              ST_USER    a CQE was delivered: JavaScript owns the buffers until commit
 *              ST_DEAD    torn down (-ENOTCONN, -ECONNABORTED, failed REGISTER): never resubmitted
 *   dev slot   ST_KERNEL  free: the next readv(/dev/fuse) may fill it
 *              ST_USER    holds a request read from /dev/fuse until commit/release
 *
 * All of this runs on the thread of the env's event loop, except the queue threads' side of
 * queue_threads.c, which shares only its rings and flags (atomics) with it; there is no
 * process-wide mutable state.
 */
#ifndef FUSE_URING_CHANNEL_H
#define FUSE_URING_CHANNEL_H

#include "common.h"
#include "ring.h"

#include <sched.h>
#include <stdint.h>
#include <sys/uio.h>
#include <time.h>
#include <uv.h>

#define NO_SLOT UINT32_MAX

enum { ST_KERNEL = 0, ST_USER = 1, ST_DEAD = 2 };
enum { KIND_RING = 1, KIND_DEV = 2 };

struct slot {
	unsigned char *header;   /* FU_HEADER_STRIDE bytes available */
	unsigned char *payload;
	size_t payload_len;
	uint32_t next_free;      /* dev slots: free list link */
	uint16_t qid;            /* ring slots */
	uint8_t kind, state;
	uint8_t last_cmd;        /* ring slots: FUSE_IO_URING_CMD_* last queued */
	uint8_t retries;         /* ring slots: REGISTER resubmissions after -EAGAIN */
	uint8_t on_qt;           /* ring slots: last committed (or registered) through its queue thread's ring */
};

/* switching between the two serving models (serve_switch.c) */
struct channel_switch {
	int enabled;             /* serving "auto": both the loop's ring and the queue threads exist */
	int last_qid;
	uint64_t turns;          /* per request: 1 if it came from another queue than the one before */
	unsigned seen;           /* requests since the last switch */
	uint64_t since, resume_at, backoff_ns;
	uint32_t slow;           /* per reap of the threads' posts: picked up later than SLOW_HANDOFF_NS */
};

/* following a lone caller (follow.c) */
struct channel_follow {
	int enabled;             /* option followCaller, loop-thread model, and SCHED_IDLE can be left again */
	int cpu;                 /* the CPU followed, -1 = none */
	int cand, run;           /* the candidate CPU and its run of shallow requests, since cand_since */
	uint32_t bad, slow;      /* per request: stray or deep; per flush: slower than SLOW_FLUSH_NS */
	int stray_cpu, stray_run; /* requests in a row from one other CPU while following */
	uint64_t cand_since, since, resume_at, backoff_ns, mix_backoff_ns;
	int tid;                 /* the loop's thread */
	cpu_set_t orig;          /* its affinity and priority before */
	struct sched_param orig_param;
};

struct channel {
	uint32_t magic;
	napi_env env;
	int fd;                  /* /dev/fuse (owned by JavaScript, never closed here) */

	int started, closed, finalized, js_released;
	int dispatch_depth;      /* > 0 while a uv callback is dispatching events to JavaScript */
	int handles_open;        /* uv handles initialized whose close callback has not run yet */
	napi_async_cleanup_hook_handle cleanup_hook;

	struct fu_ring ring;
	int has_ring;            /* ring set up and not yet destroyed */
	struct iovec (*ring_iov)[2]; /* REGISTER iovecs per ring slot; never moves (kernel may read late) */
	unsigned nring;

	struct slot *slots;
	unsigned nslots, slots_cap;
	unsigned ring_held;      /* ring slots in ST_USER: requests JavaScript has not answered yet */
	unsigned ndev;
	uint32_t dev_free;       /* head of the free dev slot list */

	napi_ref *refs;          /* every buffer handed to us, kept alive until close */
	unsigned nrefs, refs_cap;

	int32_t *pending;        /* events not yet handed to JavaScript, (slot, res) pairs */
	unsigned npending, pending_cap;

	napi_ref events_ref, cb_ref, self_ref;
	napi_async_context async_ctx;
	int32_t *ev;             /* events array during a dispatch, else NULL */
	unsigned ev_cap, ev_count;

	uv_loop_t *loop;
	uv_poll_t ring_poll, dev_poll;
	uv_prepare_t prepare;
	int ring_poll_init, dev_poll_init, prepare_init;
	int dev_poll_active, prepare_active;
	int dev_dead;            /* /dev/fuse reported a terminal error: never polled again */

	/* Polling the CQ before sleeping (see on_ring_poll): 0 = off. */
	struct {
		uint64_t max_ns, cur_ns;  /* configured window, and the current (adaptive) one */
		uint64_t idle_since;      /* when the last batch was answered (CLOCK_MONOTONIC ns) */
		unsigned local;           /* requests to come before spinning again: a caller shares our CPU */
	} spin;

	/* queue threads (queue_threads.c): the ring slots are served by one native thread per queue */
	struct qthread *qt;
	unsigned nqt;            /* > 0 once qt_setup succeeded (queue_threads_on) */
	int threaded;            /* answers go to the queue threads (always, unless serving is "auto") */
	uv_poll_t qt_poll;       /* serving "auto": qt_efd, next to ring_poll on the loop's ring */
	int qt_poll_init;
	int qt_efd;              /* the threads wake the loop through it */
	int qt_js_sleeping;      /* the loop's thread is not watching the post rings (atomic) */
	int qt_js_cpu;           /* the CPU the loop's thread last ran on (atomic) */
	uint64_t qt_spin_ns;     /* how long a thread watches for answers (atomic) */
	unsigned qt_local_run;   /* requests in a row from the loop thread's own CPU */

	struct channel_follow fl;
	struct channel_switch sw;

	struct {
		double enters, sqes, cqes, dev_reads, dev_writes, callbacks;
		double spins, spin_hits, spin_ns, wakeups, local_reqs, slices, step_asides;
		double follows, unfollows, follow_starved, to_threads, to_loop, switch_starved;
	} st;
	unsigned long enters_ul; /* fu_ring_* counts syscalls here */
};

/* ---- small helpers ------------------------------------------------------ */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* CLOCK_MONOTONIC in ns (vDSO): the watches' and the follower's clock */
static inline uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline int queue_threads_on(const struct channel *ch)
{
	return ch->nqt != 0;
}

static inline napi_value js_undefined(napi_env env)
{
	napi_value u = NULL;
	napi_get_undefined(env, &u);
	return u;
}

static inline napi_value js_int(napi_env env, int64_t v)
{
	napi_value r = NULL;
	if (napi_create_int64(env, v, &r) != napi_ok) fu_napi_failed(env, napi_generic_failure, "napi_create_int64");
	return r;
}

/* Every ring slot state change goes through here, so that ring_held stays exact. */
static inline void set_ring_state(struct channel *ch, struct slot *s, uint8_t state)
{
	if (s->state == ST_USER) ch->ring_held--;
	if (state == ST_USER) ch->ring_held++;
	s->state = state;
}

/* Where a ring slot's answer goes: its queue thread, unless the loop's thread serves that queue itself
 * (serving "auto" pins it to a CPU while the threads serve, serve_switch.c; otherwise fl.cpu is -1). */
static inline int answer_by_qt(const struct channel *ch, const struct slot *s)
{
	return ch->threaded && (int)s->qid != ch->fl.cpu;
}

static inline void sync_enters(struct channel *ch)
{
	ch->st.enters += (double)ch->enters_ul;
	ch->enters_ul = 0;
}

/* Shared by the channel files. Hidden: kept out of the addon's dynamic symbol table, so nothing loaded
 * before it (node exports its own symbols) can interpose on these unprefixed names. */
#pragma GCC visibility push(hidden)

/* channel.c */
struct channel *get_channel(napi_env env, napi_value v);
int keep_ref(struct channel *ch, napi_value v);
int grow_slots(struct channel *ch, unsigned more);
int init_slot(napi_env env, struct channel *ch, napi_value payloads, uint32_t i, unsigned idx,
	      void *headers, unsigned header_idx, const char *fn);
int append_pending(struct channel *ch, int32_t slot, int32_t res);
int deliver(struct channel *ch);
int push_event(struct channel *ch, int32_t slot, int32_t res);
void begin_dispatch(struct channel *ch);
void end_dispatch(struct channel *ch);
void kick_prepare(struct channel *ch);

/* uring_slots.c */
int flush_sq(struct channel *ch);
int handle_ring_cqe(struct channel *ch, const struct fu_cqe *c);
void on_ring_poll(uv_poll_t *h, int status, int events);
int commit_ring(struct channel *ch, unsigned idx);
void prep_uring_cmd(struct io_uring_sqe *sqe, unsigned idx, unsigned qid, unsigned cmd_op, uint64_t commit_id);
int ring_setup_failed(napi_env env, unsigned idx, unsigned qid, int err);

/* queue_threads.c */
struct qt_totals { double enters, sqes, spins, spin_hits, sleeps, js_wakes, wakes, widenings; };
int qt_setup(napi_env env, struct channel *ch, unsigned queues, unsigned depth, unsigned flags, int register_entries);
void qt_stop(struct channel *ch);
void qt_free(struct channel *ch);
int qt_ready(struct channel *ch);
int qt_reap(struct channel *ch);
int qt_commit(struct channel *ch, unsigned idx);
void qt_drop(struct channel *ch, unsigned idx);
void qt_flush(struct channel *ch);
void qt_js_sleep(struct channel *ch);
void qt_js_wake(struct channel *ch);
void qt_stats(struct channel *ch, struct qt_totals *t);
int qt_ring_fd(struct channel *ch);
void qt_note_caller(struct channel *ch, int cpu, int local);

/* follow.c */
void follow_init(struct channel *ch, int on, uv_loop_t *loop);
void follow_note(struct channel *ch, unsigned qid);
void follow_flushed(struct channel *ch, uint64_t took_ns);
void follow_stop(struct channel *ch);
void follow_pin(struct channel *ch, int cpu);

/* serve_switch.c */
void switch_init(struct channel *ch, int on);
void switch_note(struct channel *ch, unsigned qid);
void switch_handoff(struct channel *ch, uint64_t late_ns);

/* dev_slots.c */
void start_dev_poll(struct channel *ch);
void free_dev_slot(struct channel *ch, unsigned idx);
int commit_dev(struct channel *ch, unsigned idx);

#pragma GCC visibility pop

#endif
