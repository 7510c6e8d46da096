/* The *at() syscalls the mirror filesystem (src/fs/mirror/) needs and Node's fs lacks.
 *
 * Every name is one path component relative to a directory fd the caller holds (or NULL for
 * "the fd itself": AT_EMPTY_PATH, or the /proc/self/fd/N magic link, which lands on exactly the
 * inode the fd refers to and is never followed further, symlinks included). Names are Buffers
 * (any bytes but NUL); a name containing NUL answers -EINVAL.
 *
 * The synchronous calls are quick metadata syscalls run on the calling (event loop) thread. They
 * return >= 0, or -errno (no exception: a failed lookup is ordinary and an exception per ENOENT
 * would cost more than the syscall); only bad argument types throw. copy_file_range, fallocate
 * and syncfs, which may take long, run in libuv's thread pool (fsAsync).
 *
 * Creations (openat with O_CREAT, mkdirat, mknodat, symlinkat) can run as the caller: with
 * uid >= 0 the calling thread's fsuid/fsgid are switched for the one syscall (setfsuid and
 * setfsgid are per-thread), and the filesystem capabilities that the switch drops from the
 * effective set (CAP_DAC_OVERRIDE, CAP_FOWNER, ...) are raised again from the permitted set, so
 * the new inode is owned by the caller from its first instant (no chown window) while access is
 * still decided as root (the kernel has already checked the caller with default_permissions).
 * Both are restored before returning.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

/* One name component (NAME_MAX) or a symlink target / xattr name (PATH_MAX), NUL-terminated. */
#define FS_NAME_BUF (PATH_MAX + 1)

/* Copies a Buffer name into out (NUL-terminated). null/undefined → *is_null = 1, out = "".
 * Returns 0, -1 with an exception pending, or 1 when the bytes contain NUL or are too long. */
static int get_name(napi_env env, napi_value v, const char *what, char *out, size_t cap, int *is_null)
{
	napi_valuetype t;
	void *data;
	size_t len;
	FU_NAPI(env, napi_typeof(env, v, &t));
	*is_null = 0;
	if (t == napi_null || t == napi_undefined) {
		*is_null = 1;
		out[0] = 0;
		return 0;
	}
	if (fu_get_bytes(env, v, what, &data, &len)) return -1;
	if (len >= cap || memchr(data, 0, len)) return 1;
	memcpy(out, data, len);
	out[len] = 0;
	return 0;
}

static napi_value num(napi_env env, double d)
{
	napi_value v = NULL;
	FU_NAPI_V(env, napi_create_double(env, d, &v));
	return v;
}

static napi_value ret_errno(napi_env env, long r)
{
	return num(env, r < 0 ? -(double)errno : (double)r);
}

/* ---- credentials: create as the caller ---- */

#define FS_CAPS ((1u << CAP_CHOWN) | (1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH) | (1u << CAP_FOWNER) | \
		 (1u << CAP_FSETID) | (1u << CAP_LINUX_IMMUTABLE) | (1u << CAP_MKNOD))

struct creds {
	int switched;
	int old_uid, old_gid;
};

static int creds_enter(struct creds *c, int32_t uid, int32_t gid)
{
	c->switched = 0;
	if (uid < 0 || gid < 0) return 0;
	c->old_gid = setfsgid((gid_t)gid);
	c->old_uid = setfsuid((uid_t)uid);
	c->switched = 1;
	/* setfsuid never fails visibly: it returns the old value either way. Ask again to check. */
	if (setfsuid((uid_t)-1) != uid || setfsgid((gid_t)-1) != gid) return -EPERM;
	if (uid != 0) {
		struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
		struct __user_cap_data_struct d[2];
		if (syscall(SYS_capget, &h, d) < 0) return -errno;
		d[0].effective |= d[0].permitted & FS_CAPS;
		if (syscall(SYS_capset, &h, d) < 0) return -errno;
	}
	return 0;
}

/* Back to the old fsuid/fsgid; going back to fsuid 0 raises the fs capabilities again. */
static void creds_leave(struct creds *c)
{
	if (!c->switched) return;
	setfsuid((uid_t)c->old_uid);
	setfsgid((gid_t)c->old_gid);
}

