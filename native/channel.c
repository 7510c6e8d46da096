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
 * All of this runs on the thread of the env's event loop; there is no process-wide mutable state.
 */
#include "common.h"
#include "fuse_abi.h"
#include "ring.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define CHANNEL_MAGIC 0x4655434eu   /* "FUCN" */
#define MAX_POLL_ROUNDS 8           /* reap → JS → flush rounds per ring wake-up */
#define MAX_DEV_READS 64            /* readv(/dev/fuse) per wake-up */
#define MAX_DEV_RETRIES 64          /* EINTR/ENOENT retries per wake-up */
#define REGISTER_RETRIES 8          /* REGISTER resubmissions after -EAGAIN, per slot */
#define MAX_RING_SLOTS 32760        /* entries (slots + 8, rounded up to 2^n) must stay <= 32768 */
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

	struct {
		double enters, sqes, cqes, dev_reads, dev_writes, callbacks;
	} st;
	unsigned long enters_ul; /* fu_ring_* counts syscalls here */
};

/* ---- small helpers ------------------------------------------------------ */

static napi_value js_undefined(napi_env env)
{
	napi_value u = NULL;
	napi_get_undefined(env, &u);
	return u;
}

static napi_value js_int(napi_env env, int64_t v)
{
	napi_value r = NULL;
	if (napi_create_int64(env, v, &r) != napi_ok) fu_napi_failed(env, napi_generic_failure, "napi_create_int64");
	return r;
}

static void sync_enters(struct channel *ch)
{
	ch->st.enters += (double)ch->enters_ul;
	ch->enters_ul = 0;
}

static struct channel *get_channel(napi_env env, napi_value v)
{
	napi_valuetype t;
	void *p = NULL;
	if (napi_typeof(env, v, &t) != napi_ok || t != napi_external || napi_get_value_external(env, v, &p) != napi_ok ||
	    !p || ((struct channel *)p)->magic != CHANNEL_MAGIC) {
		fu_throw_type_error(env, "ch must be a NativeChannel (from channelCreate)");
		return NULL;
	}
	return p;
}

static int keep_ref(struct channel *ch, napi_value v)
{
	napi_env env = ch->env;
	if (ch->nrefs == ch->refs_cap) {
		unsigned cap = ch->refs_cap ? ch->refs_cap * 2 : 16;
		napi_ref *n = realloc(ch->refs, cap * sizeof(*n));
		if (!n) return fu_throw_errno(env, "realloc", ENOMEM);
		ch->refs = n;
		ch->refs_cap = cap;
	}
	FU_NAPI(env, napi_create_reference(env, v, 1, &ch->refs[ch->nrefs]));
	ch->nrefs++;
	return 0;
}

static int grow_slots(struct channel *ch, unsigned more)
{
	if (ch->nslots + more <= ch->slots_cap) return 0;
	unsigned cap = ch->slots_cap ? ch->slots_cap : 8;
	while (cap < ch->nslots + more) cap *= 2;
	struct slot *n = realloc(ch->slots, cap * sizeof(*n));
	if (!n) return -ENOMEM;
	ch->slots = n;
	ch->slots_cap = cap;
	return 0;
}

/* ---- lifetime ------------------------------------------------------------ */

static void maybe_free(struct channel *ch)
{
	if (!ch->closed || ch->handles_open > 0) return;
	if (ch->cleanup_hook) {
		napi_async_cleanup_hook_handle h = ch->cleanup_hook;
		ch->cleanup_hook = NULL;
		napi_remove_async_cleanup_hook(h);
	}
	if (!ch->finalized) return;
	free(ch->slots);
	free(ch->ring_iov);
	free(ch->refs);
	free(ch->pending);
	ch->magic = 0;
	free(ch);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct channel *ch = h->data;
	ch->handles_open--;
	maybe_free(ch);
}

/* Drops everything that ties JavaScript objects to the channel. Deferred while a dispatch is running
 * (the callback and the async context are in use). */
static void release_js(struct channel *ch)
{
	napi_env env = ch->env;
	if (ch->js_released || ch->dispatch_depth > 0) return;
	ch->js_released = 1;
	for (unsigned i = 0; i < ch->nrefs; i++) napi_delete_reference(env, ch->refs[i]);
	ch->nrefs = 0;
	if (ch->events_ref) napi_delete_reference(env, ch->events_ref);
	if (ch->cb_ref) napi_delete_reference(env, ch->cb_ref);
	if (ch->self_ref) napi_delete_reference(env, ch->self_ref);
	ch->events_ref = ch->cb_ref = ch->self_ref = NULL;
	if (ch->async_ctx) napi_async_destroy(env, ch->async_ctx);
	ch->async_ctx = NULL;
}

/* Idempotent teardown: stop and close the uv handles, destroy the ring, drop the references. The
 * struct itself lives on until the handles' close callbacks ran and the JS external was finalized. */
