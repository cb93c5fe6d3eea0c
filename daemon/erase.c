/*
 * One erase request over a list of files, for `erase`, `once` and the
 * daemon's worker alike: each file is searched for the request's full
 * addresses on lines made before the request; one that holds any is
 * rewritten with them masked (xform.c's erase transform, through
 * rewrite_file: a temp file that replaces the file read, checked at the
 * act), unless a server writes to it (the live file, a segment not yet
 * sealed): that one is left, and counted, for its rotation.  Then every
 * file is searched again: the verifying find of the receipt.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lethe.h"

static int
open_target(const struct etarget *t, struct stat *st, const char **why)
{
	return fsio_openat_file(t->dfd, t->name, st, why);
}

/* A pass of the transform xf over t's lines. */
static void
pass_opts(struct rewrite_opts *ro, const struct etarget *t, int64_t now,
    const struct xform *xf, const volatile int *cancel)
{
	memset(ro, 0, sizeof(*ro));
	ro->format = t->format;
	ro->mask_before = TIME_NONE;
	ro->start_time = TIME_NONE;
	ro->audit_before = TIME_NONE;
	ro->now = now;
	ro->xform = xf;
	ro->cancel = cancel;
}

/* Full lines of the request in t before the request: 0 and *n, or -1. */
static int
held(const struct request *r, const struct etarget *t, int64_t now,
    struct stat *st, struct xform_match *x, const volatile int *cancel,
    const char **why)
{
	struct rewrite_opts ro;
	struct rewrite_stats rs;
	struct xform xf;
	int fd, rc;

	if ((fd = open_target(t, st, why)) == -1)
		return -1;
	xform_match_init(x, r->nets, r->nnets, &t->prefix);
	x->until = r->time;
	x->untimed = 1;		/* before the first time: older still */
	xf.ops = &xform_find_ops;
	xf.arg = x;
	pass_opts(&ro, t, now, &xf, cancel);
	rc = rewrite_scan(fd, &ro, &rs, why);
	fsio_close(fd);
	xform_match_release(x);
	return rc;
}

static int
erase_one(const struct request *r, struct etarget *t, const struct stat *st,
    int64_t now, const volatile int *cancel)
{
	struct rewrite_opts ro;
	struct rewrite_stats rs;
	struct xform_match x;
	struct xform xf;
	const char *why;

	xform_match_init(&x, r->nets, r->nnets, &t->prefix);
	xf.ops = &xform_erase_ops;
	xf.arg = &x;
	pass_opts(&ro, t, now, &xf, cancel);
	if (rewrite_file(t->dfd, t->name, NULL, st, &ro, &rs, &why) == -1) {
		t->why = why;
		t->retry = errno == ESTALE || errno == EAGAIN ||
		    errno == ECANCELED;
		log_warnx("erase in \"%s\": %s%s", log_esc(t->path), why,
		    t->retry ? " (tried again later)" : "");
		return -1;
	}
	t->erased += x.changed;
	xform_match_release(&x);
	return 0;
}

int
erase_pass(struct request *r, struct etarget *v, size_t n, int64_t now,
    const volatile int *cancel, int rdfd)
{
	struct xform_match x;
	struct stat st;
	const char *why;
	size_t i;
	int failed = 0;

	for (i = 0; i < n; i++) {
		v[i].erased = 0;
		v[i].held = 0;
		v[i].why = NULL;
		v[i].retry = 0;
		if (held(r, &v[i], now, &st, &x, cancel, &why) == -1) {
			if (errno == ENOENT)
				continue;	/* moved: the verify says */
			v[i].why = why;
			v[i].retry = errno == ECANCELED;
			log_warnx("erase: \"%s\": %s", log_esc(v[i].path), why);
			failed++;
			continue;
		}
		if (x.full == 0 || v[i].live || v[i].busy)
			continue;
		if (erase_one(r, &v[i], &st, now, cancel) == -1) {
			failed++;
			continue;
		}
		/* The receipt's files survive a kill from here on. */
		request_add_lines(r, v[i].path, v[i].erased);
		if (rdfd != -1 && request_save(rdfd, r) == -1)
			log_warn("save request \"%s\"", r->id);
	}
	return failed ? -1 : 0;
}

