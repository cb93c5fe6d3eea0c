/*
 * The lifecycle of a line, in one place for `once` and `run` alike: when a
 * live file is rotated, when a segment is sealed, what a file's facts say
 * is due (policy.c) and the acts that follow (rotate, delete, the options
 * of a rewrite), each said the same way whichever command acts.  The
 * daemon runs these from its tick and its worker; `once` runs them in a
 * row and waits where the daemon would come back later.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lethe.h"

#define LEAD_MIN	120	/* the daemon starts a mask this early at least */
#define ROTATE_SLACK	300	/* a line this much before a boundary in a
				   new live file (a request that started
				   before it) does not make it rotate again */
#define QUIET_UNKNOWN	60	/* quiet seconds that stand for "no writer"
				   when the writer check cannot tell */

/* Print (once: stdout, one line per act) or log (the daemon). */
static void PRINTFLIKE(2, 3)
say(const struct lc_out *o, const char *fmt, ...)
{
	char buf[2 * PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (o->print) {
		printf("%s%s\n", o->dry_run ? "would " : "", buf);
		fflush(stdout);
	} else
		log_info("%s", buf);
}

int64_t
lifecycle_lead(const struct logset *set, int daemon, int64_t sweep)
{
	int64_t lead;

	if (!daemon)
		return set->mask_early;
	/*
	 * The daemon wakes when it is due: a few sweeps and the job's
	 * queue are all the margin a rewrite needs, and the later it
	 * starts, the more of the file one rewrite covers.
	 */
	lead = 2 * sweep > LEAD_MIN ? 2 * sweep : LEAD_MIN;
	return lead < set->mask_early / 2 ? lead : set->mask_early / 2;
}

void
lifecycle_untimed(struct file_facts *ff, int64_t mtime, int pending_full)
{
	if (ff->first_time != TIME_NONE)
		return;
	/* No line has a time: the file's mtime stands for all. */
	ff->first_time = ff->last_time = mtime;
	if (ff->oldest_full != TIME_NONE || pending_full)
		ff->oldest_full = mtime;
}

int
lifecycle_scan(const struct mfile *f, int64_t now, int threads,
    struct stat *st, struct file_facts *ff, struct rewrite_stats *rs)
{
	struct rewrite_opts ro;
	const char *why;
	int fd, rc;

	if ((fd = fsio_openat_file(f->dir->fd, f->name, st, &why)) == -1) {
		/* Gone since discovery (renamed by someone): no warning. */
		if (errno != ENOENT)
			log_warnx("\"%s\": %s", log_esc(f->path), why);
		else
			errno = ENOENT;
		return -1;
	}
	memset(&ro, 0, sizeof(ro));
	ro.format = f->set->format;
	ro.mask_before = TIME_NONE;
	ro.start_time = TIME_NONE;
	ro.audit_before = now - f->set->window;
	ro.now = now;
	ro.holds = f->set->holds;
	ro.threads = threads;
	rc = rewrite_scan(fd, &ro, rs, &why);
	fsio_close(fd);
	memset(ff, 0, sizeof(*ff));
	ff->live = f->live;
	ff->gzip = rs->gzip_in;
	ff->first_time = rs->l.first_time;
	ff->last_time = rs->l.last_time;
	ff->oldest_full = rs->l.oldest_full;
	if (rc == -1) {
		/* What could be read says its age; it is left as it is. */
		ff->damaged = 1;
		log_warnx("\"%s\": %s", log_esc(f->path), why);
		rc = 1;
	}
	if (ff->first_time == TIME_NONE && rs->l.lines > 0)
		log_info("\"%s\": no line has a time; using its mtime",
		    log_esc(f->path));
	lifecycle_untimed(ff, st->st_mtime, rs->l.pending_full != 0);
	return rc;
}

int
lifecycle_rotation_due(const struct logset *set, const struct file_facts *ff,
    uint64_t size, int64_t now, int64_t lead, int64_t *stamp)
{
	struct policy_plan pl;
	int64_t prev;

	*stamp = now;
	if (set->reopen == REOPEN_NONE || size == 0)
		return 0;
	if (set->rotate == ROTATE_SIZE && size >= (uint64_t)set->rotate_size)
		return 1;
	prev = rotate_prev(set, now);
	if (prev != INT64_MIN && ff->first_time != TIME_NONE &&
	    ff->first_time < prev - ROTATE_SLACK) {
		*stamp = prev;
		return 1;
	}
	policy_plan(set, ff, now, lead, &pl);
	return (pl.actions & ACT_ROTATE) != 0;
}

int
lifecycle_rotate(const struct mfile *f, const struct stat *live_st,
    int64_t stamp, char *seg, size_t segsz, const struct lc_out *o)
{
	const char *why = "no free segment name";

	if (rotate_segment_name(f->dir->fd, f->name, stamp, seg, segsz) == -1 ||
	    (!o->dry_run && rotate_file(f->dir->fd, f->name, seg, live_st,
	    &why) == -1)) {
		log_warn("rotate \"%s\": %s", log_esc(f->path), why);
		return -1;
	}
	if (o->print)
		say(o, "rotate %s -> %s/%s", log_esc(f->path),
		    log_esc(f->dir->path), log_esc(seg));
	else
		say(o, "rotated \"%s\" to \"%s\"", log_esc(f->path),
		    log_esc(seg));
	return 0;
}

int
lifecycle_delete(const struct mfile *f, const struct stat *st,
    const struct lc_out *o)
{
	const char *why;

	if (!o->dry_run &&
	    fsio_unlink_checked(f->dir->fd, f->name, st, &why) == -1) {
		log_warn("delete \"%s\": %s", log_esc(f->path), why);
		return -1;
	}
	if (o->print)
		say(o, "delete %s", log_esc(f->path));
	else
		say(o, "deleted \"%s\": its newest line is past retain",
		    log_esc(f->path));
	return 0;
}

/*
 * The options of the rewrite a plan asks for.  *newname: the name a
 * compressed copy takes, or NULL (in place).  Returns 0, or -1 (logged)
 * when the file cannot be compressed under a new name now.
 */
int
lifecycle_rewrite_opts(const struct mfile *f, const struct policy_plan *pl,
    const struct file_facts *ff, int64_t now, struct rewrite_opts *ro,
    char *buf, size_t bufsz, const char **newname)
{
	struct stat st;

	memset(ro, 0, sizeof(*ro));
	ro->now = now;
	ro->format = f->set->format;
	ro->mask_before = (pl->actions & ACT_MASK) ? pl->mask_before :
	    TIME_NONE;
	/* Lines before the first time take the first time. */
	ro->start_time = ff->first_time;
	ro->audit_before = TIME_NONE;
	ro->holds = f->set->holds;
	ro->compress = (pl->actions & ACT_COMPRESS) && !ff->gzip;
	*newname = NULL;
	if (!ro->compress)
		return 0;
	if ((*newname = names_gz(f->name, buf, bufsz)) == NULL)
		return 0;	/* plain text under a .gz name: in place */
	if (**newname == '\0') {
		log_warnx("\"%s\": name too long to compress", log_esc(f->path));
		return -1;
	}
	if (fsio_fstatat(f->dir->fd, *newname, &st) == 0) {
		log_warnx("not compressing \"%s\": \"%s\" exists",
		    log_esc(f->path), log_esc(*newname));
		return -1;
	}
	return 0;
}

void
lifecycle_said_rewrite(const struct mfile *f, int actions,
    const char *newname, uint64_t masked, const struct lc_out *o)
{
	const char *verb = policy_actions_str(actions & (ACT_MASK |
	    ACT_COMPRESS));

	if (o->print && newname != NULL)
		say(o, "%s %s -> %s/%s", verb, log_esc(f->path),
		    log_esc(f->dir->path), log_esc(newname));
	else if (o->print)
		say(o, "%s %s", verb, log_esc(f->path));
	else
		say(o, "%s \"%s\"%s%s%s: %llu addresses masked", verb,
		    log_esc(f->path), newname ? " to \"" : "",
		    newname ? log_esc(newname) : "", newname ? "\"" : "",
		    (unsigned long long)masked);
}

/*
 * Does a process still hold a rotated file open for writing?  1 yes,
 * 0 no, -1 cannot tell (no lease for us, /proc hidden): never "no".
 */
int
lifecycle_writer(const struct mfile *f, const struct stat *st)
{
	int r;

	if ((r = fault_writer()) != -2)
		return r;
	return rotate_has_writer(f->dir->fd, f->name, st->st_dev, st->st_ino);
}

/*
 * May a rotated file be sealed, quiet_for seconds after its last growth?
 * Returns 0 (sealed), or the seconds to wait before asking again.  A
 * writer check that cannot tell fails closed: the file must then have
 * been quiet for QUIET_UNKNOWN at least (said once, *warned).
 */
int64_t
lifecycle_seal_wait(const struct mfile *f, const struct stat *st,
    int64_t quiet_for, int *warned)
{
	int64_t settle = f->set->settle, need;

	if (quiet_for < settle)
		return settle - quiet_for;
	switch (lifecycle_writer(f, st)) {
	case 1:
		log_debug("\"%s\": a writer still holds it", log_esc(f->path));
		return settle > 1 ? settle : 1;
	case 0:
		return 0;
	default:
		need = settle > QUIET_UNKNOWN ? settle : QUIET_UNKNOWN;
		if (!*warned) {
			*warned = 1;
			log_warnx("\"%s\": cannot tell whether a process still "
			    "writes to it (no lease, /proc hidden): sealing it "
			    "once it has been quiet for %llds",
			    log_esc(f->path), (long long)need);
		}
		return quiet_for >= need ? 0 : need - quiet_for;
	}
}

/* Create the live file a segment came from, if it is missing. */
void
lifecycle_recreate_live(const struct mfile *seg)
{
	char live[NAME_MAX + 1];
	const char *why = NULL;
	struct stat st;
	size_t blen = names_rotated_base(seg->name);

	if (blen == 0 || blen >= sizeof(live))
		return;
	memcpy(live, seg->name, blen);
	live[blen] = '\0';
	if (fsio_fstatat(seg->dir->fd, live, &st) == 0 || errno != ENOENT)
		return;
	if (fsio_create_like(seg->dir->fd, live, &seg->st, &why) == -1) {
		if (errno != EEXIST)
			log_warn("create \"%s/%s\": %s",
			    log_esc(seg->dir->path), log_esc(live), why);
		return;
	}
	log_info("created \"%s/%s\" again", log_esc(seg->dir->path),
	    log_esc(live));
}

/* The one summary line of a file with lines not understood. */
void
lifecycle_said_lines(const char *path, const struct line_stats *ls)
{
	if (ls->bad == 0)
		return;
	log_warnx("\"%s\": %llu of %llu lines not understood (first at line "
	    "%llu)%s", log_esc(path), (unsigned long long)ls->bad,
	    (unsigned long long)ls->lines, (unsigned long long)ls->bad_first,
	    ls->long_lines > 0 ? ", some longer than 1 MiB" : "");
}