static void close_channel(struct channel *ch)
{
	if (ch->closed) return;
	ch->closed = 1;
	ch->ev = NULL;
	if (ch->ring_poll_init) {
		uv_poll_stop(&ch->ring_poll);
		uv_close((uv_handle_t *)&ch->ring_poll, on_handle_closed);
	}
	if (ch->dev_poll_init) {
		uv_poll_stop(&ch->dev_poll);
		uv_close((uv_handle_t *)&ch->dev_poll, on_handle_closed);
	}
	if (ch->prepare_init) {
		uv_prepare_stop(&ch->prepare);
		uv_close((uv_handle_t *)&ch->prepare, on_handle_closed);
	}
	ch->dev_poll_active = ch->prepare_active = 0;
	if (ch->has_ring) {
		/* munmap + close: the kernel cancels whatever entries are still registered */
		sync_enters(ch);
		fu_ring_destroy(&ch->ring);
		ch->has_ring = 0;
	}
	release_js(ch);
}

static void on_finalize(napi_env env, void *data, void *hint)
{
	struct channel *ch = data;
	ch->finalized = 1;
	close_channel(ch);
	maybe_free(ch);
}

static void on_env_cleanup(napi_async_cleanup_hook_handle handle, void *arg)
{
	struct channel *ch = arg;
	ch->cleanup_hook = handle;
	close_channel(ch);
	maybe_free(ch); /* removes the hook now, or from the last close callback */
}

/* ---- events -------------------------------------------------------------- */

static int append_pending(struct channel *ch, int32_t slot, int32_t res)
{
	if (ch->npending == ch->pending_cap) {
		unsigned cap = ch->pending_cap ? ch->pending_cap * 2 : 64;
		int32_t *n = realloc(ch->pending, (size_t)cap * 2 * sizeof(int32_t));
		if (!n) return -ENOMEM;
		ch->pending = n;
		ch->pending_cap = cap;
	}
	ch->pending[2 * ch->npending] = slot;
	ch->pending[2 * ch->npending + 1] = res;
	ch->npending++;
	return 0;
}

static void refresh_events(struct channel *ch)
{
	napi_env env = ch->env;
	napi_value arr;
	napi_typedarray_type type;
	size_t length = 0, offset;
	void *data = NULL;
	napi_value ab;

	ch->ev = NULL;
	ch->ev_cap = 0;
	if (ch->closed || !ch->events_ref) return;
	if (napi_get_reference_value(env, ch->events_ref, &arr) != napi_ok || !arr) return;
	if (napi_get_typedarray_info(env, arr, &type, &length, &data, &ab, &offset) != napi_ok) return;
	if (type != napi_int32_array || length < 2 || !data) return;
	ch->ev = data;
	ch->ev_cap = (unsigned)(length / 2 > UINT32_MAX ? UINT32_MAX : length / 2);
}

/* Calls onEvents(count) for the events collected so far. Returns -1 if the channel got closed. */
static int deliver(struct channel *ch)
{
	napi_env env = ch->env;
	unsigned n = ch->ev_count;
	napi_value cb, recv, argv[1], result;

	if (ch->closed) return -1;
	if (!n) return 0;
	ch->ev_count = 0;
	if (napi_get_reference_value(env, ch->cb_ref, &cb) != napi_ok || !cb || napi_get_global(env, &recv) != napi_ok ||
	    napi_create_uint32(env, n, &argv[0]) != napi_ok)
		return 0;
	ch->st.callbacks++;
	napi_status s = napi_make_callback(env, ch->async_ctx, recv, cb, 1, argv, &result);
	if (s != napi_ok) {
		bool pending = false;
		napi_value exc;
		/* nobody up the stack would see it: make it an uncaught exception, like any event callback */
		if (napi_is_exception_pending(env, &pending) == napi_ok && pending &&
		    napi_get_and_clear_last_exception(env, &exc) == napi_ok)
			napi_fatal_exception(env, exc);
	}
	if (ch->closed) return -1;
	refresh_events(ch);
	return 0;
}

/* Hands one event to JavaScript: into the events array during a dispatch (calling JavaScript when it is
 * full), otherwise into the pending list. Returns -1 if the channel got closed. */
static int push_event(struct channel *ch, int32_t slot, int32_t res)
{
	if (ch->closed) return -1;
	if (ch->ev && ch->ev_count == ch->ev_cap && deliver(ch)) return -1;
	if (!ch->ev) {
		append_pending(ch, slot, res); /* (on ENOMEM the event is lost) */
		return 0;
	}
	ch->ev[2 * ch->ev_count] = slot;
	ch->ev[2 * ch->ev_count + 1] = res;
	ch->ev_count++;
	return 0;
}

