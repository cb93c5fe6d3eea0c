/*
 * Policy: from what we know of a file, the config of its set and the
 * current time, which actions are due now and when the next one will be.
 * Pure: no clock, no filesystem; the daemon arms its one timer from
 * next_due, and `once` performs what is due.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lethe.h"

static void
policy_due(struct policy_plan *pl, int64_t t)
{
	if (t < pl->next_due)
		pl->next_due = t;
}

/*
 * A file whose oldest full address has passed the window is masked up to
 * now - window + mask_early: one rewrite covers mask_early of its span, so
 * a file is rewritten about once per mask_early and never late.
 */
static void
policy_mask(const struct logset *set, const struct file_facts *ff,
    int64_t now, struct policy_plan *pl)
{
	int64_t due;

	if (ff->oldest_full == TIME_NONE)
		return;
	due = ff->oldest_full + set->window;
	if (ff->live && set->reopen != REOPEN_NONE &&
	    set->rotate != ROTATE_OFF) {
		/*
		 * The file a server writes to is never rewritten: rotate it
		 * mask_early before its oldest full address passes the window,
		 * so the segment is sealed and masked in time.
		 */
		due -= set->mask_early;
		if (due <= now)
			pl->actions |= ACT_ROTATE;
		else
			policy_due(pl, due);
		return;
	}
	if (due > now) {
		policy_due(pl, due);
		return;
	}
	if (ff->live) {
		pl->actions |= ACT_WARN_LIVE;	/* and audit reports it */
		return;
	}
	pl->actions |= ACT_MASK;
	pl->mask_before = now - set->window + set->mask_early;
	/* Whatever stays full after the pass is at least this young. */
	policy_due(pl, pl->mask_before + set->window);
}

void
policy_plan(const struct logset *set, const struct file_facts *ff,
    int64_t now, struct policy_plan *pl)
{
	int64_t due;

	pl->actions = 0;
	pl->mask_before = TIME_NONE;
	pl->next_due = INT64_MAX;

	if (!ff->live && ff->last_time != TIME_NONE) {
		due = ff->last_time + set->retain;
		if (due <= now) {
			pl->actions = ACT_DELETE;
			return;
		}
		policy_due(pl, due);
	}
	policy_mask(set, ff, now, pl);
	if (!ff->live && !ff->gzip && set->compress_after >= 0 &&
	    ff->last_time != TIME_NONE) {
		due = ff->last_time + set->compress_after;
		if (due <= now)
			pl->actions |= ACT_COMPRESS;
		else
			policy_due(pl, due);
	}
}

const char *
policy_actions_str(int actions)
{
	static char buf[64];

	buf[0] = '\0';
	if (actions & ACT_DELETE)
		strlcat(buf, "+delete", sizeof(buf));
	if (actions & ACT_ROTATE)
		strlcat(buf, "+rotate", sizeof(buf));
	if (actions & ACT_MASK)
		strlcat(buf, "+mask", sizeof(buf));
	if (actions & ACT_COMPRESS)
		strlcat(buf, "+compress", sizeof(buf));
	if (actions & ACT_WARN_LIVE)
		strlcat(buf, "+warn-live", sizeof(buf));
	return buf[0] == '\0' ? "none" : buf + 1;
}
