/*
 * Following a lone caller: the loop's thread moves to the CPU of a caller that sends one request at
 * a time, and runs at SCHED_IDLE while it is there (loop-thread model only, option followCaller).
 *
 * Why: a caller on CPU c is woken by our COMMIT_AND_FETCH. Apart, every request costs two
 * cross-CPU wake-ups (ours by the kernel's task_work, the caller's by our commit), and waking a
 * halted vCPU goes through the host. Together on c at normal priority, the scheduler sees c busy
 * (we are running) and the other CPU idle, so it wakes the caller over there: it moves on almost
 * every request (measured: 52,028 moves in 58,117 requests). A CPU that runs only SCHED_IDLE tasks
 * counts as idle for wake-up placement, so the caller is woken where it was, preempts us at once,
 * and runs while we wait; when it blocks on its next request we run. One CPU serves the pair, with
 * no wake-up crossing CPUs (docs/performance.md, seventh session).
 *
 * What could go wrong, and what stops it:
 *   - A caller with many requests in flight (libaio) wants both CPUs: requests that arrive while
 *     another is still held, or from another queue, end the following.
 *   - A task of normal priority on that CPU would starve us: a flush (our commit) that takes more
 *     than SLOW_FLUSH_NS of wall time means we waited for the CPU that long; a few of them end the
 *     following, and it is not tried again for a backoff that doubles up to MAX_BACKOFF_NS.
 *   - Leaving SCHED_IDLE needs CAP_SYS_NICE or RLIMIT_NICE: without either we never enter it.
 *   - The thread's affinity and priority are put back as they were when the following ends.
 *   - What the thread starts while it follows would inherit SCHED_IDLE: libuv's thread pool is
 *     started before the first following, a child process goes back to SCHED_OTHER right after
 *     fork, and threads started meanwhile (worker_threads, an addon's) are put back to SCHED_OTHER
 *     when the following ends.
 */
#include "channel.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define FOLLOW_AFTER 8                  /* shallow requests in a row from one CPU ... */
#define LONE_NS 300000ull                /* ... over at least this long */
#define BAD_LIMIT 4                     /* stray or deep requests among the last 16 that end it */
#define SLOW_FLUSH_NS 1000000ull        /* a commit this long: we waited for the CPU */
#define SLOW_LIMIT 4                    /* slow flushes among the last 32 that end it */
#define BASE_BACKOFF_NS 1000000000ull
#define MAX_BACKOFF_NS 32000000000ull
#define GOOD_FOLLOW_NS 10000000000ull   /* a following that lasted this long resets the backoff */
#define BASE_MIX_BACKOFF_NS 10000000ull  /* after two callers were taken for one: 10 ms, doubling ... */
#define MAX_MIX_BACKOFF_NS 2000000000ull /* ... up to 2 s */
#define GOOD_MIX_NS 1000000000ull        /* a following that lasted this long resets that backoff */

/* Whether this process may go from SCHED_IDLE back to SCHED_OTHER (sched(7): RLIMIT_NICE or CAP_SYS_NICE). */
static int can_leave_idle(void)
{
	struct rlimit rl;
	errno = 0;
	int nice = getpriority(PRIO_PROCESS, 0);
	if (errno == 0 && getrlimit(RLIMIT_NICE, &rl) == 0 && (rl.rlim_cur == RLIM_INFINITY || (long)rl.rlim_cur >= 20 - nice))
		return 1;
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	if (syscall(SYS_capget, &hdr, data)) return 0;
	return (data[CAP_SYS_NICE / 32].effective >> (CAP_SYS_NICE % 32)) & 1;
}

/* Whether the process's loop thread follows now: a fork's child must not stay at SCHED_IDLE. */
static volatile int any_following;

static void child_after_fork(void)
{
	struct sched_param p = { 0 };
	if (any_following && sched_getscheduler(0) == SCHED_IDLE) (void)sched_setscheduler(0, SCHED_OTHER, &p);
}

static void noop_work(uv_work_t *w)
{
	(void)w;
}

static void noop_done(uv_work_t *w, int status)
{
	(void)w;
	(void)status;
}

/* Once per process, from the loop's thread at normal priority: the fork hook, and libuv's thread
 * pool (started by its first job, with the policy of the thread that queued it). */
static void prepare_process(uv_loop_t *loop)
{
	static int done;
	static uv_work_t job;
	if (done) return;
	done = 1;
	(void)pthread_atfork(NULL, NULL, child_after_fork);
	(void)uv_queue_work(loop, &job, noop_work, noop_done);
}

/* Threads started while we were at SCHED_IDLE inherited it: back to SCHED_OTHER. Once per following. */
static void reset_inherited(struct channel_follow *f)
{
	DIR *d = opendir("/proc/self/task");
	if (!d) return;
	struct sched_param p = { 0 };
	for (struct dirent *e; (e = readdir(d));) {
		int tid = atoi(e->d_name);
		if (tid > 0 && tid != f->tid && sched_getscheduler(tid) == SCHED_IDLE) (void)sched_setscheduler(tid, SCHED_OTHER, &p);
	}
	closedir(d);
}

