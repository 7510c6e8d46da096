/* Ring slots: setup, REGISTER/COMMIT_AND_FETCH submission, CQE reaping, the ring uv_poll. */
#include "channel.h"
#include "fuse_abi.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_POLL_ROUNDS 8           /* reap → JS → flush rounds per ring wake-up */
#define REGISTER_RETRIES 8          /* REGISTER resubmissions after -EAGAIN, per slot */
#define MAX_RING_SLOTS 32760        /* entries (slots + 8, rounded up to 2^n) must stay <= 32768 */
#define LOCAL_COOLDOWN 64           /* requests without a CQ watch after one from a caller on our CPU */

/* ---- submission ---------------------------------------------------------- */

/* Hands a batch's answers on: wakes the queue threads that sleep on them, or submits the queued
 * SQEs (one io_uring_enter). Returns the SQE count or -errno. */
int flush_sq(struct channel *ch)
{
	if (queue_threads_on(ch) && !ch->closed) qt_flush(ch);
	if (!ch->has_ring || ch->closed) return 0;
	uint64_t t0 = ch->fl.cpu >= 0 ? now_ns() : 0;
	int r = fu_ring_submit(&ch->ring, &ch->enters_ul);
	if (t0 && r > 0) follow_flushed(ch, now_ns() - t0);
	sync_enters(ch);
	if (r > 0) ch->st.sqes += r;
	if (fu_ring_sq_pending(&ch->ring) && !(ch->ring.flags & IORING_SETUP_SQPOLL)) kick_prepare(ch);
	return r;
}

static struct io_uring_sqe *get_sqe(struct channel *ch)
{
	struct io_uring_sqe *sqe = fu_ring_get_sqe(&ch->ring);
	if (!sqe) {
		flush_sq(ch);
		sqe = fu_ring_get_sqe(&ch->ring);
	}
	return sqe;
}

void prep_uring_cmd(struct io_uring_sqe *sqe, unsigned idx, unsigned qid, unsigned cmd_op, uint64_t commit_id)
{
	struct fu_fuse_uring_cmd_req req;
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->flags = IOSQE_FIXED_FILE;
	sqe->fd = 0; /* registered file index 0 = /dev/fuse */
	sqe->cmd_op = cmd_op;
	sqe->user_data = idx;
	memset(&req, 0, sizeof(req));
	req.commit_id = commit_id;
	req.qid = (uint16_t)qid;
	memcpy((unsigned char *)sqe + FU_SQE_CMD_OFFSET, &req, sizeof(req));
}

static int queue_register(struct channel *ch, unsigned idx)
{
	struct io_uring_sqe *sqe = get_sqe(ch);
	if (!sqe) return -EAGAIN;
	prep_uring_cmd(sqe, idx, ch->slots[idx].qid, FUSE_IO_URING_CMD_REGISTER, 0);
	sqe->addr = (uint64_t)(uintptr_t)ch->ring_iov[idx];
	sqe->len = 2;
	set_ring_state(ch, &ch->slots[idx], ST_KERNEL);
	ch->slots[idx].last_cmd = FUSE_IO_URING_CMD_REGISTER;
	return 0;
}

/* ---- ring completions ---------------------------------------------------- */

/*
 * The kernel queues a request on the queue of the CPU its caller ran on (qid = CPU). A caller on our
 * own CPU cannot send its next request while we watch the CQ: it needs this CPU, and so does a
 * second caller when two keep both CPUs busy (measured: 2-job 4K reads ran at 47k IOPS with the
 * watch against 58-84k without). So a request from our CPU turns the watch off for the next
 * LOCAL_COOLDOWN requests; a lone caller on another CPU, where the watch pays, keeps it.
 */
static void note_caller_cpu(struct channel *ch, uint16_t qid)
{
	if (ch->sw.enabled) switch_note(ch, qid);
	if (ch->fl.enabled && !ch->threaded) follow_note(ch, qid);
	if (!ch->spin.max_ns && !ch->threaded) return;
	int cpu = sched_getcpu(), local = cpu == (int)qid;
	if (local) {
		ch->spin.local = LOCAL_COOLDOWN;
		ch->st.local_reqs++;
	} else if (ch->spin.local) {
		ch->spin.local--;
	}
	if (ch->threaded) qt_note_caller(ch, cpu, local); /* the loop's thread may step aside */
}