/* ---- fsOpenat(dirfd, name, flags, mode, uid, gid) → fd | -errno ---- */
napi_value fu_fs_openat(napi_env env, napi_callback_info info)
{
	napi_value argv[6];
	int32_t dirfd, flags, uid, gid;
	uint32_t mode;
	char name[FS_NAME_BUF];
	int is_null, bad;
	struct creds c;
	long r;

	if (fu_args(env, info, 6, argv, "fsOpenat") || fu_get_int32(env, argv[0], "dirfd", &dirfd)) return NULL;
	if ((bad = get_name(env, argv[1], "name", name, sizeof(name), &is_null)) < 0) return NULL;
	if (fu_get_int32(env, argv[2], "flags", &flags) || fu_get_uint32(env, argv[3], "mode", &mode) ||
	    fu_get_int32(env, argv[4], "uid", &uid) || fu_get_int32(env, argv[5], "gid", &gid))
		return NULL;
	if (bad || is_null) return num(env, -EINVAL);
	if ((r = creds_enter(&c, uid, gid)) == 0) {
		r = openat(dirfd, name, flags | O_CLOEXEC, (mode_t)mode);
		if (r < 0) r = -errno;
	}
	creds_leave(&c);
	return num(env, (double)r);
}

/* ---- fsStatx(dirfd, name|null, flags, mask, out: Float64Array) → 0 | -errno ----
 * out (STATX_FIELDS doubles): see StatxField in src/native.ts. */
enum {
	SX_MASK, SX_BLKSIZE, SX_ATTRIBUTES, SX_NLINK, SX_UID, SX_GID, SX_MODE, SX_INO_LO, SX_INO_HI, SX_SIZE,
	SX_BLOCKS, SX_ATTRIBUTES_MASK, SX_ATIME, SX_ATIME_NS, SX_BTIME, SX_BTIME_NS, SX_CTIME, SX_CTIME_NS,
	SX_MTIME, SX_MTIME_NS, SX_RDEV_MAJOR, SX_RDEV_MINOR, SX_DEV_MAJOR, SX_DEV_MINOR, SX_FIELDS
};

napi_value fu_fs_statx(napi_env env, napi_callback_info info)
{
	napi_value argv[5];
	int32_t dirfd, flags;
	uint32_t mask;
	char name[FS_NAME_BUF];
	int is_null, bad;
	void *data;
	size_t len;
	struct statx sx;

	if (fu_args(env, info, 5, argv, "fsStatx") || fu_get_int32(env, argv[0], "dirfd", &dirfd)) return NULL;
	if ((bad = get_name(env, argv[1], "name", name, sizeof(name), &is_null)) < 0) return NULL;
	if (fu_get_int32(env, argv[2], "flags", &flags) || fu_get_uint32(env, argv[3], "mask", &mask) ||
	    fu_get_bytes(env, argv[4], "out", &data, &len))
		return NULL;
	if (len < SX_FIELDS * sizeof(double)) {
		fu_throw_range_error(env, "fsStatx: out must hold %d doubles", SX_FIELDS);
		return NULL;
	}
	if (bad) return num(env, -EINVAL);
	if (is_null) flags |= AT_EMPTY_PATH;
	if (statx(dirfd, name, flags, mask, &sx) < 0) return num(env, -errno);
	double *o = data;
	o[SX_MASK] = sx.stx_mask;
	o[SX_BLKSIZE] = sx.stx_blksize;
	o[SX_ATTRIBUTES] = (double)sx.stx_attributes;
	o[SX_NLINK] = sx.stx_nlink;
	o[SX_UID] = sx.stx_uid;
	o[SX_GID] = sx.stx_gid;
	o[SX_MODE] = sx.stx_mode;
	o[SX_INO_LO] = (double)(uint32_t)sx.stx_ino;
	o[SX_INO_HI] = (double)(uint32_t)(sx.stx_ino >> 32);
	o[SX_SIZE] = (double)sx.stx_size;
	o[SX_BLOCKS] = (double)sx.stx_blocks;
	o[SX_ATTRIBUTES_MASK] = (double)sx.stx_attributes_mask;
	o[SX_ATIME] = (double)sx.stx_atime.tv_sec;
	o[SX_ATIME_NS] = sx.stx_atime.tv_nsec;
	o[SX_BTIME] = (double)sx.stx_btime.tv_sec;
	o[SX_BTIME_NS] = sx.stx_btime.tv_nsec;
	o[SX_CTIME] = (double)sx.stx_ctime.tv_sec;
	o[SX_CTIME_NS] = sx.stx_ctime.tv_nsec;
	o[SX_MTIME] = (double)sx.stx_mtime.tv_sec;
	o[SX_MTIME_NS] = sx.stx_mtime.tv_nsec;
	o[SX_RDEV_MAJOR] = sx.stx_rdev_major;
	o[SX_RDEV_MINOR] = sx.stx_rdev_minor;
	o[SX_DEV_MAJOR] = sx.stx_dev_major;
	o[SX_DEV_MINOR] = sx.stx_dev_minor;
	return num(env, 0);
}

