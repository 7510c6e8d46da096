/* Metadata benchmark client: N files in one directory, T threads, one phase per run.
 *
 *   meta <dir> <files> <threads> create|stat|statmissing|readdir|unlink
 *
 * Each thread works on its own share of the names (f<thread>_<i>). Prints one JSON line:
 * {"op":…, "ops":…, "seconds":…, "cpu_us":…} where cpu_us is this process's user+sys time.
 * Built by bench/run.ts with the system C compiler; only libc and pthreads. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *dir, *op;
static long files, threads;

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void *worker(void *arg)
{
	long id = (long)arg, per = files / threads, errors = 0;
	char path[4096];
	struct stat st;
	for (long i = 0; i < per; i++) {
		if (!strcmp(op, "statmissing"))
			snprintf(path, sizeof(path), "%s/missing%ld_%ld", dir, id, i);
		else
			snprintf(path, sizeof(path), "%s/f%ld_%ld", dir, id, i);
		int r = 0;
		if (!strcmp(op, "create")) {
			int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
			r = fd < 0 ? -1 : close(fd);
		} else if (!strcmp(op, "stat")) {
			r = stat(path, &st);
		} else if (!strcmp(op, "statmissing")) {
			r = stat(path, &st) == 0 || errno != ENOENT ? -1 : 0;
		} else if (!strcmp(op, "unlink")) {
			r = unlink(path);
		}
		if (r) errors++;
	}
	return (void *)errors;
}

static long read_dir(void)
{
	DIR *d = opendir(dir);
	if (!d) return -1;
	long n = 0;
	while (readdir(d)) n++;
	closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: meta <dir> <files> <threads> create|stat|statmissing|readdir|unlink\n");
		return 2;
	}
	dir = argv[1];
	files = atol(argv[2]);
	threads = atol(argv[3]);
	op = argv[4];
	if (files <= 0 || threads <= 0 || threads > 64) return 2;
	double t0 = now();
	long errors = 0, ops = files - files % threads;
	if (!strcmp(op, "readdir")) {
		/* one listing per thread, of the whole directory: ops = entries read */
		long n = read_dir();
		if (n < 0) errors = 1;
		ops = n;
	} else {
		pthread_t tid[64];
		for (long i = 0; i < threads; i++) pthread_create(&tid[i], NULL, worker, (void *)i);
		for (long i = 0; i < threads; i++) {
			void *e;
			pthread_join(tid[i], &e);
			errors += (long)e;
		}
	}
	double secs = now() - t0;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu_us = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
	printf("{\"op\":\"%s\",\"ops\":%ld,\"seconds\":%.6f,\"cpu_us\":%.0f,\"errors\":%ld}\n", op, ops, secs, cpu_us, errors);
	return errors ? 1 : 0;
}