/* Returns -1 if the channel got closed (by JavaScript, while events were delivered). */
int handle_ring_cqe(struct channel *ch, const struct fu_cqe *c)
{
	if (c->user_data >= ch->nring) return 0; /* not one of ours */
	unsigned idx = (unsigned)c->user_data;
	struct slot *s = &ch->slots[idx];
	int res = c->res;

	if (res >= 0) {
		set_ring_state(ch, s, ST_USER);
		note_caller_cpu(ch, s->qid);
		return push_event(ch, (int32_t)idx, 0);
	}
	if (res == -EAGAIN && s->last_cmd == FUSE_IO_URING_CMD_REGISTER && s->retries < REGISTER_RETRIES) {
		/* the connection was not initialized yet (REGISTER before the INIT reply): try again */
		s->retries++;
		if (queue_register(ch, idx) == 0) return 0;
	}
	if (res == -ENOTCONN || res == -ECONNABORTED || s->last_cmd == FUSE_IO_URING_CMD_REGISTER)
		set_ring_state(ch, s, ST_DEAD);
	else
		set_ring_state(ch, s, ST_USER); /* e.g. -ENOENT for a wrong commit_id: the entry still holds its request */
	return push_event(ch, (int32_t)idx, res);
}

/* Reaps every CQE. Returns the number reaped, or -1 if the channel got closed meanwhile. */
static int reap_ring(struct channel *ch)
{
	struct fu_cqe c;
	int n = 0;
	if (queue_threads_on(ch) && (n = qt_reap(ch)) < 0) return -1;
	while (ch->has_ring && !ch->closed && fu_ring_pop_cqe(&ch->ring, &c)) {
		ch->st.cqes++;
		n++;
		if (handle_ring_cqe(ch, &c)) return -1;
	}
	return ch->closed ? -1 : n;
}

/* ---- uv callbacks -------------------------------------------------------- */

/* Something for us in the ring: a CQE, or (COOP_TASKRUN + TASKRUN_FLAG) task_work that posts one. */
static int ring_ready(struct channel *ch)
{
	if (queue_threads_on(ch) && qt_ready(ch)) return 1;
	if (!ch->has_ring) return 0;
	if (fu_ring_cq_ready(&ch->ring)) return 1;
	return (ch->ring.flags & IORING_SETUP_COOP_TASKRUN) && (ch->ring.flags & IORING_SETUP_TASKRUN_FLAG) &&
	       fu_ring_taskrun_needed(&ch->ring);
}

/*
 * Waits for the next request by watching the CQ instead of sleeping in epoll. Why: a caller blocked
 * in a syscall sends its next request a few µs after our reply wakes it; sleeping in between costs
 * a wake-up of this thread (an IPI, and on a VM an exit from halt) per request, which dominates the
 * round trip when the caller runs on another CPU (measured: docs/performance.md).
 * Only when JavaScript holds no request (a pending async handler is woken by the loop, which must
 * not wait for us) and bounded by the window, which halves after each fruitless wait and comes back
 * when a wake-up shows that waiting would have paid (on_ring_poll).
 */
enum spin_result { SPIN_NONE, SPIN_WORK, SPIN_DEADLINE };

