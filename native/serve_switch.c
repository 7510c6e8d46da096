/*
 * Serving "auto": the loop's thread serves the ring while one caller at a time sends requests; while
 * two CPUs send them at once it serves the queue of its own CPU (pinned there at SCHED_IDLE, as when
 * following a caller) and the queue threads hand it the other CPUs' requests; when those hand-offs
 * wait for a CPU, the loop's thread serves everything again.
 *
 * Why: each model wins where the other loses (docs/performance.md). The loop's thread, following a
 * lone caller (follow.c), serves it at 9–10 µs of CPU per 4 KiB read, queue threads at 21–22 µs.
 * Two callers on two CPUs get 94–108k reads/s from the loop's thread alone, 100–131k from queue
 * threads for every CPU, and 157–164k when the loop's thread keeps its own CPU's queue: that
 * caller's requests and replies then never cross CPUs, and a SCHED_IDLE thread leaves the CPU
 * to the caller the moment it is woken (the C model `mixed` in bench/queue-threads.c). A busy task
 * on a CPU makes every hand-off wait for its slice (1–3k reads/s) while the loop's thread alone
 * keeps 22–107k.
 *
 * How an entry changes hands: the kernel delivers an entry's next request to the ring (and the task)
 * whose COMMIT_AND_FETCH it got last. So switching is only a choice of where the answers go; each
 * entry moves with its next answer, and requests still arriving on the other side are served there
 * once more. The threads' rings exist from the start (qt_setup without REGISTERs) and the loop
 * watches both; a thread is told of an entry it posted that left for the loop's ring (qt_drop).
 *
 * The signal: requests from another queue than the one before (qid = the caller's CPU). A lone
 * caller, even one the load balancer moves, or one with many requests in flight (libaio), sends a
 * run from one queue; two callers interleave.
 */
#include "channel.h"

#include <sched.h>

#define WINDOW 64                       /* requests looked at (a bit each) */
#define TO_THREADS_TURNS 16             /* of the last WINDOW that came from another queue: two callers */
#define TO_LOOP_TURNS 2                 /* at most this many: one caller again */
#define SLOW_HANDOFF_NS 1000000ull      /* posts picked up this late: the loop's thread waited for a CPU */
#define SLOW_LIMIT 4                    /* slow pick-ups among the last 32 that send it back */
#define BASE_BACKOFF_NS 1000000000ull   /* then threads are not tried again for 1 s, doubling ... */
#define MAX_BACKOFF_NS 32000000000ull   /* ... up to 32 s */
#define GOOD_THREADS_NS 10000000000ull  /* threads that served this long without waiting reset it */

void switch_init(struct channel *ch, int on)
{
	/* once, at setup, on the zeroed channel */
	ch->sw.enabled = on && queue_threads_on(ch) && ch->has_ring;
	ch->sw.last_qid = -1;
	ch->sw.backoff_ns = BASE_BACKOFF_NS;
}

static void to_threads(struct channel *ch, uint64_t now)
{
	/* the loop's thread keeps (or takes) its CPU at SCHED_IDLE and serves that queue itself; without
	 * following (option off, or no CAP_SYS_NICE) the threads serve every queue */
	follow_pin(ch, sched_getcpu());
	ch->threaded = 1;
	ch->sw.since = now;
	ch->sw.seen = 0;
	ch->sw.slow = 0;
	ch->qt_local_run = 0;
	ch->st.to_threads++;
}

static void to_loop(struct channel *ch)
{
	ch->threaded = 0;
	ch->sw.seen = 0;
	ch->st.to_loop++;
}

/* Per request, from either side. */
void switch_note(struct channel *ch, unsigned qid)
{
	struct channel_switch *sw = &ch->sw;
	sw->turns = (sw->turns << 1) | (uint64_t)((int)qid != sw->last_qid);
	sw->last_qid = (int)qid;
	if (++sw->seen < WINDOW) return;
	int turns = __builtin_popcountll(sw->turns);
	if (!ch->threaded) {
		if (turns < TO_THREADS_TURNS) return;
		uint64_t now = now_ns();
		if (now >= sw->resume_at) to_threads(ch, now);
	} else if (turns <= TO_LOOP_TURNS) {
		to_loop(ch);
	}
}

/* Per reap of a thread's posts while the threads serve: how late the newest was picked up. */
void switch_handoff(struct channel *ch, uint64_t late_ns)
{
	struct channel_switch *sw = &ch->sw;
	sw->slow = (sw->slow << 1) | (uint32_t)(late_ns > SLOW_HANDOFF_NS);
	if (__builtin_popcount(sw->slow) < SLOW_LIMIT) return;
	uint64_t now = now_ns();
	if (now - sw->since >= GOOD_THREADS_NS) sw->backoff_ns = BASE_BACKOFF_NS;
	ch->st.switch_starved++;
	follow_stop(ch); /* the CPU the loop's thread kept is the busy one, likely */
	to_loop(ch);
	sw->resume_at = now + sw->backoff_ns;
	if (sw->backoff_ns < MAX_BACKOFF_NS) sw->backoff_ns *= 2;
}
