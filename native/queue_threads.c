/*
 * Queue threads: one native thread per ring queue, pinned to the queue's CPU and owning that
 * queue's io_uring; JavaScript answers every request, handed over through shared memory.
 *
 * Why: the kernel queues a request on the queue of its caller's CPU and runs the completion as
 * task_work of whichever task submitted the entry. With one ring served from the JavaScript thread,
 * every request wakes that thread on another CPU and every reply wakes the caller across CPUs again.
 * A thread on the caller's CPU that submits the entries is woken locally, and its COMMIT_AND_FETCH
 * wakes the caller locally; only memory crosses CPUs (docs/performance.md, bench/queue-threads.c).
 *
 * Per queue, two single-producer rings of slot numbers, no locks:
 *   post   thread → JavaScript: (slot, res) of each completion (a request, or an entry's end)
 *   ans    JavaScript → thread: slots JavaScript answered, to COMMIT_AND_FETCH
 * Each side watches the other's ring for a bounded time (pollSpinMicros) and otherwise sleeps:
 * the thread in io_uring_enter (woken by a READ of its eventfd that JavaScript writes), JavaScript
 * in the loop's epoll (woken by an eventfd the threads write). A `sleeping` flag per side, set
 * before the last look at the ring, tells the other whether the eventfd write is needed.
 */
#include "channel.h"
#include "fuse_abi.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define WAKE_TAG UINT64_MAX         /* user_data of the eventfd READ */
#define REGISTER_RETRIES 8
/* In an answer: the entry was not posted by this thread (it comes from the loop's ring): commit it,
 * it is not one of the thread's outstanding. */
#define ANS_NEW 0x80000000u
/* The thread posted the entry, the loop's ring commits it: only no longer outstanding. */
#define ANS_DROP 0x40000000u
#define ANS_MASK(q) (2 * (q)->mask + 1)

struct qthread {
	struct channel *ch;
	unsigned qid, first, depth;
	struct fu_ring ring;
	int ring_ok, efd, wake_armed, tid_ok, register_entries;
	uint64_t efd_buf;
	pthread_t tid;
	uint8_t *last_cmd, *retries;  /* per entry; the thread's own */
	cpu_set_t wide_set;           /* the CPUs the thread may use when it leaves its own (q_place) */
	int wide, deep_run, shallow_run;
	unsigned outstanding;         /* posted requests not answered yet (the thread's own) */
	unsigned mask;                /* post capacity - 1; ans holds twice that (a drop and a commit per entry) */
	int32_t *post;                /* (slot, res) pairs */
	uint32_t *ans;
	/* setup handshake */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int reg_done, reg_err, reg_idx;

	/* shared: each index written by one side only */
	uint32_t post_head __attribute__((aligned(64))); /* thread */
	uint32_t ans_tail;                                /* thread */
	uint64_t post_ns;                                 /* thread: when it last posted */
	int sleeping;                                     /* thread sets, JavaScript clears */
	int stop;                                         /* JavaScript */
	uint32_t post_tail __attribute__((aligned(64)));  /* JavaScript */
	uint32_t ans_head;                                /* JavaScript */
	int ans_unwoken;                                  /* JavaScript: answers since the last wake check */
	struct { uint64_t enters, sqes, spins, spin_hits, sleeps, js_wakes, wakes, widenings; } st __attribute__((aligned(64)));
};

#define ST_ADD(q, f, n) __atomic_fetch_add(&(q)->st.f, (n), __ATOMIC_RELAXED)

/* ---- the queue thread ---------------------------------------------------- */

static void q_enter(struct qthread *q, unsigned min_complete)
{
	ST_ADD(q, enters, 1);
	int r = fu_ring_submit_and_wait(&q->ring, min_complete);
	if (r > 0) ST_ADD(q, sqes, (uint64_t)r);
}

static void q_submit(struct qthread *q)
{
	unsigned long enters = 0;
	int r = fu_ring_submit(&q->ring, &enters);
	ST_ADD(q, enters, enters);
	if (r > 0) ST_ADD(q, sqes, (uint64_t)r);
}