int
erase_verify(const struct request *r, struct etarget *v, size_t n,
    int64_t now, const volatile int *cancel, struct request_verify *vf)
{
	struct xform_match x;
	struct stat st;
	const char *why;
	size_t i;
	int failed = 0;

	memset(vf, 0, sizeof(*vf));
	for (i = 0; i < n; i++) {
		v[i].held = 0;
		if (held(r, &v[i], now, &st, &x, cancel, &why) == -1) {
			if (errno == ENOENT)
				vf->moved++;	/* renamed: look again */
			else {
				v[i].why = why;
				failed++;
			}
			continue;
		}
		vf->files++;
		v[i].held = x.full;
		vf->lines += x.full;
		vf->masked += x.masked;
		vf->full += x.full;
		vf->in_prefix += x.in_prefix;
	}
	return failed ? -1 : 0;
}

/* The receipt of r as dfd/name. */
static int
write_receipt(int rdfd, const char *name, const struct request *r,
    const char *status, const char *pending, int blocked,
    const struct request_verify *vf, int64_t now)
{
	char *buf;
	size_t len;
	int rc;

	buf = request_receipt(r, status, pending, blocked, vf, now, &len);
	rc = store_write(rdfd, name, buf, len);
	free(buf);
	return rc;
}

int
erase_finish(int rdfd, struct request *r, const struct etarget *v, size_t n,
    int failed, const struct request_verify *vf, int64_t now, char *why,
    size_t whysz)
{
	char name[sizeof(r->id) + 16];
	size_t i;
	int blocked = 0;

	why[0] = '\0';
	if (!failed && vf->full == 0 && vf->moved == 0) {
		(void)snprintf(name, sizeof(name), "%s.json", r->id);
		if (write_receipt(rdfd, name, r, "done", NULL, 0, vf, now) == -1) {
			(void)snprintf(why, whysz, "cannot write the receipt");
			return -1;
		}
		(void)snprintf(name, sizeof(name), "%s.pending.json", r->id);
		(void)fsio_unlinkat(rdfd, name);
		/* Done: the addresses go with the request file. */
		if (fsio_unlinkat(rdfd, r->id) == -1 && errno != ENOENT)
			log_warn("remove request \"%s\"", r->id);
		log_info("erase %s (request %s): done, %zu files searched, 0 "
		    "lines left", r->id, r->hash, vf->files);
		return 0;
	}
	for (i = 0; i < n && why[0] == '\0'; i++) {
		if (v[i].held == 0)
			continue;
		if (v[i].live && !v[i].rotates) {
			(void)snprintf(why, whysz, "the live file %s holds %llu "
			    "of its lines and lethe does not rotate it "
			    "(rotate = off): the daemon or the next once "
			    "finishes it after it is rotated", v[i].path,
			    (unsigned long long)v[i].held);
			blocked = 1;
		} else if (v[i].live)
			(void)snprintf(why, whysz, "the live file %s holds %llu "
			    "of its lines: finished after its rotation",
			    v[i].path, (unsigned long long)v[i].held);
		else if (v[i].busy)
			(void)snprintf(why, whysz, "%s holds %llu of its lines "
			    "and a server still writes to it: finished once "
			    "it is sealed", v[i].path,
			    (unsigned long long)v[i].held);
	}
	for (i = 0; i < n && why[0] == '\0'; i++)
		if (v[i].why != NULL)
			(void)snprintf(why, whysz, "%s: %s", v[i].path, v[i].why);
	if (why[0] == '\0' && vf->moved > 0)
		(void)snprintf(why, whysz, "%zu files moved during the erase: "
		    "looked at again", vf->moved);
	if (why[0] == '\0')
		(void)snprintf(why, whysz, "%llu lines hold it still",
		    (unsigned long long)vf->full);
	(void)snprintf(name, sizeof(name), "%s.pending.json", r->id);
	if (request_save(rdfd, r) == -1 ||
	    write_receipt(rdfd, name, r, "pending", why, blocked, vf,
	    now) == -1)
		log_warn("save request \"%s\"", r->id);
	log_info("erase %s (request %s): pending: %s", r->id, r->hash,
	    log_esc(why));
	return 1;
}