/* ---- fsMkdirat(dirfd, name, mode, uid, gid) / fsMknodat(dirfd, name, mode, rdev, uid, gid) ---- */
napi_value fu_fs_mkdirat(napi_env env, napi_callback_info info)
{
	napi_value argv[5];
	int32_t dirfd, uid, gid;
	uint32_t mode;
	char name[FS_NAME_BUF];
	int is_null, bad;
	struct creds c;
	long r;

	if (fu_args(env, info, 5, argv, "fsMkdirat") || fu_get_int32(env, argv[0], "dirfd", &dirfd)) return NULL;
	if ((bad = get_name(env, argv[1], "name", name, sizeof(name), &is_null)) < 0) return NULL;
	if (fu_get_uint32(env, argv[2], "mode", &mode) || fu_get_int32(env, argv[3], "uid", &uid) ||
	    fu_get_int32(env, argv[4], "gid", &gid))
		return NULL;
	if (bad || is_null) return num(env, -EINVAL);
	if ((r = creds_enter(&c, uid, gid)) == 0) r = mkdirat(dirfd, name, (mode_t)mode) < 0 ? -errno : 0;
	creds_leave(&c);
	return num(env, (double)r);
}

napi_value fu_fs_mknodat(napi_env env, napi_callback_info info)
{
	napi_value argv[6];
	int32_t dirfd, uid, gid;
	uint32_t mode, rdev;
	char name[FS_NAME_BUF];
	int is_null, bad;
	struct creds c;
	long r;

	if (fu_args(env, info, 6, argv, "fsMknodat") || fu_get_int32(env, argv[0], "dirfd", &dirfd)) return NULL;
	if ((bad = get_name(env, argv[1], "name", name, sizeof(name), &is_null)) < 0) return NULL;
	if (fu_get_uint32(env, argv[2], "mode", &mode) || fu_get_uint32(env, argv[3], "rdev", &rdev) ||
	    fu_get_int32(env, argv[4], "uid", &uid) || fu_get_int32(env, argv[5], "gid", &gid))
		return NULL;
	if (bad || is_null) return num(env, -EINVAL);
	/* FUSE carries rdev in the kernel's new_encode_dev() form, which for 32-bit values is
	 * exactly glibc's dev_t encoding (major bits 8-19, minor bits 0-7 and 20-31). */
	if ((r = creds_enter(&c, uid, gid)) == 0) r = mknodat(dirfd, name, (mode_t)mode, (dev_t)rdev) < 0 ? -errno : 0;
	creds_leave(&c);
	return num(env, (double)r);
}

