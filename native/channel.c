/* The channel object: lifetime, event delivery to JavaScript, the uv_prepare flush, the generic entry points. */
#include "channel.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define CHANNEL_MAGIC 0x4655434eu   /* "FUCN" */

/* ---- small helpers ------------------------------------------------------ */

struct channel *get_channel(napi_env env, napi_value v)
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

int keep_ref(struct channel *ch, napi_value v)
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

/* Pins payloads[i] (kept alive for the kernel until channelClose) and resets slot `idx` over it
 * and its header; the caller sets the kind-specific fields. */
int init_slot(napi_env env, struct channel *ch, napi_value payloads, uint32_t i, unsigned idx,
	      void *headers, unsigned header_idx, const char *fn)
{
	napi_value p;
	void *data;
	size_t len;
	char name[48];
	snprintf(name, sizeof(name), "payloads[%u]", i);
	if (napi_get_element(env, payloads, i, &p) != napi_ok) {
		fu_napi_failed(env, napi_generic_failure, "napi_get_element");
		return -1;
	}
	if (fu_get_bytes(env, p, name, &data, &len)) return -1;
	if (!len || !data) {
		fu_throw_range_error(env, "%s: %s is empty", fn, name);
		return -1;
	}
	if (keep_ref(ch, p)) return -1;
	struct slot *sl = &ch->slots[idx];
	memset(sl, 0, sizeof(*sl));
	sl->header = (unsigned char *)headers + (size_t)header_idx * FU_HEADER_STRIDE;
	sl->payload = data;
	sl->payload_len = len;
	sl->next_free = NO_SLOT;
	return 0;
}

int grow_slots(struct channel *ch, unsigned more)
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
	qt_free(ch);
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
	if (ch->qt_poll_init) {
		uv_poll_stop(&ch->qt_poll);
		uv_close((uv_handle_t *)&ch->qt_poll, on_handle_closed);
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
	if (queue_threads_on(ch)) qt_stop(ch);
	follow_stop(ch);
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

int append_pending(struct channel *ch, int32_t slot, int32_t res)
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
int deliver(struct channel *ch)
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
int push_event(struct channel *ch, int32_t slot, int32_t res)
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

void begin_dispatch(struct channel *ch)
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

void end_dispatch(struct channel *ch)
{
	if (!ch->closed && ch->ev_count) deliver(ch);
	ch->ev = NULL;
	ch->ev_count = 0;
	ch->dispatch_depth--;
	if (ch->closed) release_js(ch);
}

/* ---- uv_prepare flush ---------------------------------------------------- */

static void on_prepare(uv_prepare_t *h);

/* Makes sure queued work (SQEs, pending events) is handled before the loop blocks again. */
void kick_prepare(struct channel *ch)
{
	if (ch->prepare_init && !ch->prepare_active && !ch->closed && uv_prepare_start(&ch->prepare, on_prepare) == 0)
		ch->prepare_active = 1;
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
	if ((ch->has_ring && fu_ring_sq_pending(&ch->ring)) || queue_threads_on(ch)) flush_sq(ch);
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
	ch->qt_efd = -1;
	follow_init(ch, 0, NULL);
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

static int get_slot(napi_env env, struct channel *ch, napi_value v, const char *fn, unsigned *out)
{
	int32_t slot;
	if (fu_get_int32(env, v, "slot", &slot)) return -1;
	if (slot < 0 || (unsigned)slot >= ch->nslots)
		return fu_throw_range_error(env, "%s: slot %d out of range [0, %u)", fn, slot, ch->nslots);
	*out = (unsigned)slot;
	return 0;
}

napi_value fu_commit(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	struct channel *ch;
	unsigned idx = 0;

	if (fu_args(env, info, 2, argv, "commit") || !(ch = get_channel(env, argv[0]))) return NULL;
	if (ch->closed) return js_int(env, 0); /* after channelClose: a no-op (the fd may be gone) */
	if (get_slot(env, ch, argv[1], "commit", &idx)) return NULL;
	struct slot *s = &ch->slots[idx];
	int r = s->kind != KIND_RING ? commit_dev(ch, idx) : answer_by_qt(ch, s) ? qt_commit(ch, idx) : commit_ring(ch, idx);
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
	struct qt_totals q;
	qt_stats(ch, &q);
	const struct { const char *name; double value; } fields[] = {
		{ "enters", ch->st.enters + q.enters }, { "sqes", ch->st.sqes + q.sqes },
		{ "cqes", ch->st.cqes }, { "devReads", ch->st.dev_reads },
		{ "devWrites", ch->st.dev_writes }, { "callbacks", ch->st.callbacks },
		{ "wakeups", ch->st.wakeups },    { "spins", ch->st.spins },
		{ "spinHits", ch->st.spin_hits }, { "spinMicros", ch->st.spin_ns / 1000.0 },
		{ "localRequests", ch->st.local_reqs }, { "slices", ch->st.slices },
		{ "ringFd", ch->has_ring ? (double)ch->ring.fd : (double)qt_ring_fd(ch) },
		{ "queueThreads", (double)ch->nqt }, { "queueSpins", q.spins }, { "queueSpinHits", q.spin_hits },
		{ "queueSleeps", q.sleeps }, { "queueWakes", q.wakes }, { "loopWakes", q.js_wakes },
		{ "stepAsides", ch->st.step_asides }, { "queueWidenings", q.widenings },
		{ "follows", ch->st.follows }, { "unfollows", ch->st.unfollows }, { "followStarved", ch->st.follow_starved },
		{ "following", ch->fl.cpu }, { "threaded", (double)ch->threaded }, { "toThreads", ch->st.to_threads },
		{ "toLoop", ch->st.to_loop }, { "switchStarved", ch->st.switch_starved },
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

/*
 * adviseHuge(buffer): madvise(MADV_HUGEPAGE) on the 2 MiB-aligned part of a buffer not yet
 * touched, and the offset of its first 2 MiB boundary. The kernel pins a payload buffer's pages
 * for every request it copies in or out (gup_fast): one huge page instead of 512 small ones.
 */
napi_value fu_advise_huge(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	void *data;
	size_t len;
	if (fu_args(env, info, 1, argv, "adviseHuge") || fu_get_bytes(env, argv[0], "buffer", &data, &len)) return NULL;
	const uintptr_t huge = 2u << 20;
	uintptr_t start = ((uintptr_t)data + huge - 1) & ~(huge - 1);
	uintptr_t end = ((uintptr_t)data + len) & ~(huge - 1);
	if (end > start) (void)madvise((void *)start, end - start, MADV_HUGEPAGE);
	napi_value out;
	if (napi_create_int64(env, (int64_t)(start - (uintptr_t)data), &out) != napi_ok) return NULL;
	return out;
}
