/* channelStart: attaching a channel to the env's loop and handing over the events collected until then. */
#include "channel.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>

static int init_poll(napi_env env, struct channel *ch, uv_poll_t *h, int *done, int fd, const char *what)
{
	if (*done) return 0;
	int r = uv_poll_init(ch->loop, h, fd);
	if (r < 0) return fu_throw_error(env, uv_err_name(r), -r, "uv_poll_init(%s): %s", what, uv_strerror(r));
	h->data = ch;
	*done = 1;
	ch->handles_open++;
	return 0;
}

static int start_poll(napi_env env, uv_poll_t *h, const char *what)
{
	int r = uv_poll_start(h, UV_READABLE, on_ring_poll);
	return r < 0 ? fu_throw_error(env, uv_err_name(r), -r, "uv_poll_start(%s): %s", what, uv_strerror(r)) : 0;
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

	/* queue threads alone: their eventfd stands for the ring; serving "auto": it is polled next to the ring */
	if ((ch->has_ring || queue_threads_on(ch)) &&
	    init_poll(env, ch, &ch->ring_poll, &ch->ring_poll_init, ch->has_ring ? ch->ring.fd : ch->qt_efd, "io_uring fd"))
		return NULL;
	if (ch->has_ring && queue_threads_on(ch) && init_poll(env, ch, &ch->qt_poll, &ch->qt_poll_init, ch->qt_efd, "queue threads' eventfd"))
		return NULL;
	if (ch->ndev && !ch->dev_poll_init) {
		int fl = fcntl(ch->fd, F_GETFL);
		if (fl < 0 || (!(fl & O_NONBLOCK) && fcntl(ch->fd, F_SETFL, fl | O_NONBLOCK) < 0)) {
			fu_throw_errno(env, "fcntl(/dev/fuse, O_NONBLOCK)", errno);
			return NULL;
		}
		if (init_poll(env, ch, &ch->dev_poll, &ch->dev_poll_init, ch->fd, "/dev/fuse")) return NULL;
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
	if ((ch->ring_poll_init && start_poll(env, &ch->ring_poll, "io_uring fd")) ||
	    (ch->qt_poll_init && start_poll(env, &ch->qt_poll, "queue threads' eventfd")))
		return NULL;
	/* a started channel is a GC root (like an active socket) until channelClose */
	FU_NAPI_V(env, napi_create_reference(env, argv[0], 1, &ch->self_ref));
	ch->started = 1;
	start_dev_poll(ch);

	/* CQEs that are already there (requests that arrived since channelSetupRing) */
	if (queue_threads_on(ch)) qt_reap(ch); /* ch->ev is NULL: collected as pending */
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