static enum spin_result spin_for_work(struct channel *ch, uint64_t deadline)
{
	/* queue threads: a caller on our CPU is served by its queue thread, which sched_yield lets run */
	if (!ch->spin.cur_ns || (ch->spin.local && !ch->threaded) || ch->ring_held || ch->npending) return SPIN_NONE;
	if (!ch->threaded && (ch->ring.flags & IORING_SETUP_COOP_TASKRUN) && !(ch->ring.flags & IORING_SETUP_TASKRUN_FLAG))
		return SPIN_NONE;
	uint64_t start = now_ns(), t = start, end = start + ch->spin.cur_ns;
	bool cut = end > deadline;
	if (cut) end = deadline;
	ch->st.spins++;
	while (!ring_ready(ch)) {
		if ((t = now_ns()) >= end) {
			ch->st.spin_ns += (double)(t - start);
			/* the wake-up's time was up, not the window: that says nothing about the caller's pace */
			if (cut) return SPIN_DEADLINE;
			ch->spin.cur_ns /= 2;
			if (ch->spin.cur_ns < 1000) ch->spin.cur_ns = 0;
			return SPIN_NONE;
		}
		if (ch->threaded) sched_yield(); /* measured: better than yielding every 2 or 10 µs */
		else cpu_relax();
	}
	ch->st.spin_ns += (double)(now_ns() - start);
	ch->st.spin_hits++;
	ch->spin.cur_ns = ch->spin.max_ns;
	return SPIN_WORK;
}

/*
 * Whether anything but the ring wants the loop: a due timer, an idle or pending handle (libuv then
 * polls with timeout 0), or a ready fd of another handle — /dev/fuse (FORGET, INTERRUPT), the
 * thread pool's completions, signals. poll(2) on the loop's epoll fd tells without consuming.
 */
static bool loop_wanted(struct channel *ch)
{
	uv_update_time(ch->loop);
	if (uv_backend_timeout(ch->loop) == 0) return true;
	struct pollfd p = { .fd = uv_backend_fd(ch->loop), .events = POLLIN };
	return poll(&p, 1, 0) != 0;
}

/* One slice of a wake-up serves the ring at most this long; then it goes on only if nothing else
 * wants the loop (timers, /dev/fuse, the thread pool), which saves a wake-up per slice. */
#define MAX_POLL_NS 1000000u
#define MAX_SPIN_ROUNDS 4096

void on_ring_poll(uv_poll_t *h, int status, int events)
{
	struct channel *ch = h->data;
	napi_handle_scope scope;

	if (ch->closed) return;
	uint64_t start = now_ns();
	ch->st.wakeups++;
	if (queue_threads_on(ch)) qt_js_wake(ch);
	/* woken soon after the last answer: waiting in the CQ would have caught this request */
	if (ch->spin.max_ns && ch->spin.idle_since && start - ch->spin.idle_since < ch->spin.max_ns)
		ch->spin.cur_ns = ch->spin.max_ns;
	if (napi_open_handle_scope(ch->env, &scope) != napi_ok) return;
	begin_dispatch(ch);
	if (status < 0) {
		uv_poll_stop(h);
		push_event(ch, -1, status);
		goto out;
	}
	uint64_t deadline = start + MAX_POLL_NS;
	for (int round = 0; round < MAX_SPIN_ROUNDS && !ch->closed; round++) {
		if (ch->has_ring && (ch->ring.flags & IORING_SETUP_COOP_TASKRUN) && fu_ring_taskrun_needed(&ch->ring)) {
			/* COOP_TASKRUN: the completions are posted by task_work that only runs when we enter the
			 * kernel (doc §5.1); the wake-up itself does not run it */
			ch->enters_ul++;
			fu_ring_enter(&ch->ring, 0, 0, IORING_ENTER_GETEVENTS);
			sync_enters(ch);
		}
		if (reap_ring(ch) < 0) goto out;
		/* microtasks run when this callback returns: async handlers that settled at once commit here */
		if (ch->ev_count && deliver(ch)) goto out;
		flush_sq(ch);
		if (ch->closed) break;
		if (ring_ready(ch)) {
			if (round < MAX_POLL_ROUNDS || now_ns() < deadline) continue;
			break; /* level-triggered: the poll fires again after the loop's other handles */
		}
		enum spin_result r = spin_for_work(ch, deadline);
		if (r == SPIN_DEADLINE && !loop_wanted(ch)) {
			ch->st.slices++;
			deadline = now_ns() + MAX_POLL_NS;
			r = spin_for_work(ch, deadline);
		}
		if (r != SPIN_WORK) break;
	}
out:
	end_dispatch(ch);
	if (!ch->closed) flush_sq(ch);
	if (queue_threads_on(ch) && !ch->closed) qt_js_sleep(ch);
	ch->spin.idle_since = ch->ring_held ? 0 : now_ns();
	napi_close_handle_scope(ch->env, scope);
}

