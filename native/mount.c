/* /dev/fuse, mount(2)/umount2(2), fusermount3 and small blocking fd helpers. */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define FUSERMOUNT_PROG "fusermount3"
#define FUSE_COMMFD_ENV "_FUSE_COMMFD"

static napi_value undefined(napi_env env)
{
	napi_value u = NULL;
	napi_get_undefined(env, &u);
	return u;
}

static napi_value make_int(napi_env env, int64_t v)
{
	napi_value r = NULL;
	if (napi_create_int64(env, v, &r) != napi_ok) fu_napi_failed(env, napi_generic_failure, "napi_create_int64");
	return r;
}

napi_value fu_open_dev(napi_env env, napi_callback_info info)
{
	int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fu_throw_errno(env, "open /dev/fuse", errno);
		return NULL;
	}
	return make_int(env, fd);
}

napi_value fu_mount(napi_env env, napi_callback_info info)
{
	napi_value argv[5];
	char *source = NULL, *target = NULL, *fstype = NULL, *data = NULL;
	int64_t flags;
	napi_value ret = NULL;

	if (fu_args(env, info, 5, argv, "mount")) return NULL;
	if (!(source = fu_get_string(env, argv[0], "source")) || !(target = fu_get_string(env, argv[1], "target")) ||
	    !(fstype = fu_get_string(env, argv[2], "fstype")) || fu_get_int64(env, argv[3], "flags", &flags) ||
	    !(data = fu_get_string(env, argv[4], "data")))
		goto out;
	if (flags < 0 || flags > 0xffffffffLL) {
		fu_throw_range_error(env, "flags out of range");
		goto out;
	}
	if (mount(source, target, fstype, (unsigned long)flags, data) != 0) {
		fu_throw_errno(env, "mount", errno);
		goto out;
	}
	ret = undefined(env);
out:
	free(source);
	free(target);
	free(fstype);
	free(data);
	return ret;
}

napi_value fu_umount(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	char *target;
	int32_t flags;

	if (fu_args(env, info, 2, argv, "umount")) return NULL;
	if (!(target = fu_get_string(env, argv[0], "target"))) return NULL;
	if (fu_get_int32(env, argv[1], "flags", &flags)) {
		free(target);
		return NULL;
	}
	int r = umount2(target, flags);
	int err = errno;
	free(target);
	if (r != 0) {
		fu_throw_errno(env, "umount", err);
		return NULL;
	}
	return undefined(env);
}

/* ---- fusermount3 ------------------------------------------------------- */

/* Reads everything from fd (until EOF, at most cap-1 bytes kept), trims whitespace. */
static void slurp(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	for (;;) {
		char tmp[512];
		ssize_t r = read(fd, tmp, sizeof(tmp));
		if (r < 0 && errno == EINTR) continue;
		if (r <= 0) break;
		size_t take = (size_t)r;
		if (take > cap - 1 - n) take = cap - 1 - n;
		memcpy(buf + n, tmp, take);
		n += take;
	}
	buf[n] = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '\r' || buf[n - 1] == '\t'))
		buf[--n] = 0;
	size_t lead = 0;
	while (buf[lead] == ' ' || buf[lead] == '\n' || buf[lead] == '\t') lead++;
	if (lead) memmove(buf, buf + lead, n - lead + 1);
}

/* fusermount3 prints "…: <strerror(errno)>"; recover the errno when the text ends like one. */
static int guess_errno(const char *text)
{
	size_t tl = strlen(text);
	for (int e = 1; e < 134; e++) {
		const char *s = strerror(e);
		size_t sl = strlen(s);
		if (!sl || sl > tl || strncmp(s, "Unknown error", 13) == 0) continue;
		for (const char *p = strstr(text, s); p; p = strstr(p + 1, s)) {
			char after = p[sl];
			if ((after == 0 || after == '\n') && p >= text + 2 && p[-2] == ':' && p[-1] == ' ') return e;
		}
	}
	return EIO;
}

static void close_keep_errno(int fd)
{
	int e = errno;
	if (fd >= 0) close(fd);
	errno = e;
}