static struct io_uring_sqe *q_sqe(struct qthread *q)
{
	struct io_uring_sqe *sqe = fu_ring_get_sqe(&q->ring);
	if (!sqe) {
		q_submit(q);
		sqe = fu_ring_get_sqe(&q->ring);
	}
	return sqe;
}

static void q_register(struct qthread *q, unsigned i)
{
	struct io_uring_sqe *sqe = q_sqe(q);
	if (!sqe) return;
	unsigned idx = q->first + i;
	prep_uring_cmd(sqe, idx, q->qid, FUSE_IO_URING_CMD_REGISTER, 0);
	sqe->addr = (uint64_t)(uintptr_t)q->ch->ring_iov[idx];
	sqe->len = 2;
	q->last_cmd[i] = FUSE_IO_URING_CMD_REGISTER;
}

static void q_commit(struct qthread *q, unsigned idx)
{
	struct io_uring_sqe *sqe = q_sqe(q);
	if (!sqe) return;
	uint64_t commit_id;
	memcpy(&commit_id, q->ch->slots[idx].header + FU_URING_COMMIT_ID_OFFSET, sizeof(commit_id));
	prep_uring_cmd(sqe, idx, q->qid, FUSE_IO_URING_CMD_COMMIT_AND_FETCH, commit_id);
	q->last_cmd[idx - q->first] = FUSE_IO_URING_CMD_COMMIT_AND_FETCH;
}

static void q_arm_wake(struct qthread *q)
{
	struct io_uring_sqe *sqe = q_sqe(q);
	if (!sqe) return;
	sqe->opcode = IORING_OP_READ;
	sqe->fd = q->efd;
	sqe->addr = (uint64_t)(uintptr_t)&q->efd_buf;
	sqe->len = sizeof(q->efd_buf);
	sqe->user_data = WAKE_TAG;
	q->wake_armed = 1;
}

static void q_post(struct qthread *q, unsigned idx, int32_t res)
{
	uint32_t h = q->post_head;
	q->post[2 * (h & q->mask)] = (int32_t)idx;
	q->post[2 * (h & q->mask) + 1] = res;
	__atomic_store_n(&q->post_head, h + 1, __ATOMIC_RELEASE);
}

/* Wakes JavaScript if it is not watching the post rings. */
static void q_wake_js(struct qthread *q)
{
	struct channel *ch = q->ch;
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* the post before the look at the flag */
	if (__atomic_load_n(&ch->qt_js_sleeping, __ATOMIC_RELAXED) && __atomic_exchange_n(&ch->qt_js_sleeping, 0, __ATOMIC_SEQ_CST)) {
		uint64_t one = 1;
		ST_ADD(q, js_wakes, 1);
		if (write(ch->qt_efd, &one, sizeof(one)) < 0) { /* EAGAIN: the counter is full, a wake-up is due anyway */ }
	}
}

/* Returns 1 if something was posted for JavaScript. `registering`: failures are the setup's. */
static int q_handle(struct qthread *q, const struct fu_cqe *c, int registering)
{
	if (c->user_data == WAKE_TAG) {
		q->wake_armed = 0;
		return 0;
	}
	if (c->user_data < q->first || c->user_data >= (uint64_t)q->first + q->depth) return 0;
	unsigned idx = (unsigned)c->user_data, i = idx - q->first;
	if (c->res >= 0) {
		q->outstanding++;
		q_post(q, idx, 0);
		return 1;
	}
	if (c->res == -EAGAIN && q->last_cmd[i] == FUSE_IO_URING_CMD_REGISTER && q->retries[i] < REGISTER_RETRIES) {
		/* the connection was not initialized yet (REGISTER before the INIT reply): try again */
		struct timespec ts = { 0, 1000000 };
		q->retries[i]++;
		nanosleep(&ts, NULL);
		q_register(q, i);
		return 0;
	}
	if (registering && q->last_cmd[i] == FUSE_IO_URING_CMD_REGISTER) {
		if (!q->reg_err) {
			q->reg_err = -c->res;
			q->reg_idx = (int)idx;
		}
		return 0;
	}
	q_post(q, idx, c->res);
	return 1;
}