/* channelSetServing(ch, spinMicros, follow): the CQ watch (and the queue threads' watch for
 * answers), and following a lone caller's CPU (follow.c; the loop-thread model only). */
napi_value fu_channel_set_serving(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	struct channel *ch;
	int32_t us;
	int follow;

	if (fu_args(env, info, 3, argv, "channelSetServing") || !(ch = get_channel(env, argv[0])) ||
	    fu_get_int32(env, argv[1], "spinMicros", &us) || fu_get_bool(env, argv[2], "follow", &follow))
		return NULL;
	if (us < 0 || us > 1000000) {
		fu_throw_range_error(env, "channelSetServing: spinMicros must be 0 … 1000000 (got %d)", us);
		return NULL;
	}
	ch->spin.max_ns = ch->spin.cur_ns = (uint64_t)us * 1000u;
	__atomic_store_n(&ch->qt_spin_ns, ch->spin.max_ns, __ATOMIC_RELAXED);
	uv_loop_t *loop = NULL;
	if (follow && napi_get_uv_event_loop(env, &loop) != napi_ok) loop = NULL;
	follow_stop(ch);
	follow_init(ch, follow && ch->has_ring && !(ch->ring.flags & IORING_SETUP_SQPOLL), loop);
	return js_undefined(env);
}

/* ---- setup --------------------------------------------------------------- */

int ring_setup_failed(napi_env env, unsigned idx, unsigned qid, int err)
{
	const char *hint = "";
	switch (err) {
	case EINVAL:
		hint = " (header iovec >= 288 bytes? payload >= max(8192, max_write, max_pages*4096) of the INIT reply? "
		       "qid < number of possible CPUs? ring created with SQE128?)";
		break;
	case EOPNOTSUPP:
		hint = " (FUSE-over-io_uring is not enabled: /sys/module/fuse/parameters/enable_uring must be Y at mount time)";
		break;
	case EAGAIN:
		hint = " (the connection is not initialized: REGISTER must follow the INIT reply)";
		break;
	case ENOTCONN:
	case ECONNABORTED:
		hint = " (the connection is gone)";
		break;
	}
	return fu_throw_error(env, fu_errno_name(err), err, "io_uring REGISTER of slot %u (qid %u) failed: %s%s", idx, qid,
			      strerror(err), hint);
}