napi_value fu_fusermount(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	char *mountpoint = NULL, *options = NULL, *commenv = NULL;
	char **envp = NULL;
	int keep = 0;
	int sv[2] = { -1, -1 }, errp[2] = { -1, -1 };
	pid_t pid = -1;
	napi_value ret = NULL;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int fa_init = 0, attr_init = 0;

	if (fu_args(env, info, 3, argv, "fusermount")) return NULL;
	if (!(mountpoint = fu_get_string(env, argv[0], "mountpoint")) || !(options = fu_get_string(env, argv[1], "options")) ||
	    fu_get_bool(env, argv[2], "keepComm", &keep))
		goto out;

	/* Both ends close-on-exec; the child's end is made inheritable by the dup2(fd, fd) spawn action
	 * (glibc >= 2.29 clears FD_CLOEXEC for it in the child only). */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		fu_throw_errno(env, "socketpair", errno);
		goto out;
	}
	if (pipe2(errp, O_CLOEXEC) != 0) {
		fu_throw_errno(env, "pipe2", errno);
		goto out;
	}

	/* environment = environ (minus any stale _FUSE_COMMFD) + _FUSE_COMMFD=<child's fd> */
	size_t n = 0;
	while (environ && environ[n]) n++;
	envp = calloc(n + 2, sizeof(char *));
	if (!envp || asprintf(&commenv, FUSE_COMMFD_ENV "=%d", sv[0]) < 0) {
		commenv = NULL;
		fu_throw_errno(env, "fusermount", ENOMEM);
		goto out;
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], FUSE_COMMFD_ENV "=", sizeof(FUSE_COMMFD_ENV)) != 0) envp[k++] = environ[i];
	envp[k++] = commenv;
	envp[k] = NULL;

	int r = posix_spawn_file_actions_init(&fa);
	if (r) {
		fu_throw_errno(env, "posix_spawn_file_actions_init", r);
		goto out;
	}
	fa_init = 1;
	if ((r = posix_spawn_file_actions_adddup2(&fa, sv[0], sv[0])) || (r = posix_spawn_file_actions_adddup2(&fa, errp[1], 2))) {
		fu_throw_errno(env, "posix_spawn_file_actions_adddup2", r);
		goto out;
	}
	if ((r = posix_spawnattr_init(&attr))) {
		fu_throw_errno(env, "posix_spawnattr_init", r);
		goto out;
	}
	attr_init = 1;
	{	/* a clean signal state for the child (Node ignores SIGPIPE and may block signals) */
		sigset_t all, none;
		sigfillset(&all);
		sigdelset(&all, SIGKILL);
		sigdelset(&all, SIGSTOP);
		sigemptyset(&none);
		posix_spawnattr_setsigdefault(&attr, &all);
		posix_spawnattr_setsigmask(&attr, &none);
		posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	}
	char *child_argv[] = { FUSERMOUNT_PROG, "-o", options, "--", mountpoint, NULL };
	r = posix_spawnp(&pid, FUSERMOUNT_PROG, &fa, &attr, child_argv, envp);
	if (r != 0) {
		pid = -1;
		if (r == ENOENT)
			fu_throw_error(env, "ENOENT", ENOENT, "fusermount3 not found: install the fuse3 package (apt-get install fuse3)");
		else
			fu_throw_errno(env, "posix_spawnp fusermount3", r);
		goto out;
	}
	close(sv[0]);
	sv[0] = -1;
	close(errp[1]);
	errp[1] = -1;

	/* one data byte + SCM_RIGHTS with the /dev/fuse fd */
	char byte;
	struct iovec iov = { &byte, 1 };
	union { struct cmsghdr align; char buf[CMSG_SPACE(sizeof(int))]; } ctl;
	struct msghdr msg;
	ssize_t got;
	int fd = -1;
	do {
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = ctl.buf;
		msg.msg_controllen = sizeof(ctl.buf);
		got = recvmsg(sv[1], &msg, MSG_CMSG_CLOEXEC);
	} while (got < 0 && errno == EINTR);
	int recv_err = got < 0 ? errno : 0;
	if (got > 0) {
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS && cm->cmsg_len >= CMSG_LEN(sizeof(int))) {
				memcpy(&fd, CMSG_DATA(cm), sizeof(int));
				break;
			}
		}
	}
	if (fd < 0) {
		int status = 0;
		char text[1024];
		/* the child may still hold the socket; without an fd it has failed: let it exit */
		close(sv[1]);
		sv[1] = -1;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
		pid = -1;
		slurp(errp[0], text, sizeof(text));
		if (recv_err) {
			fu_throw_errno(env, "recvmsg from fusermount3", recv_err);
		} else if (WIFEXITED(status)) {
			int ec = WEXITSTATUS(status);
			int e = ec == 0 ? EIO : guess_errno(text);
			fu_throw_error(env, fu_errno_name(e), e, "fusermount3 failed (exit %d): %s", ec,
				       text[0] ? text : "no file descriptor received");
		} else {
			fu_throw_error(env, "EIO", EIO, "fusermount3 failed (signal %d): %s", WIFSIGNALED(status) ? WTERMSIG(status) : 0,
				       text[0] ? text : "no file descriptor received");
		}
		goto out;
	}
	fcntl(fd, F_SETFD, FD_CLOEXEC); /* already set atomically by MSG_CMSG_CLOEXEC */

	int commfd = -1;
	pid_t keep_pid = -1;
	if (keep) {
		/* auto_unmount: fusermount3 stays alive watching the socket (it blocks all signals, so a
		 * closed stderr pipe cannot kill it) */
		commfd = sv[1];
		sv[1] = -1;
		keep_pid = pid;
		pid = -1;
	} else {
		int status;
		close(sv[1]);
		sv[1] = -1;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
		pid = -1;
	}

	napi_value obj, vfd, vcomm, vpid;
	if (napi_create_object(env, &obj) != napi_ok || napi_create_int32(env, fd, &vfd) != napi_ok ||
	    napi_create_int32(env, commfd, &vcomm) != napi_ok || napi_create_int32(env, keep_pid, &vpid) != napi_ok ||
	    napi_set_named_property(env, obj, "fd", vfd) != napi_ok ||
	    napi_set_named_property(env, obj, "commFd", vcomm) != napi_ok ||
	    napi_set_named_property(env, obj, "pid", vpid) != napi_ok) {
		fu_napi_failed(env, napi_generic_failure, "fusermount result");
		goto out; /* the fd leaks in this (out-of-memory) case */
	}
	ret = obj;
