/* Module init, export table and the helpers shared by mount.c and the channel files. */
#include "common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *fu_errno_name(int err)
{
	const char *n = strerrorname_np(err); /* glibc >= 2.32 */
	return n ? n : "EUNKNOWN";
}

static int throw_with(napi_env env, const char *code, int err, const char *syscall, const char *msg)
{
	napi_value vmsg, vcode, error;
	bool pending = false;
	if (napi_is_exception_pending(env, &pending) == napi_ok && pending) return -1;
	if (napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &vmsg) != napi_ok ||
	    napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &vcode) != napi_ok ||
	    napi_create_error(env, vcode, vmsg, &error) != napi_ok) {
		napi_throw_error(env, code, msg);
		return -1;
	}
	if (err > 0) {
		napi_value verrno;
		if (napi_create_int32(env, err, &verrno) == napi_ok) napi_set_named_property(env, error, "errno", verrno);
	}
	if (syscall) {
		napi_value vsys;
		if (napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &vsys) == napi_ok)
			napi_set_named_property(env, error, "syscall", vsys);
	}
	napi_throw(env, error);
	return -1;
}

int fu_throw_errno(napi_env env, const char *what, int err)
{
	char msg[512];
	snprintf(msg, sizeof(msg), "%s: %s", what, strerror(err));
	return throw_with(env, fu_errno_name(err), err, what, msg);
}

int fu_throw_error(napi_env env, const char *code, int err, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return throw_with(env, code, err, NULL, msg);
}

int fu_throw_type_error(napi_env env, const char *fmt, ...)
{
	char msg[512];
	bool pending = false;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (napi_is_exception_pending(env, &pending) == napi_ok && pending) return -1;
	napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
	return -1;
}

int fu_throw_range_error(napi_env env, const char *fmt, ...)
{
	char msg[512];
	bool pending = false;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (napi_is_exception_pending(env, &pending) == napi_ok && pending) return -1;
	napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
	return -1;
}

int fu_napi_failed(napi_env env, napi_status status, const char *call)
{
	bool pending = false;
	if (napi_is_exception_pending(env, &pending) == napi_ok && pending) return -1;
	const napi_extended_error_info *info = NULL;
	const char *why = "unknown N-API error";
	if (napi_get_last_error_info(env, &info) == napi_ok && info && info->error_message) why = info->error_message;
	return fu_throw_error(env, "ERR_NAPI", 0, "fuse-uring native: %s failed (status %d): %s", call, (int)status, why);
}