napi_value fu_channel_setup_ring(napi_env env, napi_callback_info info)
{
	napi_value argv[7];
	struct channel *ch;
	uint32_t queues, depth, extra, serving;
	void *hdr_data;
	size_t hdr_len;
	bool is_array;
	uint32_t npayloads;

	if (fu_args(env, info, 7, argv, "channelSetupRing") || !(ch = get_channel(env, argv[0])) ||
	    fu_get_uint32(env, argv[1], "queues", &queues) || fu_get_uint32(env, argv[2], "depth", &depth) ||
	    fu_get_bytes(env, argv[3], "headers", &hdr_data, &hdr_len) || fu_get_uint32(env, argv[5], "extraFlags", &extra) ||
	    fu_get_uint32(env, argv[6], "serving", &serving))
		return NULL;
	if (serving > 2) {
		fu_throw_range_error(env, "channelSetupRing: serving must be 0 (the loop's thread), 1 (queue threads) or 2 (auto), got %u", serving);
		return NULL;
	}
	int threaded = serving != 0;
	if (ch->closed) {
		fu_throw_error(env, "EBADF", EBADF, "channelSetupRing: the channel is closed");
		return NULL;
	}
	if (ch->has_ring || ch->nring || queue_threads_on(ch)) {
		fu_throw_error(env, "EEXIST", EEXIST, "channelSetupRing: the channel already has a ring");
		return NULL;
	}
	if (ch->nslots || ch->started) {
		fu_throw_error(env, "EINVAL", EINVAL, "channelSetupRing must be called before channelAddDevSlots and channelStart");
		return NULL;
	}
	if (queues < 1 || queues > 65536 || depth < 1 || (uint64_t)queues * depth > MAX_RING_SLOTS) {
		fu_throw_range_error(env, "channelSetupRing: queues (%u) and depth (%u) must be >= 1 with queues*depth <= %u", queues,
				     depth, MAX_RING_SLOTS);
		return NULL;
	}
	if (threaded && (extra & (IORING_SETUP_SQPOLL | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN))) {
		/* the rings are created here and used by the queue threads */
		fu_throw_error(env, "EINVAL", EINVAL,
			       "channelSetupRing: SQPOLL, SINGLE_ISSUER and DEFER_TASKRUN cannot be used with queue threads (serving 1 or 2)");
		return NULL;
	}
	if (extra & IORING_SETUP_DEFER_TASKRUN) {
		fu_throw_error(env, "EINVAL", EINVAL,
			       "channelSetupRing: IORING_SETUP_DEFER_TASKRUN cannot be used with a uv_poll on the ring fd "
			       "(completions would only be posted inside io_uring_enter)");
		return NULL;
	}
	unsigned nring = queues * depth;
	if (hdr_len < (size_t)nring * FU_HEADER_STRIDE) {
		fu_throw_range_error(env, "channelSetupRing: headers has %zu bytes, %u slots need %zu", hdr_len, nring,
				     (size_t)nring * FU_HEADER_STRIDE);
		return NULL;
	}
	if (napi_is_array(env, argv[4], &is_array) != napi_ok || !is_array) {
		fu_throw_type_error(env, "channelSetupRing: payloads must be an array of ArrayBuffers");
		return NULL;
	}
	if (napi_get_array_length(env, argv[4], &npayloads) != napi_ok) return NULL;
	if (npayloads < nring) {
		fu_throw_range_error(env, "channelSetupRing: %u payloads for %u slots", npayloads, nring);
		return NULL;
	}
	if (grow_slots(ch, nring)) {
		fu_throw_errno(env, "channelSetupRing", ENOMEM);
		return NULL;
	}
	struct iovec (*iov)[2] = calloc(nring, sizeof(*iov));
	if (!iov) {
		fu_throw_errno(env, "channelSetupRing", ENOMEM);
		return NULL;
	}
	/* collect and pin the buffers first: nothing has been created yet if one is wrong */
	unsigned refs_before = ch->nrefs;
	if (keep_ref(ch, argv[3])) goto fail_refs;
	for (unsigned s = 0; s < nring; s++) {
		if (init_slot(env, ch, argv[4], s, s, hdr_data, s, "channelSetupRing")) goto fail_refs;
		struct slot *sl = &ch->slots[s];
		sl->qid = (uint16_t)(s / depth);
		sl->kind = KIND_RING;
		sl->state = ST_DEAD; /* until its REGISTER is queued */
		iov[s][0].iov_base = sl->header;
		iov[s][0].iov_len = FU_URING_HEADER_SIZE;
		iov[s][1].iov_base = sl->payload;
		iov[s][1].iov_len = sl->payload_len;
	}

	if (serving == 1) {
		ch->ring_iov = iov;
		ch->nring = ch->nslots = nring;
		if (qt_setup(env, ch, queues, depth, extra, 1)) {
			ch->ring_iov = NULL;
			ch->nring = ch->nslots = 0;
			goto fail_refs;
		}
		ch->threaded = 1;
		return js_undefined(env);
	}
	unsigned entries = 1;
	while (entries < nring + 8) entries <<= 1;
	int r = fu_ring_init(&ch->ring, entries, IORING_SETUP_SQE128 | extra);
	if (r < 0) {
		fu_throw_error(env, fu_errno_name(-r), -r, "io_uring_setup(%u entries, flags 0x%x): %s", entries,
			       IORING_SETUP_SQE128 | extra, strerror(-r));
		goto fail_refs;
	}
	r = fu_ring_register_files(&ch->ring, &ch->fd, 1);
	if (r < 0) {
		fu_ring_destroy(&ch->ring);
		fu_throw_error(env, fu_errno_name(-r), -r, "io_uring_register(IORING_REGISTER_FILES, /dev/fuse fd %d): %s", ch->fd,
			       strerror(-r));
		goto fail_refs;
	}
	/* from here on the ring belongs to the channel: on failure, channelClose cleans it up */
	ch->has_ring = 1;
	ch->ring_iov = iov;
	ch->nring = nring;
	ch->nslots = nring;

	for (unsigned s = 0; s < nring; s++) {
		r = queue_register(ch, s);
		if (r < 0) {
			fu_throw_errno(env, "io_uring: no free SQE for REGISTER", -r);
			return NULL;
		}
	}
	for (int tries = 0; fu_ring_sq_pending(&ch->ring); tries++) {
		r = flush_sq(ch);
		if (r < 0 && r != -EAGAIN && r != -EBUSY) {
			fu_throw_errno(env, "io_uring_enter", -r);
			return NULL;
		}
		if (tries > 1000) {
			fu_throw_errno(env, "io_uring_enter (REGISTER not consumed)", EBUSY);
			return NULL;
		}
		if (r <= 0) {
			struct timespec ts = { 0, 1000000 };
			nanosleep(&ts, NULL);
		}
	}
	/* REGISTER errors are posted during submission; a request may also have landed already */
	int fail_idx = -1, fail_err = 0;
	for (int round = 0; round < REGISTER_RETRIES + 1; round++) {
		struct fu_cqe c;
		int resubmit = 0;
		while (fu_ring_pop_cqe(&ch->ring, &c)) {
			ch->st.cqes++;
			if (c.user_data >= nring) continue;
			unsigned idx = (unsigned)c.user_data;
			struct slot *sl = &ch->slots[idx];
			if (c.res >= 0) {
				set_ring_state(ch, sl, ST_USER);
				append_pending(ch, (int32_t)idx, 0);
			} else if (c.res == -EAGAIN && sl->last_cmd == FUSE_IO_URING_CMD_REGISTER && sl->retries < REGISTER_RETRIES) {
				sl->retries++;
				if (queue_register(ch, idx) == 0) resubmit = 1;
			} else {
				set_ring_state(ch, sl, ST_DEAD);
				if (fail_idx < 0) {
					fail_idx = (int)idx;
					fail_err = -c.res;
				}
			}
		}
		if (!resubmit) break;
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
		flush_sq(ch);
	}
	if (fail_idx >= 0) {
		ring_setup_failed(env, (unsigned)fail_idx, ch->slots[fail_idx].qid, fail_err);
		return NULL;
	}
	/* auto: the threads start idle; the entries go to them when two callers are served (serve_switch.c) */
	if (serving == 2 && qt_setup(env, ch, queues, depth, extra, 0)) return NULL;
	switch_init(ch, serving == 2);
	return js_undefined(env);

fail_refs:
	while (ch->nrefs > refs_before) napi_delete_reference(env, ch->refs[--ch->nrefs]);
	free(iov);
	return NULL;
}

/* ---- commit -------------------------------------------------------------- */

int commit_ring(struct channel *ch, unsigned idx)
{
	struct slot *s = &ch->slots[idx];
	uint64_t commit_id;

	if (s->state == ST_DEAD) return 0; /* torn down: nothing to commit to */
	if (s->state != ST_USER) return -EINVAL; /* the kernel owns it: no request to answer */
	struct io_uring_sqe *sqe = get_sqe(ch);
	if (!sqe) return -EAGAIN;
	memcpy(&commit_id, s->header + FU_URING_COMMIT_ID_OFFSET, sizeof(commit_id));
	prep_uring_cmd(sqe, idx, s->qid, FUSE_IO_URING_CMD_COMMIT_AND_FETCH, commit_id);
	if (s->on_qt) qt_drop(ch, idx); /* serving "auto": from its thread's ring to ours */
	set_ring_state(ch, s, ST_KERNEL);
	s->last_cmd = FUSE_IO_URING_CMD_COMMIT_AND_FETCH;
	if (ch->dispatch_depth > 0) return 0; /* the dispatch flushes when JavaScript returns */
	if (ch->started) kick_prepare(ch);
	else flush_sq(ch);
	return 0;
}

