/* The soak client's operations on names: rename (plain, NOREPLACE, EXCHANGE, over another file),
 * unlink, hard links, mkdir/rmdir of its subdirectories, readdir compared with the model, lstat,
 * symlinks and readlink. */
#include "soak-client.h"

static char listed[MAXLIST][256];

void op_rename(void)
{
	int i = pick(-1);
	if (i < 0) return op_create();
	char pi[4096], pj[4096];
	path_of(pi, ent[i].dir, ent[i].name);
	uint64_t r = rnd(100);
	int j = r < 20 ? pick(-1) : -1;
	if (j == i) j = -1;
	if (j >= 0) {
		path_of(pj, ent[j].dir, ent[j].name);
		if (r < 6) {
			int x = T(K_rename, renameat2(AT_FDCWD, pi, AT_FDCWD, pj, RENAME_NOREPLACE));
			if (x == 0) { fail("rename NOREPLACE %s over existing %s succeeded", pi, pj); drop(j); ent[i].dir = ent[j].dir; strcpy(ent[i].name, ent[j].name); }
			else if (errno != EEXIST) fail("rename NOREPLACE %s over existing %s: %s, expected EEXIST", pi, pj, strerror(errno));
		} else if (r < 11) {
			if (T(K_rename, renameat2(AT_FDCWD, pi, AT_FDCWD, pj, RENAME_EXCHANGE)) != 0) {
				fail("rename EXCHANGE %s %s: %s", pi, pj, strerror(errno));
				return;
			}
			struct entry t = ent[i];
			ent[i].dir = ent[j].dir; strcpy(ent[i].name, ent[j].name);
			ent[j].dir = t.dir; strcpy(ent[j].name, t.name);
		} else {
			if (T(K_rename, rename(pi, pj)) != 0) { fail("rename %s over %s: %s", pi, pj, strerror(errno)); return; }
			/* Two names of one file: rename does nothing and succeeds (POSIX). */
			if (ent[i].type == 'f' && ent[j].type == 'f' && ent[i].ino == ent[j].ino) return;
			int dir = ent[j].dir;
			char name[40];
			strcpy(name, ent[j].name);
			drop(j);
			ent[i].dir = dir;
			strcpy(ent[i].name, name);
		}
		return;
	}
	int dir = pick_dir();
	char name[40], pn[4096];
	new_name(name);
	path_of(pn, dir, name);
	if (T(K_rename, rename(pi, pn)) != 0) { fail("rename %s to %s: %s", pi, pn, strerror(errno)); return; }
	ent[i].dir = dir;
	strcpy(ent[i].name, name);
}

void op_unlink(void)
{
	char p[4096];
	if (rnd(20) == 0) {
		snprintf(p, sizeof(p), "%s/missing%llu", own, (unsigned long long)rnd(1000));
		if (T(K_unlink, unlink(p)) == 0 || errno != ENOENT) fail("unlink of missing %s: %s, expected ENOENT", p, strerror(errno));
		return;
	}
	int i = pick(-1);
	if (i < 0) return op_create();
	path_of(p, ent[i].dir, ent[i].name);
	if (T(K_unlink, unlink(p)) != 0) fail("unlink %s: %s", p, strerror(errno));
	drop(i);
}

void op_link(void)
{
	int i = pick('f'), s = free_ent();
	if (i < 0) return op_create();
	if (s < 0) return op_unlink();
	char pi[4096], pn[4096];
	path_of(pi, ent[i].dir, ent[i].name);
	struct entry *e = &ent[s];
	e->dir = pick_dir();
	new_name(e->name);
	path_of(pn, e->dir, e->name);
	if (T(K_link, link(pi, pn)) != 0) {
		/* What the kernel has cached (no request), what the filesystem says, and a second try. */
		int e = errno;
		struct statx cached;
		struct stat st;
		int rc = statx(AT_FDCWD, pi, AT_SYMLINK_NOFOLLOW | AT_STATX_DONT_SYNC, STATX_BASIC_STATS, &cached);
		int r = lstat(pi, &st);
		int again = link(pi, pn);
		fail("link %s %s: %s (the model: a file with %d links; cached: nlink %d; lstat: %s, nlink %d, ino %llu; again: %s)", pi, pn,
			strerror(e), ent[i].ino->nlink, rc ? -1 : (int)cached.stx_nlink, r ? strerror(errno) : "exists", r ? -1 : (int)st.st_nlink,
			r ? 0ull : (unsigned long long)st.st_ino, again ? strerror(errno) : "linked");
		if (again) return;
	}
	e->used = 1; e->type = 'f'; e->ino = ent[i].ino; e->ino->nlink++; nused++;
}

void op_mkdir(void)
{
	int k = 0;
	for (int c = 1; c <= MAXSUB; c++) if (!sub_used[c]) { k = c; break; }
	if (!k) return op_rmdir();
	char d[4096];
	dir_path(d, k);
	if (T(K_mkdir, mkdir(d, 0755)) != 0) { fail("mkdir %s: %s", d, strerror(errno)); return; }
	sub_used[k] = 1;
}

void op_rmdir(void)
{
	int k = pick_sub();
	if (!k) return op_mkdir();
	int nonempty = 0;
	for (int i = 0; i < MAXENT; i++) nonempty |= ent[i].used && ent[i].dir == k;
	char d[4096];
	dir_path(d, k);
	int r = T(K_rmdir, rmdir(d));
	if (nonempty && (r == 0 || errno != ENOTEMPTY)) fail("rmdir of non-empty %s: %s, expected ENOTEMPTY", d, r ? strerror(errno) : "succeeded");
	else if (!nonempty && r != 0) fail("rmdir %s: %s", d, strerror(errno));
	else if (!nonempty) sub_used[k] = 0;
}