static void begin_dispatch(struct channel *ch)
{
	ch->dispatch_depth++;
	ch->ev_count = 0;
	refresh_events(ch);
	/* events collected while nobody could be called come first */
	unsigned i = 0;
	while (i < ch->npending && ch->ev && !ch->closed) {
		int32_t slot = ch->pending[2 * i], res = ch->pending[2 * i + 1];
		i++;
		if (push_event(ch, slot, res)) break;
	}
	if (i && !ch->closed) {
		memmove(ch->pending, ch->pending + 2 * i, (size_t)(ch->npending - i) * 2 * sizeof(int32_t));
		ch->npending -= i;
	}
}

static void end_dispatch(struct channel *ch)
{
	if (!ch->closed && ch->ev_count) deliver(ch);
	ch->ev = NULL;
	ch->ev_count = 0;
	ch->dispatch_depth--;
	if (ch->closed) release_js(ch);
}

/* ---- submission ---------------------------------------------------------- */

static void on_prepare(uv_prepare_t *h);

/* Makes sure queued work (SQEs, pending events) is handled before the loop blocks again. */
static void kick_prepare(struct channel *ch)
{
	if (ch->prepare_init && !ch->prepare_active && !ch->closed && uv_prepare_start(&ch->prepare, on_prepare) == 0)
		ch->prepare_active = 1;
}

