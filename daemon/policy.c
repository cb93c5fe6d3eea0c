/*
 * Policy: from what we know of a file, the config of its set and the
 * current time, which actions are due now and when the next one will be.
 * Pure: no clock, no filesystem; the daemon arms its one timer from
 * next_due, and `once` performs what is due.
 *
 * Never late: a line's full address may be masked mask_early before the
 * window ends, and must be by the time it does.  A rewrite masks every
 * line with a time up to now - window + mask_early (one rewrite covers as
 * much as it may), and starts `lead` before the oldest full address
 * reaches the window: `once` uses lead = mask_early, so that runs at
 * least every mask_early are never late; the daemon, which wakes when it
 * is due, a few minutes.
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

static void
policy_mask(const struct logset *set, const struct file_facts *ff,
    int64_t now, int64_t lead, struct policy_plan *pl)
{
	int64_t due;

	if (ff->oldest_full == TIME_NONE)
		return;
	/* A mirror of pseudonyms: they die with their day key, unwritten. */
	if (set->mirror_of != NULL && set->transform == TRANSFORM_PSEUDONYM)
		return;
	if (ff->live && set->reopen != REOPEN_NONE &&
	    set->rotate != ROTATE_OFF) {
		/*
		 * The file a server writes to is never rewritten: rotate it
		 * mask_early before its oldest full address passes the
		 * window, so the segment is sealed and masked in time.
		 */
		due = ff->oldest_full + set->window - set->mask_early;
		if (due <= now)
			pl->actions |= ACT_ROTATE;
		else
			policy_due(pl, due);
		return;
	}
	if (ff->live) {
		due = ff->oldest_full + set->window;
		if (due <= now)
			pl->actions |= ACT_WARN_LIVE;	/* audit reports it */
		else
			policy_due(pl, due);
		return;
	}
	if (ff->damaged)
		return;		/* left as it is: audit reports it */
	due = ff->oldest_full + set->window - lead;
	if (due > now) {
		policy_due(pl, due);
		return;
	}
	pl->actions |= ACT_MASK;
	/* Lines with a time up to cut are masked: mask_before = cut + 1. */
	pl->mask_before = now - set->window + set->mask_early + 1;
	/* Whatever stays full after the pass is this young at least. */
	policy_due(pl, pl->mask_before + set->window - lead);
}

void
policy_plan(const struct logset *set, const struct file_facts *ff,
    int64_t now, int64_t lead, struct policy_plan *pl)
{
	int64_t due;

	pl->actions = 0;
	pl->mask_before = TIME_NONE;
	pl->next_due = INT64_MAX;
	if (lead > set->mask_early)
		lead = set->mask_early;
	if (!ff->live && ff->last_time != TIME_NONE) {
		due = ff->last_time + set->retain;
		if (due <= now) {
			pl->actions = ACT_DELETE;
			return;
		}
		policy_due(pl, due);
	}
	policy_mask(set, ff, now, lead, pl);
	if (!ff->live && !ff->gzip && !ff->damaged &&
	    set->compress_after >= 0 && ff->last_time != TIME_NONE) {
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
