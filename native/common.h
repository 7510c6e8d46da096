/* Shared declarations of the fuse-uring native addon (N-API, plain C).
 *
 * addon.c         module init, export table, error and argument helpers (this header)
 * mount.c         openDev/mount/umount/fusermount/readSync/writeSync/close/geteuid/getegid/reap
 * ring.c          raw io_uring (ring.h), no FUSE knowledge
 * channel.c       the FUSE channel (channel.h): lifetime, events, uv_prepare, generic entry points
 * channel_start.c channelStart
 * backing.c       FUSE_DEV_IOC_BACKING_OPEN/CLOSE (passthrough)
 * fsops.c         the *at() syscalls the mirror filesystem needs and Node lacks
 * uring_slots.c   ring slots and the ring uv_poll
 * dev_slots.c     /dev/fuse slots and the /dev/fuse uv_poll
 */
#ifndef FUSE_URING_COMMON_H
#define FUSE_URING_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stddef.h>
#include <stdint.h>
#include <node_api.h>

/* Bytes reserved per slot in a headers ArrayBuffer (the kernel uses the first 288). */
#define FU_HEADER_STRIDE 512

/* Every helper below returns 0 on success, or -1 with a JavaScript exception pending. */

/* Throws Error("<what>: <strerror(err)>") with .code = "E…", .errno = err (positive), .syscall = what. */
int fu_throw_errno(napi_env env, const char *what, int err);
/* Throws Error(message) with .code = code and, when err > 0, .errno = err. printf-style message. */
int fu_throw_error(napi_env env, const char *code, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int fu_throw_type_error(napi_env env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int fu_throw_range_error(napi_env env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* If a napi_* call failed: make sure an exception is pending (napi's own one, or a generic Error). */
int fu_napi_failed(napi_env env, napi_status status, const char *call);
/* Name of an errno value ("EPERM"), never NULL. */
const char *fu_errno_name(int err);

#define FU_NAPI(env, call)                                                        \
	do {                                                                      \
		napi_status fu_st_ = (call);                                      \
		if (fu_st_ != napi_ok) return fu_napi_failed((env), fu_st_, #call); \
	} while (0)
/* The same for functions returning a napi_value (NULL = exception pending). */
#define FU_NAPI_V(env, call)                                                      \
	do {                                                                      \
		napi_status fu_st_ = (call);                                      \
		if (fu_st_ != napi_ok) {                                          \
			fu_napi_failed((env), fu_st_, #call);                     \
			return NULL;                                              \
		}                                                                 \
	} while (0)

/* Fetches exactly `n` leading arguments (more are ignored; fewer throw a TypeError). */
int fu_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv, const char *fn);
int fu_get_int32(napi_env env, napi_value v, const char *name, int32_t *out);
int fu_get_uint32(napi_env env, napi_value v, const char *name, uint32_t *out);
int fu_get_int64(napi_env env, napi_value v, const char *name, int64_t *out);
int fu_get_bool(napi_env env, napi_value v, const char *name, int *out);
/* Returns a malloc'ed NUL-terminated UTF-8 copy (no embedded NULs allowed), or NULL with an exception. */
char *fu_get_string(napi_env env, napi_value v, const char *name);
/* Memory of an ArrayBuffer or of any ArrayBufferView (TypedArray, Buffer, DataView). */
int fu_get_bytes(napi_env env, napi_value v, const char *name, void **data, size_t *len);

/* mount.c */
napi_value fu_open_dev(napi_env env, napi_callback_info info);
napi_value fu_mount(napi_env env, napi_callback_info info);
napi_value fu_umount(napi_env env, napi_callback_info info);
napi_value fu_fusermount(napi_env env, napi_callback_info info);
napi_value fu_read_sync(napi_env env, napi_callback_info info);
napi_value fu_write_sync(napi_env env, napi_callback_info info);
napi_value fu_close(napi_env env, napi_callback_info info);
napi_value fu_geteuid(napi_env env, napi_callback_info info);
napi_value fu_advise_huge(napi_env env, napi_callback_info info);
napi_value fu_getegid(napi_env env, napi_callback_info info);
napi_value fu_reap(napi_env env, napi_callback_info info);

/* channel.c, channel_start.c, uring_slots.c, dev_slots.c */
napi_value fu_channel_create(napi_env env, napi_callback_info info);
napi_value fu_channel_setup_ring(napi_env env, napi_callback_info info);
napi_value fu_channel_set_serving(napi_env env, napi_callback_info info);
napi_value fu_channel_add_dev_slots(napi_env env, napi_callback_info info);
napi_value fu_channel_start(napi_env env, napi_callback_info info);
napi_value fu_commit(napi_env env, napi_callback_info info);
napi_value fu_release(napi_env env, napi_callback_info info);
napi_value fu_flush(napi_env env, napi_callback_info info);
napi_value fu_stats(napi_env env, napi_callback_info info);
napi_value fu_channel_close(napi_env env, napi_callback_info info);

#endif
