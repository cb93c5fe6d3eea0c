/* Policy: which actions are due, and when the next one is. */
#include <stdint.h>

#include "lethe.h"
#include "t.h"

#define H	3600
#define D	(24 * H)
#define NOW	((int64_t)1796000000)

static struct logset
set_default(void)
{
	struct logset s;

	memset(&s, 0, sizeof(s));
	s.window = 7 * D;
	s.retain = 90 * D;
	s.compress_after = 1 * H;
	s.mask_early = 1 * H;
	s.rotate = ROTATE_OFF;
	return s;
}

static struct file_facts
facts(int live, int gzip, int64_t first, int64_t last, int64_t oldest_full)
{
	struct file_facts f;

	memset(&f, 0, sizeof(f));
	f.live = live;
	f.gzip = gzip;
	f.first_time = first;
	f.last_time = last;
	f.oldest_full = oldest_full;
	return f;
}

#define LEAD_ONCE	H		/* once: lead = mask_early */
#define LEAD_DAEMON	(2 * 60)

static void
t_nothing_due(void)
{
	struct logset s = set_default();
	struct file_facts f = facts(0, 1, NOW - 2 * D, NOW - D, NOW - 2 * D);
	struct policy_plan pl;

	policy_plan(&s, &f, NOW, LEAD_ONCE, &pl);
	T_EQ_INT(pl.actions, 0);
	/* next: mask_early before the oldest full address reaches the window */
	T_EQ_INT(pl.next_due, NOW - 2 * D + 7 * D - H);
	policy_plan(&s, &f, NOW, LEAD_DAEMON, &pl);
	T_EQ_INT(pl.next_due, NOW - 2 * D + 7 * D - LEAD_DAEMON);
}

static void
t_mask_due(void)
{
	struct logset s = set_default();
	struct file_facts f = facts(0, 1, NOW - 8 * D, NOW - 5 * D, NOW - 8 * D);
	struct policy_plan pl;

	policy_plan(&s, &f, NOW, LEAD_ONCE, &pl);
	T_EQ_INT(pl.actions, ACT_MASK);
	/* every line with a time up to now - window + mask_early */
	T_EQ_INT(pl.mask_before, NOW - 7 * D + H + 1);
	/* what stays full is younger: due again when it nears the window */
	T_EQ_INT(pl.next_due, NOW + 1);
	policy_plan(&s, &f, NOW, LEAD_DAEMON, &pl);
	T_EQ_INT(pl.next_due, NOW + H + 1 - LEAD_DAEMON);
}

static void
t_mask_lead(void)
{
	struct logset s = set_default();
	struct file_facts f = facts(0, 1, NOW - 7 * D, NOW - 6 * D,
	    NOW - 7 * D + H);
	struct policy_plan pl;

	/* once: due exactly mask_early before the window */
	policy_plan(&s, &f, NOW, LEAD_ONCE, &pl);
	T_EQ_INT(pl.actions, ACT_MASK);
	f.oldest_full = NOW - 7 * D + H + 1;
	policy_plan(&s, &f, NOW, LEAD_ONCE, &pl);
	T_EQ_INT(pl.actions, 0);
	T_EQ_INT(pl.next_due, NOW + 1);
	/* the daemon: its lead before the window; never more than mask_early */
	f.oldest_full = NOW - 7 * D + LEAD_DAEMON;
	policy_plan(&s, &f, NOW, LEAD_DAEMON, &pl);
	T_EQ_INT(pl.actions, ACT_MASK);
	f.oldest_full = NOW - 7 * D + 2 * H;
	policy_plan(&s, &f, NOW, 5 * H, &pl);
	T_EQ_INT(pl.actions, 0);
}

static void
t_mask_and_compress_one_pass(void)
{
	struct logset s = set_default();
	struct file_facts f = facts(0, 0, NOW - 9 * D, NOW - 8 * D, NOW - 9 * D);
	struct policy_plan pl;

	policy_plan(&s, &f, NOW, LEAD_ONCE, &pl);
	T_EQ_INT(pl.actions, ACT_MASK | ACT_COMPRESS);
}

static void
t_compress_only(void)
{
	struct logset s = set_default();
	struct file_facts f = facts(0, 0, NOW - 3 * H, NOW - 2 * H, NOW - 3 * H);
	struct policy_plan pl;

	policy_plan(&s, &f, NOW, LEAD_ONCE, &pl);
	T_EQ_INT(pl.actions, ACT_COMPRESS);
	f.last_time = NOW - 30 * 60;
	policy_plan(&s, &f, NOW, LEAD_ONCE, &pl);
	T_EQ_INT(pl.actions, 0);
	T_EQ_INT(pl.next_due, NOW + 30 * 60);
	s.compress_after = -1;
	f.last_time = NOW - 5 * D;
	policy_plan(&s, &f, NOW, LEAD_ONCE, &pl);
	T_EQ_INT(pl.actions, 0);
}

static void
t_delete_wins(void)
{
	struct logset s = set_default();
	struct file_facts f = facts(0, 0, NOW - 92 * D, NOW - 91 * D,
	    NOW - 92 * D);
	struct policy_plan pl;

	policy_plan(&s, &f, NOW, LEAD_ONCE, &pl);
	T_EQ_INT(pl.actions, ACT_DELETE);
	f.last_time = NOW - 90 * D + 1;
	policy_plan(&s, &f, NOW, LEAD_ONCE, &pl);
	T_ASSERT((pl.actions & ACT_DELETE) == 0);
	T_ASSERT(pl.actions & ACT_MASK);
}