out:
	if (pid > 0) { /* spawned but failed before we could collect it */
		int status;
		if (sv[1] >= 0) {
			close(sv[1]);
			sv[1] = -1;
		}
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
	}
	close_keep_errno(sv[0]);
	close_keep_errno(sv[1]);
	close_keep_errno(errp[0]);
	close_keep_errno(errp[1]);
	if (fa_init) posix_spawn_file_actions_destroy(&fa);
	if (attr_init) posix_spawnattr_destroy(&attr);
	free(envp);
	free(commenv);
	free(mountpoint);
	free(options);
	return ret;
}

/* ---- plain fd helpers -------------------------------------------------- */

napi_value fu_read_sync(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	int32_t fd;
	void *data;
	size_t len;
	ssize_t r;

	if (fu_args(env, info, 2, argv, "readSync") || fu_get_int32(env, argv[0], "fd", &fd) ||
	    fu_get_bytes(env, argv[1], "buf", &data, &len))
		return NULL;
	do r = read(fd, data, len);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		fu_throw_errno(env, "read", errno);
		return NULL;
	}
	return make_int(env, r);
}

napi_value fu_write_sync(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	int32_t fd;
	int64_t n;
	void *data;
	size_t len;
	ssize_t r;

	if (fu_args(env, info, 3, argv, "writeSync") || fu_get_int32(env, argv[0], "fd", &fd) ||
	    fu_get_bytes(env, argv[1], "buf", &data, &len) || fu_get_int64(env, argv[2], "len", &n))
		return NULL;
	if (n < 0 || (uint64_t)n > len) {
		fu_throw_range_error(env, "writeSync: len %lld outside the buffer (%zu bytes)", (long long)n, len);
		return NULL;
	}
	do r = write(fd, data, (size_t)n);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		fu_throw_errno(env, "write", errno);
		return NULL;
	}
	return make_int(env, r);
}

napi_value fu_close(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	int32_t fd;

	if (fu_args(env, info, 1, argv, "close") || fu_get_int32(env, argv[0], "fd", &fd)) return NULL;
	/* Linux always releases the descriptor, even on EINTR: never retry */
	if (close(fd) != 0 && errno != EINTR) {
		fu_throw_errno(env, "close", errno);
		return NULL;
	}
	return undefined(env);
}

napi_value fu_geteuid(napi_env env, napi_callback_info info)
{
	return make_int(env, (int64_t)geteuid());
}

napi_value fu_getegid(napi_env env, napi_callback_info info)
{
	return make_int(env, (int64_t)getegid());
}

napi_value fu_reap(napi_env env, napi_callback_info info)
{
	napi_value argv[1], ret;
	int32_t pid;
	int status;
	pid_t r;

	if (fu_args(env, info, 1, argv, "reap") || fu_get_int32(env, argv[0], "pid", &pid)) return NULL;
	if (pid <= 0) {
		fu_throw_range_error(env, "reap: pid must be positive (got %d)", pid);
		return NULL;
	}
	do r = waitpid(pid, &status, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r < 0 && errno != ECHILD) {
		fu_throw_errno(env, "waitpid", errno);
		return NULL;
	}
	/* r == pid: reaped now; ECHILD: not (or no longer) our child, nothing left to reap */
	if (napi_get_boolean(env, r != 0, &ret) != napi_ok) return NULL;
	return ret;
}