int fu_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv, const char *fn)
{
	size_t argc = n;
	FU_NAPI(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (argc < n) return fu_throw_type_error(env, "%s: expected %zu arguments, got %zu", fn, n, argc);
	return 0;
}

static int expect_number(napi_env env, napi_value v, const char *name)
{
	napi_valuetype t;
	FU_NAPI(env, napi_typeof(env, v, &t));
	if (t != napi_number) return fu_throw_type_error(env, "%s must be a number", name);
	return 0;
}

/* A JavaScript number that is a whole number in [lo, hi]; `what` names the range in the error. */
static int get_whole(napi_env env, napi_value v, const char *name, double lo, double hi, const char *what, double *out)
{
	double d;
	if (expect_number(env, v, name)) return -1;
	FU_NAPI(env, napi_get_value_double(env, v, &d));
	if (!(d >= lo && d <= hi) || d != (double)(int64_t)d)
		return fu_throw_range_error(env, "%s must be %s (got %g)", name, what, d);
	*out = d;
	return 0;
}

int fu_get_int32(napi_env env, napi_value v, const char *name, int32_t *out)
{
	double d = 0;
	if (get_whole(env, v, name, -2147483648.0, 2147483647.0, "a 32-bit integer", &d)) return -1;
	*out = (int32_t)d;
	return 0;
}

int fu_get_uint32(napi_env env, napi_value v, const char *name, uint32_t *out)
{
	double d = 0;
	if (get_whole(env, v, name, 0, 4294967295.0, "an unsigned 32-bit integer", &d)) return -1;
	*out = (uint32_t)d;
	return 0;
}

int fu_get_int64(napi_env env, napi_value v, const char *name, int64_t *out)
{
	double d = 0;
	if (get_whole(env, v, name, -9007199254740991.0, 9007199254740991.0, "a safe integer", &d)) return -1;
	*out = (int64_t)d;
	return 0;
}

int fu_get_bool(napi_env env, napi_value v, const char *name, int *out)
{
	napi_valuetype t;
	bool b = false;
	FU_NAPI(env, napi_typeof(env, v, &t));
	if (t == napi_undefined || t == napi_null) {
		*out = 0;
		return 0;
	}
	if (t != napi_boolean) return fu_throw_type_error(env, "%s must be a boolean", name);
	FU_NAPI(env, napi_get_value_bool(env, v, &b));
	*out = b;
	return 0;
}

char *fu_get_string(napi_env env, napi_value v, const char *name)
{
	napi_valuetype t;
	size_t len = 0, got = 0;
	if (napi_typeof(env, v, &t) != napi_ok) {
		fu_napi_failed(env, napi_generic_failure, "napi_typeof");
		return NULL;
	}
	if (t != napi_string) {
		fu_throw_type_error(env, "%s must be a string", name);
		return NULL;
	}
	if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
		fu_napi_failed(env, napi_string_expected, "napi_get_value_string_utf8");
		return NULL;
	}
	char *s = malloc(len + 1);
	if (!s) {
		fu_throw_errno(env, "malloc", ENOMEM);
		return NULL;
	}
	if (napi_get_value_string_utf8(env, v, s, len + 1, &got) != napi_ok) {
		free(s);
		fu_napi_failed(env, napi_string_expected, "napi_get_value_string_utf8");
		return NULL;
	}
	if (strlen(s) != got) {
		free(s);
		fu_throw_type_error(env, "%s must not contain NUL characters", name);
		return NULL;
	}
	return s;
}

int fu_get_bytes(napi_env env, napi_value v, const char *name, void **data, size_t *len)
{
	bool is;
	FU_NAPI(env, napi_is_arraybuffer(env, v, &is));
	if (is) {
		FU_NAPI(env, napi_get_arraybuffer_info(env, v, data, len));
		return 0;
	}
	FU_NAPI(env, napi_is_typedarray(env, v, &is));
	if (is) {
		napi_typedarray_type type;
		size_t length, offset;
		napi_value ab;
		void *p = NULL;
		static const size_t elsize[] = {
			[napi_int8_array] = 1, [napi_uint8_array] = 1, [napi_uint8_clamped_array] = 1,
			[napi_int16_array] = 2, [napi_uint16_array] = 2, [napi_int32_array] = 4,
			[napi_uint32_array] = 4, [napi_float32_array] = 4, [napi_float64_array] = 8,
			[napi_bigint64_array] = 8, [napi_biguint64_array] = 8,
		};
		FU_NAPI(env, napi_get_typedarray_info(env, v, &type, &length, &p, &ab, &offset));
		size_t es = (unsigned)type < sizeof(elsize) / sizeof(elsize[0]) && elsize[type] ? elsize[type] : 1;
		*data = p;
		*len = length * es;
		return 0;
	}
	FU_NAPI(env, napi_is_dataview(env, v, &is));
	if (is) {
		napi_value ab;
		size_t offset;
		FU_NAPI(env, napi_get_dataview_info(env, v, len, data, &ab, &offset));
		return 0;
	}
	return fu_throw_type_error(env, "%s must be an ArrayBuffer or an ArrayBufferView", name);
}

/* backing.c */
napi_value fu_backing_open(napi_env env, napi_callback_info info);
napi_value fu_backing_close(napi_env env, napi_callback_info info);