/* Submits the queued SQEs (one io_uring_enter). Returns the count or -errno. */
static int flush_sq(struct channel *ch)
{
	if (!ch->has_ring || ch->closed) return 0;
	int r = fu_ring_submit(&ch->ring, &ch->enters_ul);
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

static void prep_cmd(struct channel *ch, struct io_uring_sqe *sqe, unsigned idx, unsigned cmd_op, uint64_t commit_id)
{
	struct fu_fuse_uring_cmd_req req;
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->flags = IOSQE_FIXED_FILE;
	sqe->fd = 0; /* registered file index 0 = /dev/fuse */
	sqe->cmd_op = cmd_op;
	sqe->user_data = idx;
	memset(&req, 0, sizeof(req));
	req.commit_id = commit_id;
	req.qid = ch->slots[idx].qid;
	memcpy((unsigned char *)sqe + FU_SQE_CMD_OFFSET, &req, sizeof(req));
}

static int queue_register(struct channel *ch, unsigned idx)
{
	struct io_uring_sqe *sqe = get_sqe(ch);
	if (!sqe) return -EAGAIN;
	prep_cmd(ch, sqe, idx, FUSE_IO_URING_CMD_REGISTER, 0);
	sqe->addr = (uint64_t)(uintptr_t)ch->ring_iov[idx];
	sqe->len = 2;
	ch->slots[idx].state = ST_KERNEL;
	ch->slots[idx].last_cmd = FUSE_IO_URING_CMD_REGISTER;
	return 0;
}

/* ---- ring completions ---------------------------------------------------- */

/* Returns -1 if the channel got closed (by JavaScript, while events were delivered). */
static int handle_ring_cqe(struct channel *ch, const struct fu_cqe *c)
{
	if (c->user_data >= ch->nring) return 0; /* not one of ours */
	unsigned idx = (unsigned)c->user_data;
	struct slot *s = &ch->slots[idx];
	int res = c->res;

	if (res >= 0) {
		s->state = ST_USER;
		return push_event(ch, (int32_t)idx, 0);
	}
	if (res == -EAGAIN && s->last_cmd == FUSE_IO_URING_CMD_REGISTER && s->retries < REGISTER_RETRIES) {
		/* the connection was not initialized yet (REGISTER before the INIT reply): try again */
		s->retries++;
		if (queue_register(ch, idx) == 0) return 0;
	}
	if (res == -ENOTCONN || res == -ECONNABORTED || s->last_cmd == FUSE_IO_URING_CMD_REGISTER)
		s->state = ST_DEAD;
	else
		s->state = ST_USER; /* e.g. -ENOENT for a wrong commit_id: the entry still holds its request */
	return push_event(ch, (int32_t)idx, res);
}

/* Reaps every CQE. Returns the number reaped, or -1 if the channel got closed meanwhile. */
static int reap_ring(struct channel *ch)
{
	struct fu_cqe c;
	int n = 0;
	while (ch->has_ring && !ch->closed && fu_ring_pop_cqe(&ch->ring, &c)) {
		ch->st.cqes++;
		n++;
		if (handle_ring_cqe(ch, &c)) return -1;
	}
	return ch->closed ? -1 : n;
}

/* ---- uv callbacks -------------------------------------------------------- */

static void on_ring_poll(uv_poll_t *h, int status, int events)
{
	struct channel *ch = h->data;
	napi_handle_scope scope;

	if (ch->closed) return;
	if (napi_open_handle_scope(ch->env, &scope) != napi_ok) return;
	begin_dispatch(ch);
	if (status < 0) {
		uv_poll_stop(h);
		push_event(ch, -1, status);
		goto out;
	}
	for (int round = 0; round < MAX_POLL_ROUNDS && !ch->closed; round++) {
		if (round == 0 && (ch->ring.flags & IORING_SETUP_COOP_TASKRUN) && fu_ring_taskrun_needed(&ch->ring)) {
			/* COOP_TASKRUN: the completions are posted by task_work that only runs when we enter the
			 * kernel (doc §5.1); the wake-up itself does not run it */
			ch->enters_ul++;
			fu_ring_enter(&ch->ring, 0, 0, IORING_ENTER_GETEVENTS);
			sync_enters(ch);
		}
		if (reap_ring(ch) < 0) goto out;
		if (ch->ev_count && deliver(ch)) goto out;
		flush_sq(ch);
		if (ch->closed || !fu_ring_cq_ready(&ch->ring)) break;
	}
out:
	end_dispatch(ch);
	if (!ch->closed) flush_sq(ch);
	napi_close_handle_scope(ch->env, scope);
}

static void stop_dev_poll(struct channel *ch)
{
	if (ch->dev_poll_active) {
		uv_poll_stop(&ch->dev_poll);
		ch->dev_poll_active = 0;
	}
}

static void on_dev_poll(uv_poll_t *h, int status, int events);

static void start_dev_poll(struct channel *ch)
{
	if (ch->dev_poll_init && !ch->dev_poll_active && !ch->dev_dead && !ch->closed && ch->dev_free != NO_SLOT) {
		int r = uv_poll_start(&ch->dev_poll, UV_READABLE, on_dev_poll);
		if (r == 0) ch->dev_poll_active = 1;
	}
}

static void dev_failed(struct channel *ch, int res)
{
	ch->dev_dead = 1;
	stop_dev_poll(ch);
	push_event(ch, -1, res);
}

static void free_dev_slot(struct channel *ch, unsigned idx)
{
	struct slot *s = &ch->slots[idx];
	if (s->state != ST_USER) return;
	s->state = ST_KERNEL;
	s->next_free = ch->dev_free;
	ch->dev_free = idx;
	start_dev_poll(ch);
}

/* Reads requests into free dev slots. Returns the number read. */
static int read_dev(struct channel *ch)
{
	int reads = 0, retries = 0;
	while (reads < MAX_DEV_READS && !ch->closed && !ch->dev_dead && ch->dev_free != NO_SLOT) {
		unsigned idx = ch->dev_free;
		struct slot *s = &ch->slots[idx];
		struct iovec iov[2] = { { s->header, FU_IN_HEADER_SIZE }, { s->payload, s->payload_len } };
		ssize_t n = readv(ch->fd, iov, 2);
		if (n > 0) {
			ch->dev_free = s->next_free;
			s->next_free = NO_SLOT;
			s->state = ST_USER;
			ch->st.dev_reads++;
			reads++;
			if (push_event(ch, (int32_t)idx, (int32_t)n)) return reads;
			continue;
		}
		int err = n == 0 ? EIO : errno;
		if (err == EAGAIN) break;
		if ((err == EINTR || err == ENOENT) && ++retries <= MAX_DEV_RETRIES) continue;
		if (err == EINTR || err == ENOENT) break; /* keep polling; try again next turn */
		dev_failed(ch, -err);
		return reads;
	}
	if (!ch->closed && ch->dev_free == NO_SLOT) stop_dev_poll(ch); /* restarted when a slot is freed */
	return reads;
}

static void on_dev_poll(uv_poll_t *h, int status, int events)
{
	struct channel *ch = h->data;
	napi_handle_scope scope;

	if (ch->closed) return;
	if (napi_open_handle_scope(ch->env, &scope) != napi_ok) return;
	begin_dispatch(ch);
	if (status < 0) {
		/* libuv turns POLLERR (what /dev/fuse reports once the connection is gone) into UV_EBADF and
		 * stops the handle: a read tells the real reason (ENODEV, ECONNABORTED) */
		stop_dev_poll(ch);
		int got = read_dev(ch);
		if (!ch->closed && !ch->dev_dead) {
			if (got > 0)
				start_dev_poll(ch);
			else if (ch->dev_free != NO_SLOT)
				dev_failed(ch, status);
			/* else no slot to read into: the poll restarts (and fails again) when one is freed */
		}
	} else {
		read_dev(ch);
	}
	end_dispatch(ch);
	if (!ch->closed) flush_sq(ch);
	napi_close_handle_scope(ch->env, scope);
}

static void on_prepare(uv_prepare_t *h)
{
	struct channel *ch = h->data;

	if (ch->closed) return;
	if (ch->npending && ch->cb_ref) {
		napi_handle_scope scope;
		if (napi_open_handle_scope(ch->env, &scope) == napi_ok) {
			begin_dispatch(ch);
			end_dispatch(ch);
			napi_close_handle_scope(ch->env, scope);
		}
		if (ch->closed) return;
	}
	if (ch->has_ring && fu_ring_sq_pending(&ch->ring)) flush_sq(ch);
	if (ch->closed) return;
	if (!ch->npending && !(ch->has_ring && fu_ring_sq_pending(&ch->ring) && !(ch->ring.flags & IORING_SETUP_SQPOLL))) {
		uv_prepare_stop(&ch->prepare);
		ch->prepare_active = 0;
	}
}

/* ---- exported functions -------------------------------------------------- */

napi_value fu_channel_create(napi_env env, napi_callback_info info)
{
	napi_value argv[1], ext;
	int32_t fd;

	if (fu_args(env, info, 1, argv, "channelCreate") || fu_get_int32(env, argv[0], "fd", &fd)) return NULL;
	if (fd < 0) {
		fu_throw_range_error(env, "channelCreate: fd must be >= 0 (got %d)", fd);
		return NULL;
	}
	struct channel *ch = calloc(1, sizeof(*ch));
	if (!ch) {
		fu_throw_errno(env, "calloc", ENOMEM);
		return NULL;
	}
	ch->magic = CHANNEL_MAGIC;
	ch->env = env;
	ch->fd = fd;
	ch->ring.fd = -1;
	ch->dev_free = NO_SLOT;
	napi_status s = napi_create_external(env, ch, on_finalize, NULL, &ext);
	if (s != napi_ok) {
		free(ch);
		fu_napi_failed(env, s, "napi_create_external");
		return NULL;
	}
	/* at env teardown (worker exit) the uv handles must be closed before the loop is */
	if (napi_add_async_cleanup_hook(env, on_env_cleanup, ch, &ch->cleanup_hook) != napi_ok) ch->cleanup_hook = NULL;
	return ext;
}

static int ring_setup_failed(napi_env env, unsigned idx, unsigned qid, int err)
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
	napi_value argv[6];
	struct channel *ch;
	uint32_t queues, depth, extra;
	void *hdr_data;
	size_t hdr_len;
	bool is_array;
	uint32_t npayloads;

	if (fu_args(env, info, 6, argv, "channelSetupRing") || !(ch = get_channel(env, argv[0])) ||
	    fu_get_uint32(env, argv[1], "queues", &queues) || fu_get_uint32(env, argv[2], "depth", &depth) ||
	    fu_get_bytes(env, argv[3], "headers", &hdr_data, &hdr_len) || fu_get_uint32(env, argv[5], "extraFlags", &extra))
		return NULL;
	if (ch->closed) {
		fu_throw_error(env, "EBADF", EBADF, "channelSetupRing: the channel is closed");
		return NULL;
	}
	if (ch->has_ring || ch->nring) {
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
		napi_value p;
		void *data;
		size_t len;
		char name[48];
		snprintf(name, sizeof(name), "payloads[%u]", s);
		if (napi_get_element(env, argv[4], s, &p) != napi_ok) {
			fu_napi_failed(env, napi_generic_failure, "napi_get_element");
			goto fail_refs;
		}
		if (fu_get_bytes(env, p, name, &data, &len)) goto fail_refs;
		if (!len || !data) {
			fu_throw_range_error(env, "channelSetupRing: %s is empty", name);
			goto fail_refs;
		}
		if (keep_ref(ch, p)) goto fail_refs;
		struct slot *sl = &ch->slots[s];
		memset(sl, 0, sizeof(*sl));
		sl->header = (unsigned char *)hdr_data + (size_t)s * FU_HEADER_STRIDE;
		sl->payload = data;
		sl->payload_len = len;
		sl->qid = (uint16_t)(s / depth);
		sl->kind = KIND_RING;
		sl->state = ST_DEAD; /* until its REGISTER is queued */
		sl->next_free = NO_SLOT;
		iov[s][0].iov_base = sl->header;
		iov[s][0].iov_len = FU_URING_HEADER_SIZE;
		iov[s][1].iov_base = sl->payload;
		iov[s][1].iov_len = len;
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
				sl->state = ST_USER;
				append_pending(ch, (int32_t)idx, 0);
			} else if (c.res == -EAGAIN && sl->last_cmd == FUSE_IO_URING_CMD_REGISTER && sl->retries < REGISTER_RETRIES) {
				sl->retries++;
				if (queue_register(ch, idx) == 0) resubmit = 1;
			} else {
				sl->state = ST_DEAD;
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
	return js_undefined(env);

fail_refs:
	while (ch->nrefs > refs_before) napi_delete_reference(env, ch->refs[--ch->nrefs]);
	free(iov);
	return NULL;
}

napi_value fu_channel_add_dev_slots(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	struct channel *ch;
	void *hdr_data;
	size_t hdr_len;
	bool is_array;
	uint32_t n;

	if (fu_args(env, info, 3, argv, "channelAddDevSlots") || !(ch = get_channel(env, argv[0])) ||
	    fu_get_bytes(env, argv[1], "headers", &hdr_data, &hdr_len))
		return NULL;
	if (ch->closed) {
		fu_throw_error(env, "EBADF", EBADF, "channelAddDevSlots: the channel is closed");
		return NULL;
	}
	if (napi_is_array(env, argv[2], &is_array) != napi_ok || !is_array) {
		fu_throw_type_error(env, "channelAddDevSlots: payloads must be an array of ArrayBuffers");
		return NULL;
	}
	if (napi_get_array_length(env, argv[2], &n) != napi_ok) return NULL;
	if (n < 1 || n > 65536) {
		fu_throw_range_error(env, "channelAddDevSlots: 1 to 65536 payloads expected (got %u)", n);
		return NULL;
	}
	if (hdr_len < (size_t)n * FU_HEADER_STRIDE) {
		fu_throw_range_error(env, "channelAddDevSlots: headers has %zu bytes, %u slots need %zu", hdr_len, n,
				     (size_t)n * FU_HEADER_STRIDE);
		return NULL;
	}
	if (grow_slots(ch, n)) {
		fu_throw_errno(env, "channelAddDevSlots", ENOMEM);
		return NULL;
	}
	unsigned refs_before = ch->nrefs, first = ch->nslots;
	if (keep_ref(ch, argv[1])) goto fail;
	for (uint32_t i = 0; i < n; i++) {
		napi_value p;
		void *data;
		size_t len;
		char name[48];
		snprintf(name, sizeof(name), "payloads[%u]", i);
		if (napi_get_element(env, argv[2], i, &p) != napi_ok) {
			fu_napi_failed(env, napi_generic_failure, "napi_get_element");
			goto fail;
		}
		if (fu_get_bytes(env, p, name, &data, &len)) goto fail;
		if (!len || !data) {
			fu_throw_range_error(env, "channelAddDevSlots: %s is empty", name);
			goto fail;
		}
		if (keep_ref(ch, p)) goto fail;
		struct slot *sl = &ch->slots[first + i];
		memset(sl, 0, sizeof(*sl));
		sl->header = (unsigned char *)hdr_data + (size_t)i * FU_HEADER_STRIDE;
		sl->payload = data;
		sl->payload_len = len;
		sl->kind = KIND_DEV;
		sl->state = ST_USER; /* made free just below */
		sl->next_free = NO_SLOT;
	}
	ch->nslots = first + n;
	ch->ndev += n;
	/* free list in index order: the lowest slot is read into first */
	for (uint32_t i = n; i-- > 0;) {
		struct slot *sl = &ch->slots[first + i];
		sl->state = ST_KERNEL;
		sl->next_free = ch->dev_free;
		ch->dev_free = first + i;
	}
	if (ch->started && !ch->dev_poll_init) {
		int fl = fcntl(ch->fd, F_GETFL);
		if (fl >= 0 && !(fl & O_NONBLOCK)) fcntl(ch->fd, F_SETFL, fl | O_NONBLOCK);
		int r = uv_poll_init(ch->loop, &ch->dev_poll, ch->fd);
		if (r < 0) {
			fu_throw_error(env, uv_err_name(r), -r, "uv_poll_init(/dev/fuse): %s", uv_strerror(r));
			return NULL; /* the slots stay (never read) */
		}
		ch->dev_poll.data = ch;
		ch->dev_poll_init = 1;
		ch->handles_open++;
	}
	start_dev_poll(ch);
	return js_int(env, first);

fail:
	while (ch->nrefs > refs_before) napi_delete_reference(env, ch->refs[--ch->nrefs]);
	return NULL;
}

napi_value fu_channel_start(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	struct channel *ch;
	bool is_ta;
	napi_valuetype t;
	napi_typedarray_type type;
	size_t length;
	void *data;
	napi_value ab, name;
	size_t offset;
	int r;

	if (fu_args(env, info, 3, argv, "channelStart") || !(ch = get_channel(env, argv[0]))) return NULL;
	if (ch->closed) {
		fu_throw_error(env, "EBADF", EBADF, "channelStart: the channel is closed");
		return NULL;
	}
	if (ch->started) {
		fu_throw_error(env, "EALREADY", EALREADY, "channelStart: already started");
		return NULL;
	}
	if (napi_is_typedarray(env, argv[1], &is_ta) != napi_ok || !is_ta ||
	    napi_get_typedarray_info(env, argv[1], &type, &length, &data, &ab, &offset) != napi_ok || type != napi_int32_array) {
		fu_throw_type_error(env, "channelStart: events must be an Int32Array");
		return NULL;
	}
	if (length < 2) {
		fu_throw_range_error(env, "channelStart: events must hold at least one (slot, res) pair");
		return NULL;
	}
	if (napi_typeof(env, argv[2], &t) != napi_ok || t != napi_function) {
		fu_throw_type_error(env, "channelStart: onEvents must be a function");
		return NULL;
	}
	FU_NAPI_V(env, napi_get_uv_event_loop(env, &ch->loop));
	if (!ch->async_ctx) {
		FU_NAPI_V(env, napi_create_string_utf8(env, "FuseUringChannel", NAPI_AUTO_LENGTH, &name));
		FU_NAPI_V(env, napi_async_init(env, NULL, name, &ch->async_ctx));
	}
	if (!ch->events_ref) FU_NAPI_V(env, napi_create_reference(env, argv[1], 1, &ch->events_ref));
	if (!ch->cb_ref) FU_NAPI_V(env, napi_create_reference(env, argv[2], 1, &ch->cb_ref));

	if (ch->has_ring && !ch->ring_poll_init) {
		r = uv_poll_init(ch->loop, &ch->ring_poll, ch->ring.fd);
		if (r < 0) {
			fu_throw_error(env, uv_err_name(r), -r, "uv_poll_init(io_uring fd): %s", uv_strerror(r));
			return NULL;
		}
		ch->ring_poll.data = ch;
		ch->ring_poll_init = 1;
		ch->handles_open++;
	}
	if (ch->ndev && !ch->dev_poll_init) {
		int fl = fcntl(ch->fd, F_GETFL);
		if (fl < 0 || (!(fl & O_NONBLOCK) && fcntl(ch->fd, F_SETFL, fl | O_NONBLOCK) < 0)) {
			fu_throw_errno(env, "fcntl(/dev/fuse, O_NONBLOCK)", errno);
			return NULL;
		}
		r = uv_poll_init(ch->loop, &ch->dev_poll, ch->fd);
		if (r < 0) {
			fu_throw_error(env, uv_err_name(r), -r, "uv_poll_init(/dev/fuse): %s", uv_strerror(r));
			return NULL;
		}
		ch->dev_poll.data = ch;
		ch->dev_poll_init = 1;
		ch->handles_open++;
	}
	if (!ch->prepare_init) {
		r = uv_prepare_init(ch->loop, &ch->prepare);
		if (r < 0) {
			fu_throw_error(env, uv_err_name(r), -r, "uv_prepare_init: %s", uv_strerror(r));
			return NULL;
		}
		ch->prepare.data = ch;
		ch->prepare_init = 1;
		ch->handles_open++;
		uv_unref((uv_handle_t *)&ch->prepare); /* it never keeps the loop alive by itself */
	}
	if (ch->ring_poll_init) {
		r = uv_poll_start(&ch->ring_poll, UV_READABLE, on_ring_poll);
		if (r < 0) {
			fu_throw_error(env, uv_err_name(r), -r, "uv_poll_start(io_uring fd): %s", uv_strerror(r));
			return NULL;
		}
	}
	/* a started channel is a GC root (like an active socket) until channelClose */
	FU_NAPI_V(env, napi_create_reference(env, argv[0], 1, &ch->self_ref));
	ch->started = 1;
	start_dev_poll(ch);

	/* CQEs that are already there (requests that arrived since channelSetupRing) */
	if (ch->has_ring) {
		struct fu_cqe c;
		while (fu_ring_pop_cqe(&ch->ring, &c)) {
			ch->st.cqes++;
			handle_ring_cqe(ch, &c); /* ch->ev is NULL: collected as pending */
		}
	}
	unsigned cap = (unsigned)(length / 2 > UINT32_MAX ? UINT32_MAX : length / 2);
	unsigned n = ch->npending < cap ? ch->npending : cap;
	if (n) {
		memcpy(data, ch->pending, (size_t)n * 2 * sizeof(int32_t));
		memmove(ch->pending, ch->pending + 2 * n, (size_t)(ch->npending - n) * 2 * sizeof(int32_t));
		ch->npending -= n;
	}
	if (ch->npending) kick_prepare(ch); /* the rest is delivered through onEvents */
	flush_sq(ch);                       /* REGISTER retries queued above */
	return js_int(env, n);
}

static int get_slot(napi_env env, struct channel *ch, napi_value v, const char *fn, unsigned *out)
{
	int32_t slot;
	if (fu_get_int32(env, v, "slot", &slot)) return -1;
	if (slot < 0 || (unsigned)slot >= ch->nslots)
		return fu_throw_range_error(env, "%s: slot %d out of range [0, %u)", fn, slot, ch->nslots);
	*out = (unsigned)slot;
	return 0;
}

static int commit_ring(struct channel *ch, unsigned idx)
{
	struct slot *s = &ch->slots[idx];
	uint64_t commit_id;

	if (s->state == ST_DEAD) return 0; /* torn down: nothing to commit to */
	if (s->state != ST_USER) return -EINVAL; /* the kernel owns it: no request to answer */
	struct io_uring_sqe *sqe = get_sqe(ch);
	if (!sqe) return -EAGAIN;
	memcpy(&commit_id, s->header + FU_URING_COMMIT_ID_OFFSET, sizeof(commit_id));
	prep_cmd(ch, sqe, idx, FUSE_IO_URING_CMD_COMMIT_AND_FETCH, commit_id);
	s->state = ST_KERNEL;
	s->last_cmd = FUSE_IO_URING_CMD_COMMIT_AND_FETCH;
	if (ch->dispatch_depth > 0) return 0; /* the dispatch flushes when JavaScript returns */
	if (ch->started) kick_prepare(ch);
	else flush_sq(ch);
	return 0;
}

static int commit_dev(struct channel *ch, unsigned idx)
{
	struct slot *s = &ch->slots[idx];
	uint32_t outlen;
	int ret;

	if (s->state != ST_USER) return -EINVAL; /* free: there is no request to answer */
	memcpy(&outlen, s->header, sizeof(outlen));
	if (outlen < FU_OUT_HEADER_SIZE || outlen - FU_OUT_HEADER_SIZE > s->payload_len) {
		ret = -EINVAL;
	} else {
		struct iovec iov[2] = { { s->header, FU_OUT_HEADER_SIZE }, { s->payload, outlen - FU_OUT_HEADER_SIZE } };
		ssize_t n;
		do n = writev(ch->fd, iov, outlen > FU_OUT_HEADER_SIZE ? 2 : 1);
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			ret = -errno; /* ENOENT: the request was interrupted or aborted meanwhile */
		} else {
			ret = 0;
			ch->st.dev_writes++;
		}
	}
	free_dev_slot(ch, idx); /* whatever happened, the slot reads again */
	return ret;
}