static int q_reap(struct qthread *q, int registering)
{
	struct fu_cqe c;
	int posted = 0, n = 0;
	if ((q->ring.flags & IORING_SETUP_COOP_TASKRUN) && fu_ring_taskrun_needed(&q->ring)) {
		ST_ADD(q, enters, 1);
		fu_ring_enter(&q->ring, 0, 0, IORING_ENTER_GETEVENTS);
	}
	while (fu_ring_pop_cqe(&q->ring, &c)) {
		/* stamped before the posts it dates, which publish it */
		if (!n++) __atomic_store_n(&q->post_ns, now_ns(), __ATOMIC_RELAXED);
		posted |= q_handle(q, &c, registering);
	}
	if (posted) q_wake_js(q);
	return n;
}

/*
 * Pinned to the queue's CPU, a thread wakes and is woken locally: what a caller that waits for
 * each request needs. A caller that keeps many requests in flight (libaio at iodepth 16) does not
 * wait, and there the thread's work — the kernel's copies and completions run on it — only takes
 * the CPU that caller needs: 213-236k IOPS pinned against 293-323k when a thread that keeps
 * finding DEEP or more of its requests in flight may run on any of its CPUs. It goes back to its
 * own when they come one at a time again. (Its watch then yields if it shares the loop thread's
 * CPU wherever it runs; comparing with its qid there cost the gain.)
 */
#define DEEP 4
#define WIDEN_AFTER 16
#define NARROW_AFTER 256

static void q_place(struct qthread *q)
{
	if (q->outstanding >= DEEP) {
		q->shallow_run = 0;
		if (q->wide == 0 && ++q->deep_run >= WIDEN_AFTER && !pthread_setaffinity_np(pthread_self(), sizeof(q->wide_set), &q->wide_set)) {
			q->wide = 1;
			ST_ADD(q, widenings, 1);
		}
	} else {
		q->deep_run = 0;
		if (q->wide == 1 && ++q->shallow_run >= NARROW_AFTER) {
			cpu_set_t own;
			CPU_ZERO(&own);
			CPU_SET(q->qid, &own);
			if (!pthread_setaffinity_np(pthread_self(), sizeof(own), &own)) q->wide = 0;
		}
	}
}

static int ring_ready(const struct fu_ring *r)
{
	return fu_ring_cq_ready(r) || (__atomic_load_n(r->sq_kflags, __ATOMIC_ACQUIRE) & IORING_SQ_TASKRUN);
}

static int ans_ready(struct qthread *q)
{
	return __atomic_load_n(&q->ans_head, __ATOMIC_ACQUIRE) != q->ans_tail;
}

