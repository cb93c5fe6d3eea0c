/*
 * lethe audit: read every managed file, gzip too, and list each one that
 * holds a full address past the window (count and first line, never the
 * address).  Exit 1 if any does.  It takes no lock: the daemon may rename
 * or delete files under it, and it looks again when that happens.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lethe.h"

static int
audit_file(const struct mfile *f, int64_t now, int threads)
{
	struct file_facts ff;
	struct rewrite_stats rs;
	struct stat st;
	const char *p = log_esc(f->path);
	int bad = 0;

	if (f->refused != NULL) {
		if (strcmp(f->refused, "removed") == 0)
			return 0;
		printf("%s: refused: %s\n", p, f->refused);
		return -1;
	}
	switch (lifecycle_scan(f, now, threads, &st, &ff, &rs)) {
	case -1:
		if (errno == ENOENT)
			return -2;	/* gone: the caller looks again */
		printf("%s: unreadable (see the log)\n", p);
		return -1;
	case 1:
		printf("%s: damaged after line %llu: it cannot be masked "
		    "(see the log)\n", p, (unsigned long long)rs.l.lines);
		bad = 1;
		break;
	}
	if (rs.l.full_past > 0) {
		printf("%s: %llu full addresses past the window, first at line "
		    "%llu\n", p, (unsigned long long)rs.l.full_past,
		    (unsigned long long)rs.l.full_past_first);
		bad = 1;
	}
	if (rs.l.bad_past > 0) {
		printf("%s: %llu lines not understood past the window, first "
		    "at line %llu\n", p, (unsigned long long)rs.l.bad_past,
		    (unsigned long long)rs.l.bad_past_first);
		bad = 1;
	}
	if (rs.l.held > 0)
		printf("%s: %llu lines past the window held full by an incident "
		    "hold (lethe hold --list)\n", p,
		    (unsigned long long)rs.l.held);
	if (rs.l.stray > 0)
		printf("%s: warning: %llu address-like tokens outside the "
		    "address fields of lines not understood, first at line "
		    "%llu\n", p, (unsigned long long)rs.l.stray,
		    (unsigned long long)rs.l.stray_first);
	return bad ? -1 : 0;
}

/* Originals a failed act left under a private name: said, and a fail. */
static size_t
audit_claims(const struct catalog *cat)
{
	char base[NAME_MAX + 1];
	unsigned long long ino;
	struct dirent *de;
	size_t i, n = 0;
	DIR *d;

	for (i = 0; i < cat->ndirs; i++) {
		if (cat->dirs[i]->fd == -1 ||
		    (d = fsio_dir_open(cat->dirs[i]->fd)) == NULL)
			continue;
		while ((de = fsio_dir_next(d)) != NULL) {
			if (fsio_claim_parse(de->d_name, base, sizeof(base),
			    &ino) == -1)
				continue;
			printf("%s/%s: an act on \"%s\" did not finish (the "
			    "next lethe once, or the daemon, completes it)\n",
			    log_esc(cat->dirs[i]->path), log_esc(de->d_name),
			    log_esc(base));
			n++;
		}
		fsio_dir_close(d);
	}
	return n;
}

struct seen {
	dev_t		 dev;
	ino_t		 ino;
};

static int
seen_before(const struct seen *v, size_t n, const struct stat *st)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].dev == st->st_dev && v[i].ino == st->st_ino)
			return 1;
	return 0;
}

/*
 * audit, while the daemon may rename (compress) or delete files under it:
 * a file gone since discovery makes it look again, up to three passes,
 * and audit the files it has not seen yet (by device and inode).
 */
int
cmd_audit(const struct cmd_opts *o)
{
	struct config *conf;
	struct catalog cat;
	struct seen *seen = NULL;
	struct holds *hs;
	const char *why;
	size_t i, nseen = 0, bad = 0, clean = 0, gone;
	int pass, r, dfd;

	if ((conf = load_config(o->conf, 1)) == NULL)
		return 1;
	/* Held lines are counted apart, not as failures. */
	if ((dfd = store_open(conf, &why)) == -1)
		log_warnx("state_dir: %s: holds are not known", why);
	hs = holds_attach(dfd, conf, o->now, 0);
	if (dfd != -1)
		fsio_close(dfd);
	for (pass = 0; pass < 3; pass++) {
		if (catalog_discover(&cat, conf) == -1 && pass == 0)
			bad++;
		if (pass == 0)
			bad += audit_claims(&cat);
		for (i = 0, gone = 0; i < cat.nfiles; i++) {
			if (seen_before(seen, nseen, &cat.files[i]->st))
				continue;
			if ((r = audit_file(cat.files[i], o->now,
			    threads_of(conf->threads))) == -2) {
				gone++;
				continue;
			}
			seen = xreallocarray(seen, nseen + 1, sizeof(*seen));
			seen[nseen].dev = cat.files[i]->st.st_dev;
			seen[nseen++].ino = cat.files[i]->st.st_ino;
			if (r == -1)
				bad++;
			else
				clean++;
		}
		catalog_release(&cat);
		if (gone == 0)
			break;
	}
	if (pass == 3) {
		printf("audit: files kept changing during the audit\n");
		bad++;
	}
	free(seen);
	for (i = 0; i < conf->nsets; i++)
		conf->sets[i].holds = NULL;
	holds_free(hs, conf->nsets);
	config_free(conf);
	if (bad == 0)
		printf("audit: %zu files clean\n", clean);
	return bad ? 1 : 0;
}