napi_value fu_commit(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	struct channel *ch;
	unsigned idx = 0;

	if (fu_args(env, info, 2, argv, "commit") || !(ch = get_channel(env, argv[0]))) return NULL;
	if (ch->closed) return js_int(env, 0); /* after channelClose: a no-op (the fd may be gone) */
	if (get_slot(env, ch, argv[1], "commit", &idx)) return NULL;
	int r = ch->slots[idx].kind == KIND_RING ? commit_ring(ch, idx) : commit_dev(ch, idx);
	return js_int(env, r);
}

napi_value fu_release(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	struct channel *ch;
	unsigned idx = 0;

	if (fu_args(env, info, 2, argv, "release") || !(ch = get_channel(env, argv[0]))) return NULL;
	if (ch->closed) return js_undefined(env);
	if (get_slot(env, ch, argv[1], "release", &idx)) return NULL;
	if (ch->slots[idx].kind != KIND_DEV) {
		fu_throw_error(env, "EINVAL", EINVAL, "release: slot %u is a ring slot (ring slots are given back with commit)", idx);
		return NULL;
	}
	free_dev_slot(ch, idx);
	return js_undefined(env);
}

napi_value fu_flush(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	struct channel *ch;

	if (fu_args(env, info, 1, argv, "flush") || !(ch = get_channel(env, argv[0]))) return NULL;
	int r = flush_sq(ch);
	if (r < 0 && r != -EAGAIN && r != -EBUSY) {
		fu_throw_errno(env, "io_uring_enter", -r);
		return NULL;
	}
	return js_undefined(env);
}