/* Tells the setup, which waits for it, that the thread is ready (reg_err says how it went). */
static void q_ready(struct qthread *q)
{
	pthread_mutex_lock(&q->mu);
	q->reg_done = 1;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

/* REGISTERs every entry. */
static void q_register_all(struct qthread *q)
{
	for (unsigned i = 0; i < q->depth; i++) q_register(q, i);
	for (int round = 0; round <= REGISTER_RETRIES + 1 && fu_ring_sq_pending(&q->ring); round++) {
		q_submit(q);
		q_reap(q, 1);
	}
	q_reap(q, 1);
	if (!q->reg_err && fu_ring_sq_pending(&q->ring)) {
		q->reg_err = EBUSY;
		q->reg_idx = (int)q->first;
	}
}

static void *q_main(void *arg)
{
	struct qthread *q = arg;
	struct channel *ch = q->ch;
	char name[16];
	cpu_set_t set;

	snprintf(name, sizeof(name), "fuse-uring q%u", q->qid);
	pthread_setname_np(pthread_self(), name);
	/* the CPUs inherited from the loop's thread: where a thread that leaves its own may go */
	if (pthread_getaffinity_np(pthread_self(), sizeof(q->wide_set), &q->wide_set)) CPU_ZERO(&q->wide_set);
	CPU_ZERO(&set);
	CPU_SET(q->qid, &set);
	if (!CPU_ISSET(q->qid, &q->wide_set) || pthread_setaffinity_np(pthread_self(), sizeof(set), &set))
		q->wide = -1; /* its CPU is outside our cpuset: run where we may, for good */

	/* serving "auto": the entries start on the loop's ring and come here as they are answered */
	if (q->register_entries) q_register_all(q);
	q_ready(q);
	if (q->reg_err) return NULL;
	while (!__atomic_load_n(&q->stop, __ATOMIC_ACQUIRE)) {
		int did = 0;
		uint32_t ah = __atomic_load_n(&q->ans_head, __ATOMIC_ACQUIRE);
		while (q->ans_tail != ah) {
			uint32_t t = q->ans_tail, a = q->ans[t & ANS_MASK(q)];
			if (!(a & ANS_DROP)) q_commit(q, a & ~ANS_NEW);
			if (!(a & ANS_NEW)) q->outstanding--;
			__atomic_store_n(&q->ans_tail, t + 1, __ATOMIC_RELEASE);
			did = 1;
		}
		if (ring_ready(&q->ring) && q_reap(q, 0)) {
			did = 1;
			q_place(q);
		}
		if (!q->wake_armed) q_arm_wake(q);
		if (did) {
			/* more answers to wait for: the kernel gets these commits now, not after the wait */
			if (q->outstanding) q_submit(q);
			continue;
		}
		/*
		 * JavaScript holds requests of ours: watch for its answers, yielding the CPU if JavaScript
		 * runs on ours (it needs the CPU to answer). Never watch for new requests: a caller on our
		 * CPU sends them while we sleep, and its wake-up of us is local and cheap.
		 */
		uint64_t window = __atomic_load_n(&ch->qt_spin_ns, __ATOMIC_RELAXED);
		if (q->outstanding && window) {
			uint64_t end = now_ns() + window;
			int hit = 0;
			ST_ADD(q, spins, 1);
			while (!(hit = ans_ready(q) || ring_ready(&q->ring)) && !__atomic_load_n(&q->stop, __ATOMIC_RELAXED) &&
			       now_ns() < end) {
				if (__atomic_load_n(&ch->qt_js_cpu, __ATOMIC_RELAXED) == (q->wide ? sched_getcpu() : (int)q->qid)) sched_yield();
				else cpu_relax();
			}
			if (hit) {
				ST_ADD(q, spin_hits, 1);
				continue;
			}
		}
		__atomic_store_n(&q->sleeping, 1, __ATOMIC_SEQ_CST);
		if (ans_ready(q) || __atomic_load_n(&q->stop, __ATOMIC_SEQ_CST)) {
			__atomic_store_n(&q->sleeping, 0, __ATOMIC_RELAXED);
			continue;
		}
		ST_ADD(q, sleeps, 1);
		q_enter(q, 1); /* the commits queued above go in with the wait: one syscall per request */
		__atomic_store_n(&q->sleeping, 0, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* ---- the JavaScript side ------------------------------------------------- */

int qt_ready(struct channel *ch)
{
	for (unsigned i = 0; i < ch->nqt; i++) {
		struct qthread *q = &ch->qt[i];
		if (__atomic_load_n(&q->post_head, __ATOMIC_ACQUIRE) != q->post_tail) return 1;
	}
	return 0;
}

/*
 * A caller on the loop thread's CPU cannot run while we do, and the scheduler keeps us there: the
 * thread that wakes us runs on the caller's CPU, and wake-ups stay within a cache domain (a vCPU
 * often is one). Measured: a lone fio job and the loop's thread ended up sharing a CPU for good,
 * 33k IOPS against 80k with the two apart. After a run of requests that all came from our own CPU,
 * the loop's thread steps aside: its affinity, minus this CPU for an instant, moves it; then the
 * affinity is what it was. Requests from two CPUs (two callers keep both busy) never trigger it.
 */
#define STEP_ASIDE_AFTER 32

static void step_aside(struct channel *ch, int cpu)
{
	cpu_set_t orig, other;
	ch->qt_local_run = 0;
	if (sched_getaffinity(0, sizeof(orig), &orig)) return;
	memcpy(&other, &orig, sizeof(other));
	CPU_CLR(cpu, &other);
	if (!CPU_COUNT(&other) || sched_setaffinity(0, sizeof(other), &other)) return;
	(void)sched_setaffinity(0, sizeof(orig), &orig);
	ch->st.step_asides++;
	/* watch for the next request from here: a thread that sleeps is woken back onto the caller's CPU */
	ch->spin.local = 0;
	ch->spin.cur_ns = ch->spin.max_ns;
	__atomic_store_n(&ch->qt_js_cpu, sched_getcpu(), __ATOMIC_RELAXED);
}

/* From note_caller_cpu (uring_slots.c), which has looked at the CPU already: one sched_getcpu per request. */
void qt_note_caller(struct channel *ch, int cpu, int local)
{
	if (!local) {
		ch->qt_local_run = 0;
		return;
	}
	if (++ch->qt_local_run >= STEP_ASIDE_AFTER && ch->nqt > 1) step_aside(ch, cpu);
}

/* Hands every posted completion to JavaScript. Returns the count, or -1 if the channel got closed. */
int qt_reap(struct channel *ch)
{
	int n = 0;
	for (unsigned i = 0; i < ch->nqt && !ch->closed; i++) {
		struct qthread *q = &ch->qt[i];
		uint32_t h = __atomic_load_n(&q->post_head, __ATOMIC_ACQUIRE);
		if (ch->sw.enabled && ch->threaded && q->post_tail != h)
			switch_handoff(ch, now_ns() - __atomic_load_n(&q->post_ns, __ATOMIC_RELAXED));
		while (q->post_tail != h) {
			uint32_t t = q->post_tail++ & q->mask;
			struct fu_cqe c = { .user_data = (uint64_t)(uint32_t)q->post[2 * t], .res = q->post[2 * t + 1] };
			ch->st.cqes++;
			n++;
			if (handle_ring_cqe(ch, &c)) return -1;
		}
	}
	return ch->closed ? -1 : n;
}

static void ans_push(struct qthread *q, uint32_t a)
{
	uint32_t h = q->ans_head;
	q->ans[h & ANS_MASK(q)] = a;
	__atomic_store_n(&q->ans_head, h + 1, __ATOMIC_RELEASE);
}

int qt_commit(struct channel *ch, unsigned idx)
{
	struct slot *s = &ch->slots[idx];
	if (s->state == ST_DEAD) return 0;
	if (s->state != ST_USER) return -EINVAL;
	set_ring_state(ch, s, ST_KERNEL);
	struct qthread *q = &ch->qt[s->qid];
	ans_push(q, idx | (s->on_qt ? 0 : ANS_NEW));
	s->on_qt = 1;
	q->ans_unwoken = 1;
	if (ch->dispatch_depth == 0) kick_prepare(ch); /* else the dispatch wakes the threads at its end */
	return 0;
}

/* Serving "auto" on the loop's ring: an entry its thread posted goes there (commit_ring follows). The
 * thread learns it at its next look at the answers; no wake-up: nothing waits for it. */
void qt_drop(struct channel *ch, unsigned idx)
{
	struct slot *s = &ch->slots[idx];
	ans_push(&ch->qt[s->qid], idx | ANS_DROP);
	s->on_qt = 0;
}

/* Wakes the threads that sleep with answers to commit: one eventfd write per thread and batch. */
void qt_flush(struct channel *ch)
{
	for (unsigned i = 0; i < ch->nqt; i++) {
		struct qthread *q = &ch->qt[i];
		if (!q->ans_unwoken) continue;
		q->ans_unwoken = 0;
		__atomic_thread_fence(__ATOMIC_SEQ_CST); /* the answers before the look at the flag */
		/* a thread that took every answer already sleeps for the next request, not for us */
		if (__atomic_load_n(&q->sleeping, __ATOMIC_RELAXED) && __atomic_load_n(&q->ans_tail, __ATOMIC_RELAXED) != q->ans_head &&
		    __atomic_exchange_n(&q->sleeping, 0, __ATOMIC_SEQ_CST)) {
			uint64_t one = 1;
			ST_ADD(q, wakes, 1);
			if (write(q->efd, &one, sizeof(one)) < 0) { /* EAGAIN: a wake-up is pending anyway */ }
		}
	}
}

/* JavaScript stops watching: from now on the threads wake it. Something posted meanwhile wakes it now. */
void qt_js_sleep(struct channel *ch)
{
	__atomic_store_n(&ch->qt_js_sleeping, 1, __ATOMIC_SEQ_CST);
	if (qt_ready(ch) && __atomic_exchange_n(&ch->qt_js_sleeping, 0, __ATOMIC_SEQ_CST)) {
		uint64_t one = 1;
		if (write(ch->qt_efd, &one, sizeof(one)) < 0) { /* a wake-up is pending anyway */ }
	}
}

void qt_js_wake(struct channel *ch)
{
	uint64_t v;
	__atomic_store_n(&ch->qt_js_sleeping, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&ch->qt_js_cpu, sched_getcpu(), __ATOMIC_RELAXED);
	if (read(ch->qt_efd, &v, sizeof(v)) < 0) { /* EAGAIN: woken by a spin, not the eventfd */ }
}

void qt_stats(struct channel *ch, struct qt_totals *t)
{
	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < ch->nqt; i++) {
		struct qthread *q = &ch->qt[i];
#define QT_SUM(f) (double)__atomic_load_n(&q->st.f, __ATOMIC_RELAXED)
		t->enters += QT_SUM(enters);
		t->sqes += QT_SUM(sqes);
		t->spins += QT_SUM(spins);
		t->spin_hits += QT_SUM(spin_hits);
		t->sleeps += QT_SUM(sleeps);
		t->js_wakes += QT_SUM(js_wakes);
		t->wakes += QT_SUM(wakes);
		t->widenings += QT_SUM(widenings);
#undef QT_SUM
	}
}

int qt_ring_fd(struct channel *ch)
{
	return ch->nqt && ch->qt[0].ring_ok ? ch->qt[0].ring.fd : -1;
}

/* ---- lifetime ------------------------------------------------------------ */

/* Stops and joins the threads, then frees their rings (the kernel cancels the entries). */
void qt_stop(struct channel *ch)
{
	for (unsigned i = 0; i < ch->nqt; i++) {
		struct qthread *q = &ch->qt[i];
		if (!q->tid_ok) continue;
		uint64_t one = 1;
		__atomic_store_n(&q->stop, 1, __ATOMIC_SEQ_CST);
		if (write(q->efd, &one, sizeof(one)) < 0) { /* EAGAIN: a wake-up is pending anyway */ }
	}
	for (unsigned i = 0; i < ch->nqt; i++) {
		struct qthread *q = &ch->qt[i];
		if (q->tid_ok) pthread_join(q->tid, NULL);
		q->tid_ok = 0;
		if (q->ring_ok) fu_ring_destroy(&q->ring);
		q->ring_ok = 0;
	}
}

void qt_free(struct channel *ch)
{
	for (unsigned i = 0; i < ch->nqt; i++) {
		struct qthread *q = &ch->qt[i];
		if (q->efd >= 0) close(q->efd);
		pthread_mutex_destroy(&q->mu);
		pthread_cond_destroy(&q->cv);
		free(q->post);
		free(q->ans);
		free(q->last_cmd);
		free(q->retries);
	}
	free(ch->qt);
	ch->qt = NULL;
	ch->nqt = 0;
	if (ch->qt_efd >= 0) close(ch->qt_efd);
	ch->qt_efd = -1;
}

static int q_init(struct channel *ch, struct qthread *q, unsigned qid, unsigned depth, unsigned flags, int register_entries)
{
	unsigned cap = 1;
	while (cap < depth) cap <<= 1;
	q->ch = ch;
	q->qid = qid;
	q->first = qid * depth;
	q->depth = depth;
	q->mask = cap - 1;
	q->register_entries = register_entries;
	q->efd = -1;
	q->ring.fd = -1;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	q->post = calloc(cap, 2 * sizeof(int32_t));
	q->ans = calloc(2 * cap, sizeof(uint32_t));
	q->last_cmd = calloc(depth, 1);
	q->retries = calloc(depth, 1);
	if (!q->post || !q->ans || !q->last_cmd || !q->retries) return -ENOMEM;
	if ((q->efd = eventfd(0, EFD_CLOEXEC)) < 0) return -errno; /* blocking: io_uring's READ waits on it */
	unsigned entries = 1;
	while (entries < depth + 8) entries <<= 1;
	int r = fu_ring_init(&q->ring, entries, IORING_SETUP_SQE128 | flags);
	if (r < 0) return r;
	q->ring_ok = 1;
	return fu_ring_register_files(&q->ring, &ch->fd, 1);
}

/*
 * Creates the queue threads over the slots set up by channelSetupRing and waits until each has
 * REGISTERed its entries (or, with register_entries 0, is ready for entries the loop's ring hands
 * over). Returns 0, or throws (and leaves nothing running).
 */
int qt_setup(napi_env env, struct channel *ch, unsigned queues, unsigned depth, unsigned flags, int register_entries)
{
	int r = 0;
	sigset_t all, old;

	/* cache-line aligned: each side's indices on a line of their own */
	ch->qt = aligned_alloc(64, queues * sizeof(*ch->qt));
	if (!ch->qt) return fu_throw_errno(env, "channelSetupRing", ENOMEM);
	memset(ch->qt, 0, queues * sizeof(*ch->qt));
	ch->nqt = queues; /* for qt_stop/qt_free on failure; qt_free sets it back to 0 */
	for (unsigned i = 0; i < queues; i++) {
		ch->qt[i].efd = -1;
		ch->qt[i].ring.fd = -1;
	}
	if ((ch->qt_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		r = -errno;
		goto fail;
	}
	ch->qt_js_sleeping = 1;
	ch->qt_js_cpu = -1;
	if (register_entries)
		for (unsigned i = 0; i < ch->nring; i++) {
			ch->slots[i].state = ST_KERNEL;
			ch->slots[i].on_qt = 1;
		}
	for (unsigned i = 0; i < queues; i++) {
		if ((r = q_init(ch, &ch->qt[i], i, depth, flags, register_entries)) < 0) goto fail;
	}
	/* signals stay with the loop's thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (unsigned i = 0; i < queues; i++) {
		struct qthread *q = &ch->qt[i];
		if ((r = -pthread_create(&q->tid, NULL, q_main, q)) < 0) break;
		q->tid_ok = 1;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0) goto fail;
	int fail_idx = -1, fail_err = 0;
	for (unsigned i = 0; i < queues; i++) {
		struct qthread *q = &ch->qt[i];
		pthread_mutex_lock(&q->mu);
		while (!q->reg_done) pthread_cond_wait(&q->cv, &q->mu);
		pthread_mutex_unlock(&q->mu);
		if (q->reg_err && fail_idx < 0) {
			fail_idx = q->reg_idx;
			fail_err = q->reg_err;
		}
	}
	if (fail_idx >= 0) {
		qt_stop(ch);
		qt_free(ch);
		return ring_setup_failed(env, (unsigned)fail_idx, ch->slots[fail_idx].qid, fail_err);
	}
	return 0;
fail:
	qt_stop(ch);
	qt_free(ch);
	return fu_throw_error(env, fu_errno_name(-r), -r, "channelSetupRing: queue threads: %s", strerror(-r));
}