void follow_init(struct channel *ch, int on, uv_loop_t *loop)
{
	ch->fl.enabled = on && loop && can_leave_idle();
	if (ch->fl.enabled) prepare_process(loop);
	ch->fl.cpu = ch->fl.cand = -1;
	ch->fl.backoff_ns = BASE_BACKOFF_NS;
	ch->fl.mix_backoff_ns = BASE_MIX_BACKOFF_NS;
	ch->fl.stray_cpu = -1;
}

static void start_following(struct channel *ch, int cpu)
{
	struct channel_follow *f = &ch->fl;
	cpu_set_t one;
	struct sched_param idle = { 0 };
	if (f->cpu < 0) {
		/* only a thread left as the process made it: a policy or a pin of the user's is kept */
		if (sched_getaffinity(0, sizeof(f->orig), &f->orig) || !CPU_ISSET(cpu, &f->orig)) return;
		int pol = sched_getscheduler(0);
		if (pol != SCHED_OTHER || sched_getparam(0, &f->orig_param)) return;
		if (sched_setscheduler(0, SCHED_IDLE, &idle)) return;
		f->tid = (int)syscall(SYS_gettid);
		f->since = now_ns();
	}
	if (!CPU_ISSET(cpu, &f->orig)) return;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (sched_setaffinity(0, sizeof(one), &one)) {
		if (f->cpu < 0) (void)sched_setscheduler(0, SCHED_OTHER, &f->orig_param);
		return;
	}
	f->cpu = cpu;
	any_following = 1;
	f->bad = f->slow = 0;
	f->stray_run = 0;
	f->stray_cpu = -1;
	ch->st.follows++;
}

/* Pins the loop's thread to `cpu` at SCHED_IDLE, as following a caller there does. */
void follow_pin(struct channel *ch, int cpu)
{
	if (ch->fl.enabled && ch->fl.cpu != cpu) start_following(ch, cpu);
}

/* Back to the affinity and policy the thread had (by tid: a teardown may run elsewhere). */
void follow_stop(struct channel *ch)
{
	struct channel_follow *f = &ch->fl;
	if (f->cpu < 0) return;
	pid_t tid = f->tid;
	(void)sched_setaffinity(tid, sizeof(f->orig), &f->orig);
	(void)sched_setscheduler(tid, SCHED_OTHER, &f->orig_param);
	any_following = 0;
	reset_inherited(f);
	uint64_t now = now_ns();
	if (now - f->since >= GOOD_FOLLOW_NS) f->backoff_ns = BASE_BACKOFF_NS;
	f->cpu = f->cand = -1;
	ch->st.unfollows++;
}

/* Per request from the ring (qid = the caller's CPU). */
void follow_note(struct channel *ch, unsigned qid)
{
	struct channel_follow *f = &ch->fl;
	int deep = ch->ring_held > 2; /* two more still held: callers that do not wait (two can come together: a RELEASE and the next LOOKUP) */
	if (f->cpu >= 0) {
		int stray = !deep && (int)qid != f->cpu;
		f->stray_run = stray && (int)qid == f->stray_cpu ? f->stray_run + 1 : stray;
		f->stray_cpu = stray ? (int)qid : -1;
		f->bad = (f->bad << 1) | (uint32_t)(deep || stray);
		if (f->stray_run >= BAD_LIMIT) {
			/* only the other CPU's requests now: the caller moved (the load balancer does that), and
			 * the same following goes on there: a new pin, still SCHED_IDLE */
			f->mix_backoff_ns = BASE_MIX_BACKOFF_NS;
			start_following(ch, (int)qid);
		} else if (__builtin_popcount(f->bad & 0xffff) >= BAD_LIMIT) {
			/* requests that overlap, or from two CPUs in turn: not a lone caller after all */
			uint64_t now = now_ns();
			if (now - f->since >= GOOD_MIX_NS) f->mix_backoff_ns = BASE_MIX_BACKOFF_NS;
			follow_stop(ch);
			f->resume_at = now + f->mix_backoff_ns;
			if (f->mix_backoff_ns < MAX_MIX_BACKOFF_NS) f->mix_backoff_ns *= 2;
		}
		return;
	}
	if (deep) {
		f->cand = -1;
		return;
	}
	/* a lone caller: FOLLOW_AFTER requests and LONE_NS with none from another CPU in between (two
	 * callers interleave, even when one of them is much faster than the other) */
	uint64_t now = now_ns();
	if ((int)qid != f->cand) {
		f->cand = (int)qid;
		f->run = 0;
		f->cand_since = now;
	}
	if (++f->run < FOLLOW_AFTER || now - f->cand_since < LONE_NS || now < f->resume_at) return;
	start_following(ch, (int)qid);
}

/* Around the commits' io_uring_enter: while following, the caller we woke runs first, then us. */
void follow_flushed(struct channel *ch, uint64_t took_ns)
{
	struct channel_follow *f = &ch->fl;
	if (f->cpu < 0) return;
	f->slow = (f->slow << 1) | (uint32_t)(took_ns > SLOW_FLUSH_NS);
	if (__builtin_popcount(f->slow) < SLOW_LIMIT) return;
	ch->st.follow_starved++;
	follow_stop(ch);
	f->resume_at = now_ns() + f->backoff_ns;
	if (f->backoff_ns < MAX_BACKOFF_NS) f->backoff_ns *= 2;
}