napi_value fu_stats(napi_env env, napi_callback_info info)
{
	napi_value argv[1], obj, v;
	struct channel *ch;

	if (fu_args(env, info, 1, argv, "stats") || !(ch = get_channel(env, argv[0]))) return NULL;
	sync_enters(ch);
	const struct { const char *name; double value; } fields[] = {
		{ "enters", ch->st.enters },       { "sqes", ch->st.sqes },
		{ "cqes", ch->st.cqes },           { "devReads", ch->st.dev_reads },
		{ "devWrites", ch->st.dev_writes }, { "callbacks", ch->st.callbacks },
		{ "ringFd", ch->has_ring ? (double)ch->ring.fd : -1.0 },
	};
	if (napi_create_object(env, &obj) != napi_ok) {
		fu_napi_failed(env, napi_generic_failure, "napi_create_object");
		return NULL;
	}
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (napi_create_double(env, fields[i].value, &v) != napi_ok ||
		    napi_set_named_property(env, obj, fields[i].name, v) != napi_ok) {
			fu_napi_failed(env, napi_generic_failure, "stats");
			return NULL;
		}
	}
	return obj;
}

napi_value fu_channel_close(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	struct channel *ch;

	if (fu_args(env, info, 1, argv, "channelClose") || !(ch = get_channel(env, argv[0]))) return NULL;
	close_channel(ch);
	maybe_free(ch); /* only removes the cleanup hook: the external still points at ch */
	return js_undefined(env);
}