/* ---- fsSymlinkat(target, dirfd, name, uid, gid) ---- */
napi_value fu_fs_symlinkat(napi_env env, napi_callback_info info)
{
	napi_value argv[5];
	int32_t dirfd, uid, gid;
	char target[FS_NAME_BUF], name[FS_NAME_BUF];
	int is_null, is_null2, bad, bad2;
	struct creds c;
	long r;

	if (fu_args(env, info, 5, argv, "fsSymlinkat")) return NULL;
	if ((bad = get_name(env, argv[0], "target", target, sizeof(target), &is_null)) < 0) return NULL;
	if (fu_get_int32(env, argv[1], "dirfd", &dirfd)) return NULL;
	if ((bad2 = get_name(env, argv[2], "name", name, sizeof(name), &is_null2)) < 0) return NULL;
	if (fu_get_int32(env, argv[3], "uid", &uid) || fu_get_int32(env, argv[4], "gid", &gid)) return NULL;
	if (bad || bad2 || is_null || is_null2) return num(env, -EINVAL);
	if ((r = creds_enter(&c, uid, gid)) == 0) r = symlinkat(target, dirfd, name) < 0 ? -errno : 0;
	creds_leave(&c);
	return num(env, (double)r);
}

/* ---- fsLinkat(fd, newdirfd, newname): a new name for exactly the inode fd refers to ---- */
napi_value fu_fs_linkat(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	int32_t fd, newdirfd;
	char name[FS_NAME_BUF], proc[64];
	int is_null, bad;

	if (fu_args(env, info, 3, argv, "fsLinkat") || fu_get_int32(env, argv[0], "fd", &fd) ||
	    fu_get_int32(env, argv[1], "newdirfd", &newdirfd))
		return NULL;
	if ((bad = get_name(env, argv[2], "newname", name, sizeof(name), &is_null)) < 0) return NULL;
	if (bad || is_null) return num(env, -EINVAL);
	/* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; the magic link does the same without it. */
	if (linkat(fd, "", newdirfd, name, AT_EMPTY_PATH) == 0) return num(env, 0);
	if (errno != ENOENT && errno != EPERM) return num(env, -errno);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	return ret_errno(env, linkat(AT_FDCWD, proc, newdirfd, name, AT_SYMLINK_FOLLOW));
}

/* ---- fsRenameat2(olddirfd, oldname, newdirfd, newname, flags) ---- */
napi_value fu_fs_renameat2(napi_env env, napi_callback_info info)
{
	napi_value argv[5];
	int32_t olddirfd, newdirfd;
	uint32_t flags;
	char oldname[FS_NAME_BUF], newname[FS_NAME_BUF];
	int n1, n2, b1, b2;

	if (fu_args(env, info, 5, argv, "fsRenameat2") || fu_get_int32(env, argv[0], "olddirfd", &olddirfd)) return NULL;
	if ((b1 = get_name(env, argv[1], "oldname", oldname, sizeof(oldname), &n1)) < 0) return NULL;
	if (fu_get_int32(env, argv[2], "newdirfd", &newdirfd)) return NULL;
	if ((b2 = get_name(env, argv[3], "newname", newname, sizeof(newname), &n2)) < 0) return NULL;
	if (fu_get_uint32(env, argv[4], "flags", &flags)) return NULL;
	if (b1 || b2 || n1 || n2) return num(env, -EINVAL);
	return ret_errno(env, syscall(SYS_renameat2, olddirfd, oldname, newdirfd, newname, flags));
}

/* ---- fsReadlink(fd) → Buffer | -errno: the target of the symlink fd (O_PATH) refers to ---- */
napi_value fu_fs_readlink(napi_env env, napi_callback_info info)
{
	napi_value argv[1], out;
	int32_t fd;
	char buf[PATH_MAX];
	ssize_t n;
	void *dst;

	if (fu_args(env, info, 1, argv, "fsReadlink") || fu_get_int32(env, argv[0], "fd", &fd)) return NULL;
	n = readlinkat(fd, "", buf, sizeof(buf));
	if (n < 0) return num(env, -errno);
	FU_NAPI_V(env, napi_create_buffer_copy(env, (size_t)n, buf, &dst, &out));
	return out;
}