/* A damaged file is never rewritten, only deleted past retain. */
static void
t_damaged_left(void)
{
	struct logset s = set_default();
	struct file_facts f = facts(0, 0, NOW - 9 * D, NOW - 8 * D, NOW - 9 * D);
	struct policy_plan pl;

	f.damaged = 1;
	policy_plan(&s, &f, NOW, LEAD_ONCE, &pl);
	T_EQ_INT(pl.actions, 0);
	T_EQ_INT(pl.next_due, NOW - 8 * D + 90 * D);
	f.last_time = NOW - 91 * D;
	policy_plan(&s, &f, NOW, LEAD_ONCE, &pl);
	T_EQ_INT(pl.actions, ACT_DELETE);
}

static void
t_live_never_rewritten(void)
{
	struct logset s = set_default();
	struct file_facts f = facts(1, 0, NOW - 100 * D, NOW, NOW - 100 * D);
	struct policy_plan pl;

	policy_plan(&s, &f, NOW, LEAD_ONCE, &pl);
	T_EQ_INT(pl.actions, ACT_WARN_LIVE);
	s.reopen = REOPEN_SIGNAL;		/* rotate = off: not ours */
	policy_plan(&s, &f, NOW, LEAD_ONCE, &pl);
	T_EQ_INT(pl.actions, ACT_WARN_LIVE);
	s.rotate = ROTATE_INTERVAL;
	policy_plan(&s, &f, NOW, LEAD_ONCE, &pl);
	T_EQ_INT(pl.actions, ACT_ROTATE);
	/* rotated mask_early before the window, so masking is never late */
	f.oldest_full = NOW - 7 * D + H;
	policy_plan(&s, &f, NOW, LEAD_DAEMON, &pl);
	T_EQ_INT(pl.actions, ACT_ROTATE);
	f.oldest_full = NOW - 7 * D + H + 1;
	policy_plan(&s, &f, NOW, LEAD_DAEMON, &pl);
	T_EQ_INT(pl.actions, 0);
	T_EQ_INT(pl.next_due, NOW + 1);
	/* without a reopen hook it may not rotate: a warning at the window */
	s.reopen = REOPEN_NONE;
	policy_plan(&s, &f, NOW, LEAD_ONCE, &pl);
	T_EQ_INT(pl.actions, 0);
	T_EQ_INT(pl.next_due, NOW + H + 1);
}

static void
t_masked_file_rests(void)
{
	struct logset s = set_default();
	struct file_facts f = facts(0, 1, NOW - 20 * D, NOW - 10 * D,
	    TIME_NONE);
	struct policy_plan pl;

	policy_plan(&s, &f, NOW, LEAD_ONCE, &pl);
	T_EQ_INT(pl.actions, 0);
	T_EQ_INT(pl.next_due, NOW - 10 * D + 90 * D);
}

/*
 * One line a second for a day: runs every `every` seconds with the lead
 * of `lead`.  Never late (nothing full older than the window at any
 * instant between runs), never early by more than mask_early, and the
 * number of rewrites.
 */
static int
cadence(int64_t every, int64_t lead)
{
	struct logset s = set_default();
	struct file_facts f = facts(0, 1, NOW - 7 * D, NOW, NOW - 7 * D + H);
	struct policy_plan pl;
	int64_t now = NOW, t;
	int rewrites = 0;

	for (; now < NOW + D; now += every) {
		policy_plan(&s, &f, now, lead, &pl);
		if (pl.actions & ACT_MASK) {
			rewrites++;
			/* the first line left full */
			f.oldest_full = pl.mask_before;
			T_ASSERT(pl.mask_before - 1 <= now - s.window +
			    s.mask_early);
		}
		/* never late: at every instant up to the next run */
		t = now + every - 1;
		T_ASSERT(f.oldest_full + s.window > t);
	}
	return rewrites;
}

static void
t_never_late(void)
{
	/* once every mask_early, and more often */
	T_EQ_INT(cadence(H, LEAD_ONCE), 24);
	T_ASSERT(cadence(10 * 60, LEAD_ONCE) > 0);
	T_ASSERT(cadence(60, LEAD_ONCE) > 0);
	/* the daemon, woken when due: a rewrite per mask_early - lead */
	T_ASSERT(cadence(60, LEAD_DAEMON) <= 26);
}

static void
t_actions_str(void)
{
	T_EQ_STR(policy_actions_str(ACT_MASK | ACT_COMPRESS), "mask+compress");
	T_EQ_STR(policy_actions_str(0), "none");
	T_EQ_STR(policy_actions_str(ACT_DELETE), "delete");
}

static const struct t_case cases[] = {
	{ "nothing_due", t_nothing_due },
	{ "mask_due", t_mask_due },
	{ "mask_lead", t_mask_lead },
	{ "mask_and_compress_one_pass", t_mask_and_compress_one_pass },
	{ "compress_only", t_compress_only },
	{ "delete_wins", t_delete_wins },
	{ "damaged_left", t_damaged_left },
	{ "live_never_rewritten", t_live_never_rewritten },
	{ "masked_file_rests", t_masked_file_rests },
	{ "never_late", t_never_late },
	{ "actions_str", t_actions_str },
	{ NULL, NULL },
};

int
main(int argc, char **argv)
{
	return t_main(cases, argc, argv);
}
