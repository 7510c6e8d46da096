/* /dev/fuse slots: adding them, the /dev/fuse uv_poll, readv of requests, writev of replies. */
#include "channel.h"
#include "fuse_abi.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define MAX_DEV_READS 64            /* readv(/dev/fuse) per wake-up */
#define MAX_DEV_RETRIES 64          /* EINTR/ENOENT retries per wake-up */

/* ---- uv callbacks -------------------------------------------------------- */

static void stop_dev_poll(struct channel *ch)
{
	if (ch->dev_poll_active) {
		uv_poll_stop(&ch->dev_poll);
		ch->dev_poll_active = 0;
	}
}

static void on_dev_poll(uv_poll_t *h, int status, int events);

void start_dev_poll(struct channel *ch)
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

void free_dev_slot(struct channel *ch, unsigned idx)
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

/* ---- setup --------------------------------------------------------------- */

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
		if (init_slot(env, ch, argv[2], i, first + i, hdr_data, i, "channelAddDevSlots")) goto fail;
		struct slot *sl = &ch->slots[first + i];
		sl->kind = KIND_DEV;
		sl->state = ST_USER; /* made free just below */
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

/* ---- commit -------------------------------------------------------------- */

int commit_dev(struct channel *ch, unsigned idx)
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
