/* FUSE passthrough backing files: FUSE_DEV_IOC_BACKING_OPEN / FUSE_DEV_IOC_BACKING_CLOSE on /dev/fuse.
 *
 *   backingOpen(devFd, fd)  → backing id (> 0)
 *   backingClose(devFd, id) → undefined
 *
 * Both throw an Error with .code ('EPERM', …), .errno and .syscall, like the other natives.
 * The ioctls only work as root (CAP_SYS_ADMIN in 6.18) on a connection that negotiated
 * FUSE_PASSTHROUGH with max_stack_depth >= 1.
 */
#include "common.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>

/* struct fuse_backing_map (16 bytes, <linux/fuse.h> 7.40+); kept here so older headers build. */
struct fu_backing_map {
	int32_t fd;
	uint32_t flags;
	uint64_t padding;
};

_Static_assert(sizeof(struct fu_backing_map) == 16, "struct fuse_backing_map is 16 bytes");

/* _IOW(229, 1, struct fuse_backing_map) and _IOW(229, 2, uint32_t). */
#define FU_DEV_IOC_BACKING_OPEN _IOW(229, 1, struct fu_backing_map)
#define FU_DEV_IOC_BACKING_CLOSE _IOW(229, 2, uint32_t)

_Static_assert(FU_DEV_IOC_BACKING_OPEN == 0x4010e501, "FUSE_DEV_IOC_BACKING_OPEN");
_Static_assert(FU_DEV_IOC_BACKING_CLOSE == 0x4004e502, "FUSE_DEV_IOC_BACKING_CLOSE");

napi_value fu_backing_open(napi_env env, napi_callback_info info)
{
	napi_value argv[2], ret = NULL;
	int32_t dev_fd, fd;
	struct fu_backing_map map;
	int id;

	if (fu_args(env, info, 2, argv, "backingOpen") || fu_get_int32(env, argv[0], "devFd", &dev_fd) ||
	    fu_get_int32(env, argv[1], "fd", &fd))
		return NULL;
	memset(&map, 0, sizeof(map));
	map.fd = fd;
	do id = ioctl(dev_fd, FU_DEV_IOC_BACKING_OPEN, &map);
	while (id < 0 && errno == EINTR);
	if (id < 0) {
		fu_throw_errno(env, "ioctl FUSE_DEV_IOC_BACKING_OPEN", errno);
		return NULL;
	}
	FU_NAPI_V(env, napi_create_int32(env, id, &ret));
	return ret;
}

napi_value fu_backing_close(napi_env env, napi_callback_info info)
{
	napi_value argv[2], ret = NULL;
	int32_t dev_fd;
	uint32_t id;
	int r;

	if (fu_args(env, info, 2, argv, "backingClose") || fu_get_int32(env, argv[0], "devFd", &dev_fd) ||
	    fu_get_uint32(env, argv[1], "id", &id))
		return NULL;
	do r = ioctl(dev_fd, FU_DEV_IOC_BACKING_CLOSE, &id);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		fu_throw_errno(env, "ioctl FUSE_DEV_IOC_BACKING_CLOSE", errno);
		return NULL;
	}
	FU_NAPI_V(env, napi_get_undefined(env, &ret));
	return ret;
}