static int list_dir(const char *d)
{
	uint64_t t0 = now_ns();
	DIR *dh = opendir(d);
	if (!dh) { fail("opendir %s: %s", d, strerror(errno)); return -1; }
	int n = 0;
	struct dirent *de;
	errno = 0;
	while ((de = readdir(dh))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
		if (n < MAXLIST) snprintf(listed[n++], 256, "%s", de->d_name);
	}
	if (errno) fail("readdir %s: %s", d, strerror(errno));
	closedir(dh);
	record(K_readdir, now_ns() - t0);
	return n;
}

static int is_listed(int n, const char *name)
{
	for (int i = 0; i < n; i++) if (!strcmp(listed[i], name)) return 1;
	return 0;
}

/* A shared-directory name must be one some client makes. */
static int valid_shared_name(const char *s)
{
	unsigned a, b;
	char tail;
	return !strcmp(s, "hot") || !strcmp(s, "log") || !strcmp(s, "regions") ||
		sscanf(s, "hot.tmp%u%c", &a, &tail) == 1 || sscanf(s, "s%u_%u%c", &a, &b, &tail) == 2;
}

/* The listing of one of our directories equals the model; in the shared one, our names do. */
void check_dir(int dir)
{
	char d[4096];
	dir_path(d, dir);
	int n = list_dir(d);
	if (n < 0) return;
	for (int i = 0; i < MAXENT; i++)
		if (ent[i].used && ent[i].dir == dir && !is_listed(n, ent[i].name)) fail("readdir %s: %s is missing", d, ent[i].name);
	char mine[16];
	snprintf(mine, sizeof(mine), "s%d_", id);
	for (int j = 0; j < n; j++) {
		int ours = strncmp(listed[j], mine, strlen(mine)) == 0;
		if (dir == 0 && listed[j][0] == 'd' && listed[j][1] >= '1' && listed[j][1] <= '0' + MAXSUB && !listed[j][2] && sub_used[listed[j][1] - '0']) continue;
		if (dir == SHARED && !ours) {
			if (!valid_shared_name(listed[j])) fail("readdir %s: unexpected name \"%s\"", d, listed[j]);
			continue;
		}
		int known = 0;
		for (int i = 0; i < MAXENT; i++) known |= ent[i].used && ent[i].dir == dir && !strcmp(ent[i].name, listed[j]);
		if (!known) fail("readdir %s: \"%s\" should not be there", d, listed[j]);
	}
	if (dir == 0) for (int k = 1; k <= MAXSUB; k++) {
		char dn[8];
		snprintf(dn, sizeof(dn), "d%d", k);
		if (sub_used[k] && !is_listed(n, dn)) fail("readdir %s: directory %s is missing", d, dn);
	}
}

void op_readdir(void)
{
	uint64_t r = rnd(4);
	check_dir(r < 2 ? 0 : r == 2 ? pick_sub() : SHARED);
}

void op_stat(void)
{
	char p[4096];
	struct stat st;
	if (rnd(10) == 0) {
		snprintf(p, sizeof(p), "%s/missing%llu", rnd(2) ? own : shared, (unsigned long long)rnd(1000));
		if (T(K_stat, lstat(p, &st)) == 0 || errno != ENOENT) fail("lstat of missing %s: %s, expected ENOENT", p, strerror(errno));
		return;
	}
	int i = pick(-1);
	if (i < 0) return op_create();
	struct entry *e = &ent[i];
	path_of(p, e->dir, e->name);
	if (T(K_stat, lstat(p, &st)) != 0) { fail("lstat %s: %s", p, strerror(errno)); return; }
	if (e->type == 'f' && (!S_ISREG(st.st_mode) || (size_t)st.st_size != e->ino->size || (int)st.st_nlink != e->ino->nlink))
		fail("lstat %s: mode 0%o size %lld nlink %d, expected a regular file of %zu bytes with %d links", p, st.st_mode,
			(long long)st.st_size, (int)st.st_nlink, e->ino->size, e->ino->nlink);
	if (e->type == 'l' && (!S_ISLNK(st.st_mode) || (size_t)st.st_size != strlen(e->target)))
		fail("lstat %s: mode 0%o size %lld, expected a symlink of %zu bytes", p, st.st_mode, (long long)st.st_size, strlen(e->target));
}

void check_link(int i)
{
	char p[4096], t[4096];
	path_of(p, ent[i].dir, ent[i].name);
	ssize_t n = T(K_readlink, readlink(p, t, sizeof(t)));
	if (n < 0) fail("readlink %s: %s", p, strerror(errno));
	else if ((size_t)n != strlen(ent[i].target) || memcmp(t, ent[i].target, n))
		fail("readlink %s: \"%.*s\", expected \"%s\"", p, (int)n, t, ent[i].target);
}

void op_symlink(void)
{
	int s = free_ent();
	if (s < 0) return op_unlink();
	struct entry *e = &ent[s];
	static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789./-_";
	int n = snprintf(e->target, sizeof(e->target), "target-%d-%llu-", id, (unsigned long long)name_ctr);
	for (size_t want = n + rnd(300); (size_t)n < want && n < (int)sizeof(e->target) - 1; n++) e->target[n] = chars[rnd(sizeof(chars) - 1)];
	e->target[n] = 0;
	e->dir = pick_dir();
	new_name(e->name);
	char p[4096];
	path_of(p, e->dir, e->name);
	if (T(K_symlink, symlink(e->target, p)) != 0) { fail("symlink %s: %s", p, strerror(errno)); return; }
	e->used = 1; e->type = 'l'; e->ino = NULL; nused++;
	if (rnd(2)) check_link(s);
}

void op_readlink(void)
{
	int i = pick('l');
	if (i < 0) return op_symlink();
	check_link(i);
}
