/* The soak client's shared declarations: the model of what this process wrote, the timed system
 * calls and their histograms, and the operations (soak-client.c: main loop and report;
 * soak-model.c: the model, write patterns and checks; soak-data.c: file data; soak-names.c:
 * names and directories; soak-shared.c: the files all clients share). */
#ifndef SOAK_CLIENT_H
#define SOAK_CLIENT_H
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAXENT 40
#define MAXSUB 4
#define SHARED (MAXSUB + 1)
#define MAXFILE (1 << 20)
#define BUFSZ (MAXFILE + 65536)
#define REG 3000
#define LOGREC 64
#define NBUCKETS 1248
#define MAXLIST 4096

#define OPS(X) X(create) X(open) X(close) X(read) X(write) X(read_direct) X(write_direct) X(append) \
	X(truncate) X(ftruncate) X(rename) X(unlink) X(link) X(mkdir) X(rmdir) X(readdir) X(stat) \
	X(fstat) X(symlink) X(readlink) X(fsync) X(fdatasync) X(mmap_read) X(mmap_write) X(fallocate) X(copy_file_range)
#define ENUM(n) K_##n,
#define NAME(n) #n,
enum { OPS(ENUM) NOPS };
extern const char *op_names[];

struct inode { unsigned char *data; size_t size, cap; int nlink; };
struct entry { int used, dir, type; char name[40]; struct inode *ino; char target[320]; };

extern const char *mnt;
extern int id, odirect, corrupt, corrupted;
extern uint64_t rng, wseq, name_ctr;
extern uint32_t salt;
extern char own[2048], shared[2048];
extern unsigned char *wbuf, *rbuf;
extern uint64_t bytes_written, bytes_verified, log_records, hot_published, hot_reads;
extern struct entry ent[MAXENT];
extern int nused, sub_used[MAXSUB + 1];
extern int logfd, regfd;
extern unsigned char region[REG];
extern size_t reg_hi;

/* soak-client.c */
uint64_t now_ns(void);
void record(int k, uint64_t ns);
void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
uint64_t rnd(uint64_t n);
size_t rnd_len(size_t max);

/* Times one system call, keeping its errno. */
#define T(k, call) ({ uint64_t t0_ = now_ns(); __auto_type r_ = (call); int e_ = errno; \
	record((k), now_ns() - t0_); errno = e_; r_; })

/* soak-model.c */
void pattern(unsigned char *b, uint64_t off, size_t len, uint64_t seq);
int check(const char *what, const char *path, const unsigned char *exp, uint64_t off, const unsigned char *got, size_t n);
void dir_path(char *out, int dir);
void path_of(char *out, int dir, const char *name);
void resize(struct inode *ino, size_t n);
void model_write(struct inode *ino, uint64_t off, const unsigned char *b, size_t n);
void resync(struct inode *ino, const char *path);
int pick(int type);
int free_ent(void);
int pick_sub(void);
int pick_dir(void);
void new_name(char *out);
void drop(int i);
int xopen(const char *p, int flags, int k);
void xclose(int fd, const char *p);

/* soak-data.c */
void op_create(void);
void op_write(void);
void op_read(void);
void verify(int i, const char *what);
void op_verify(void);
void op_append(void);
void op_truncate(void);
void op_fsync(void);
void op_mmap(void);
void op_mmap_write(void);
void op_fallocate(void);
void op_copy_range(void);

/* soak-names.c */
void op_rename(void);
void op_unlink(void);
void op_link(void);
void op_mkdir(void);
void op_rmdir(void);
void check_dir(int dir);
void op_readdir(void);
void op_stat(void);
void check_link(int i);
void op_symlink(void);
void op_readlink(void);

/* soak-shared.c */
void op_log(void);
void op_region(void);
void op_hot_publish(void);
void op_hot_read(void);
#endif