/* fsops.c */
napi_value fu_fs_openat(napi_env env, napi_callback_info info);
napi_value fu_fs_statx(napi_env env, napi_callback_info info);
napi_value fu_fs_mkdirat(napi_env env, napi_callback_info info);
napi_value fu_fs_mknodat(napi_env env, napi_callback_info info);
napi_value fu_fs_symlinkat(napi_env env, napi_callback_info info);
napi_value fu_fs_linkat(napi_env env, napi_callback_info info);
napi_value fu_fs_renameat2(napi_env env, napi_callback_info info);
napi_value fu_fs_readlink(napi_env env, napi_callback_info info);
napi_value fu_fs_chown(napi_env env, napi_callback_info info);
napi_value fu_fs_chmod(napi_env env, napi_callback_info info);
napi_value fu_fs_utimens(napi_env env, napi_callback_info info);
napi_value fu_fs_getxattr(napi_env env, napi_callback_info info);
napi_value fu_fs_listxattr(napi_env env, napi_callback_info info);
napi_value fu_fs_setxattr(napi_env env, napi_callback_info info);
napi_value fu_fs_removexattr(napi_env env, napi_callback_info info);
napi_value fu_fs_getdents(napi_env env, napi_callback_info info);
napi_value fu_fs_seekdir(napi_env env, napi_callback_info info);
napi_value fu_fs_lseek(napi_env env, napi_callback_info info);
napi_value fu_fs_statfs(napi_env env, napi_callback_info info);
napi_value fu_fs_async(napi_env env, napi_callback_info info);

static napi_value init(napi_env env, napi_value exports)
{
	static const struct { const char *name; napi_callback fn; } fns[] = {
		{ "openDev", fu_open_dev },
		{ "mount", fu_mount },
		{ "umount", fu_umount },
		{ "fusermount", fu_fusermount },
		{ "readSync", fu_read_sync },
		{ "writeSync", fu_write_sync },
		{ "close", fu_close },
		{ "geteuid", fu_geteuid },
		{ "adviseHuge", fu_advise_huge },
		{ "getegid", fu_getegid },
		{ "reap", fu_reap },
		{ "channelCreate", fu_channel_create },
		{ "channelSetupRing", fu_channel_setup_ring },
		{ "channelSetServing", fu_channel_set_serving },
		{ "channelAddDevSlots", fu_channel_add_dev_slots },
		{ "channelStart", fu_channel_start },
		{ "commit", fu_commit },
		{ "release", fu_release },
		{ "flush", fu_flush },
		{ "stats", fu_stats },
		{ "channelClose", fu_channel_close },
		{ "backingOpen", fu_backing_open },
		{ "backingClose", fu_backing_close },
		{ "fsOpenat", fu_fs_openat },
		{ "fsStatx", fu_fs_statx },
		{ "fsMkdirat", fu_fs_mkdirat },
		{ "fsMknodat", fu_fs_mknodat },
		{ "fsSymlinkat", fu_fs_symlinkat },
		{ "fsLinkat", fu_fs_linkat },
		{ "fsRenameat2", fu_fs_renameat2 },
		{ "fsReadlink", fu_fs_readlink },
		{ "fsChown", fu_fs_chown },
		{ "fsChmod", fu_fs_chmod },
		{ "fsUtimens", fu_fs_utimens },
		{ "fsGetxattr", fu_fs_getxattr },
		{ "fsListxattr", fu_fs_listxattr },
		{ "fsSetxattr", fu_fs_setxattr },
		{ "fsRemovexattr", fu_fs_removexattr },
		{ "fsGetdents", fu_fs_getdents },
		{ "fsSeekdir", fu_fs_seekdir },
		{ "fsLseek", fu_fs_lseek },
		{ "fsStatfs", fu_fs_statfs },
		{ "fsAsync", fu_fs_async },
	};
	enum { NFNS = sizeof(fns) / sizeof(fns[0]) };
	napi_property_descriptor props[NFNS + 1];
	napi_value stride;

	memset(props, 0, sizeof(props));
	for (size_t i = 0; i < NFNS; i++) {
		props[i].utf8name = fns[i].name;
		props[i].method = fns[i].fn;
		props[i].attributes = napi_enumerable;
	}
	if (napi_create_uint32(env, FU_HEADER_STRIDE, &stride) != napi_ok) return NULL;
	props[NFNS].utf8name = "HEADER_STRIDE";
	props[NFNS].value = stride;
	props[NFNS].attributes = napi_enumerable;
	if (napi_define_properties(env, exports, NFNS + 1, props) != napi_ok) {
		fu_napi_failed(env, napi_generic_failure, "napi_define_properties");
		return NULL;
	}
	return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