/* ---- fsChown(fd, uid, gid) / fsChmod(fd, mode) / fsUtimens(fd, as, ans, ms, mns) on the inode fd refers to ---- */
napi_value fu_fs_chown(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	int32_t fd, uid, gid;
	if (fu_args(env, info, 3, argv, "fsChown") || fu_get_int32(env, argv[0], "fd", &fd) ||
	    fu_get_int32(env, argv[1], "uid", &uid) || fu_get_int32(env, argv[2], "gid", &gid))
		return NULL;
	return ret_errno(env, fchownat(fd, "", (uid_t)uid, (gid_t)gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW));
}

napi_value fu_fs_chmod(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	int32_t fd;
	uint32_t mode;
	char proc[64];
	if (fu_args(env, info, 2, argv, "fsChmod") || fu_get_int32(env, argv[0], "fd", &fd) ||
	    fu_get_uint32(env, argv[1], "mode", &mode))
		return NULL;
	/* fchmodat2 (6.6+) takes AT_EMPTY_PATH and refuses symlinks (EOPNOTSUPP) as lchmod would. */
	if (syscall(SYS_fchmodat2, fd, "", mode, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == 0) return num(env, 0);
	if (errno != ENOSYS) return num(env, -errno);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	return ret_errno(env, chmod(proc, (mode_t)mode));
}

napi_value fu_fs_utimens(napi_env env, napi_callback_info info)
{
	napi_value argv[5];
	int32_t fd;
	int64_t as, ans, ms, mns;
	struct timespec ts[2];
	if (fu_args(env, info, 5, argv, "fsUtimens") || fu_get_int32(env, argv[0], "fd", &fd) ||
	    fu_get_int64(env, argv[1], "atime", &as) || fu_get_int64(env, argv[2], "atimensec", &ans) ||
	    fu_get_int64(env, argv[3], "mtime", &ms) || fu_get_int64(env, argv[4], "mtimensec", &mns))
		return NULL;
	/* nsec may be UTIME_NOW or UTIME_OMIT. */
	ts[0].tv_sec = (time_t)as;
	ts[0].tv_nsec = (long)ans;
	ts[1].tv_sec = (time_t)ms;
	ts[1].tv_nsec = (long)mns;
	return ret_errno(env, utimensat(fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW));
}

/* ---- xattrs through /proc/self/fd/N: the follow variants land on exactly fd's inode ---- */
static int proc_path(napi_env env, napi_value v, char *out, size_t cap)
{
	int32_t fd;
	if (fu_get_int32(env, v, "fd", &fd)) return -1;
	snprintf(out, cap, "/proc/self/fd/%d", fd);
	return 0;
}

napi_value fu_fs_getxattr(napi_env env, napi_callback_info info)
{
	napi_value argv[2], out;
	char path[64], name[FS_NAME_BUF];
	int is_null, bad;
	ssize_t n;
	void *dst;

	if (fu_args(env, info, 2, argv, "fsGetxattr") || proc_path(env, argv[0], path, sizeof(path))) return NULL;
	if ((bad = get_name(env, argv[1], "name", name, sizeof(name), &is_null)) < 0) return NULL;
	if (bad || is_null) return num(env, -EINVAL);
	for (;;) {
		n = getxattr(path, name, NULL, 0);
		if (n < 0) return num(env, -errno);
		if (n == 0) {
			FU_NAPI_V(env, napi_create_buffer(env, 0, &dst, &out));
			return out;
		}
		char *buf = malloc((size_t)n);
		if (!buf) return num(env, -ENOMEM);
		ssize_t m = getxattr(path, name, buf, (size_t)n);
		if (m < 0 && errno == ERANGE) { free(buf); continue; } /* grew meanwhile */
		if (m < 0) { int e = errno; free(buf); return num(env, -e); }
		napi_status st = napi_create_buffer_copy(env, (size_t)m, buf, &dst, &out);
		free(buf);
		FU_NAPI_V(env, st);
		return out;
	}
}

napi_value fu_fs_listxattr(napi_env env, napi_callback_info info)
{
	napi_value argv[1], out;
	char path[64];
	ssize_t n;
	void *dst;

	if (fu_args(env, info, 1, argv, "fsListxattr") || proc_path(env, argv[0], path, sizeof(path))) return NULL;
	for (;;) {
		n = listxattr(path, NULL, 0);
		if (n < 0) return num(env, -errno);
		if (n == 0) {
			FU_NAPI_V(env, napi_create_buffer(env, 0, &dst, &out));
			return out;
		}
		char *buf = malloc((size_t)n);
		if (!buf) return num(env, -ENOMEM);
		ssize_t m = listxattr(path, buf, (size_t)n);
		if (m < 0 && errno == ERANGE) { free(buf); continue; }
		if (m < 0) { int e = errno; free(buf); return num(env, -e); }
		napi_status st = napi_create_buffer_copy(env, (size_t)m, buf, &dst, &out);
		free(buf);
		FU_NAPI_V(env, st);
		return out;
	}
}

napi_value fu_fs_setxattr(napi_env env, napi_callback_info info)
{
	napi_value argv[4];
	char path[64], name[FS_NAME_BUF];
	int is_null, bad;
	void *value;
	size_t len;
	int32_t flags;

	if (fu_args(env, info, 4, argv, "fsSetxattr") || proc_path(env, argv[0], path, sizeof(path))) return NULL;
	if ((bad = get_name(env, argv[1], "name", name, sizeof(name), &is_null)) < 0) return NULL;
	if (fu_get_bytes(env, argv[2], "value", &value, &len) || fu_get_int32(env, argv[3], "flags", &flags)) return NULL;
	if (bad || is_null) return num(env, -EINVAL);
	return ret_errno(env, setxattr(path, name, value, len, flags));
}

napi_value fu_fs_removexattr(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	char path[64], name[FS_NAME_BUF];
	int is_null, bad;

	if (fu_args(env, info, 2, argv, "fsRemovexattr") || proc_path(env, argv[0], path, sizeof(path))) return NULL;
	if ((bad = get_name(env, argv[1], "name", name, sizeof(name), &is_null)) < 0) return NULL;
	if (bad || is_null) return num(env, -EINVAL);
	return ret_errno(env, removexattr(path, name));
}

/* ---- directories: fsGetdents(fd, buf) → bytes | -errno; fsSeekdir(fd, cookie: bigint) ---- */
napi_value fu_fs_getdents(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	int32_t fd;
	void *data;
	size_t len;
	if (fu_args(env, info, 2, argv, "fsGetdents") || fu_get_int32(env, argv[0], "fd", &fd) ||
	    fu_get_bytes(env, argv[1], "buf", &data, &len))
		return NULL;
	return ret_errno(env, syscall(SYS_getdents64, fd, data, len));
}

napi_value fu_fs_seekdir(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	int32_t fd;
	int64_t off;
	bool lossless;
	if (fu_args(env, info, 2, argv, "fsSeekdir") || fu_get_int32(env, argv[0], "fd", &fd)) return NULL;
	/* d_off cookies are 64-bit (ext4 hashes use all 63 bits): a BigInt, not a double. */
	FU_NAPI_V(env, napi_get_value_bigint_int64(env, argv[1], &off, &lossless));
	return ret_errno(env, lseek(fd, (off_t)off, SEEK_SET) < 0 ? -1 : 0);
}

/* ---- fsLseek(fd, offset, whence) → offset | -errno (SEEK_DATA / SEEK_HOLE) ---- */
napi_value fu_fs_lseek(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	int32_t fd, whence;
	int64_t off;
	if (fu_args(env, info, 3, argv, "fsLseek") || fu_get_int32(env, argv[0], "fd", &fd) ||
	    fu_get_int64(env, argv[1], "offset", &off) || fu_get_int32(env, argv[2], "whence", &whence))
		return NULL;
	off_t r = lseek(fd, (off_t)off, whence);
	return num(env, r < 0 ? -(double)errno : (double)r);
}

/* ---- fsStatfs(fd, out: Float64Array[8]) → 0 | -errno ---- */
napi_value fu_fs_statfs(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	int32_t fd;
	void *data;
	size_t len;
	struct statfs s;
	if (fu_args(env, info, 2, argv, "fsStatfs") || fu_get_int32(env, argv[0], "fd", &fd) ||
	    fu_get_bytes(env, argv[1], "out", &data, &len))
		return NULL;
	if (len < 8 * sizeof(double)) {
		fu_throw_range_error(env, "fsStatfs: out must hold 8 doubles");
		return NULL;
	}
	if (fstatfs(fd, &s) < 0) return num(env, -errno);
	double *o = data;
	o[0] = (double)s.f_blocks;
	o[1] = (double)s.f_bfree;
	o[2] = (double)s.f_bavail;
	o[3] = (double)s.f_files;
	o[4] = (double)s.f_ffree;
	o[5] = (double)s.f_bsize;
	o[6] = (double)s.f_namelen;
	o[7] = (double)(s.f_frsize ? s.f_frsize : s.f_bsize);
	return num(env, 0);
}

/* ---- fsAsync(op, a, b, c, d, e, f, callback(result)) in the thread pool ----
 *   op 1 copy_file_range(a = fd_in, b = off_in, c = fd_out, d = off_out, e = len, f = flags)
 *   op 2 fallocate(a = fd, b = mode, c = offset, d = len)
 *   op 3 syncfs(a = fd)
 * callback receives the syscall's result (>= 0) or -errno. */
struct async_op {
	napi_async_work work;
	napi_ref callback;
	int op;
	int64_t a[6];
	int64_t result;
};

static void async_execute(napi_env env, void *data)
{
	struct async_op *o = data;
	long r;
	switch (o->op) {
	case 1: {
		loff_t in = o->a[1], out = o->a[3];
		r = copy_file_range((int)o->a[0], &in, (int)o->a[2], &out, (size_t)o->a[4], (unsigned)o->a[5]);
		break;
	}
	case 2:
		r = fallocate((int)o->a[0], (int)o->a[1], (off_t)o->a[2], (off_t)o->a[3]);
		break;
	case 3:
		r = syncfs((int)o->a[0]);
		break;
	default:
		r = -1;
		errno = EINVAL;
	}
	o->result = r < 0 ? -(int64_t)errno : (int64_t)r;
}

static void async_complete(napi_env env, napi_status status, void *data)
{
	struct async_op *o = data;
	napi_value cb, global, arg;
	if (napi_get_reference_value(env, o->callback, &cb) == napi_ok && cb && napi_get_global(env, &global) == napi_ok &&
	    napi_create_double(env, status == napi_ok ? (double)o->result : -(double)ECANCELED, &arg) == napi_ok)
		napi_call_function(env, global, cb, 1, &arg, NULL);
	napi_delete_reference(env, o->callback);
	napi_delete_async_work(env, o->work);
	free(o);
}

napi_value fu_fs_async(napi_env env, napi_callback_info info)
{
	napi_value argv[8], name, ret;
	int32_t op;
	napi_valuetype t;
	struct async_op *o;

	if (fu_args(env, info, 8, argv, "fsAsync") || fu_get_int32(env, argv[0], "op", &op)) return NULL;
	FU_NAPI_V(env, napi_typeof(env, argv[7], &t));
	if (t != napi_function) {
		fu_throw_type_error(env, "fsAsync: callback must be a function");
		return NULL;
	}
	if (!(o = calloc(1, sizeof(*o)))) {
		fu_throw_errno(env, "calloc", ENOMEM);
		return NULL;
	}
	o->op = op;
	for (int i = 0; i < 6; i++) {
		if (fu_get_int64(env, argv[1 + i], "argument", &o->a[i])) {
			free(o);
			return NULL;
		}
	}
	if (napi_create_reference(env, argv[7], 1, &o->callback) != napi_ok ||
	    napi_create_string_utf8(env, "fuse-uring:fsAsync", NAPI_AUTO_LENGTH, &name) != napi_ok ||
	    napi_create_async_work(env, NULL, name, async_execute, async_complete, o, &o->work) != napi_ok ||
	    napi_queue_async_work(env, o->work) != napi_ok) {
		fu_napi_failed(env, napi_generic_failure, "napi_queue_async_work");
		return NULL; /* leaks o on this (never seen) path rather than risk a double free */
	}
	FU_NAPI_V(env, napi_get_undefined(env, &ret));
	return ret;
}
