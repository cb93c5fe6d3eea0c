/*
 * lethe audit: read every managed file, gzip too, and list each one that
 * holds a full address past the window (count and first line, never the
 * address).  Exit 1 if any does.  It takes no lock: the daemon may rename
 * or delete files under it, and it looks again when that happens.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lethe.h"

static int
audit_file(const struct mfile *f, int64_t now)
{
	struct file_facts ff;
	struct rewrite_stats rs;
	struct stat st;

	if (f->refused != NULL) {
		if (strcmp(f->refused, "removed") == 0)
			return 0;
		printf("%s: refused: %s\n", log_esc(f->path), f->refused);
		return -1;
	}
	switch (lifecycle_scan(f, now, &st, &ff, &rs)) {
	case -1:
		if (errno == ENOENT)
			return -2;	/* gone: the caller looks again */
		printf("%s: unreadable (see the log)\n", log_esc(f->path));
		return -1;
	case 1:
		printf("%s: damaged after line %llu: it cannot be masked "
		    "(see the log)\n", log_esc(f->path),
		    (unsigned long long)rs.lines);
		return -1;
	}
	if (rs.full_past == 0)
		return 0;
	printf("%s: %llu full addresses past the window, first at line "
	    "%llu\n", log_esc(f->path), (unsigned long long)rs.full_past,
	    (unsigned long long)rs.full_past_line);
	return -1;
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
	size_t i, nseen = 0, bad = 0, clean = 0, gone;
	int pass, r;

	if ((conf = load_config(o->conf, 1)) == NULL)
		return 1;
	for (pass = 0; pass < 3; pass++) {
		if (catalog_discover(&cat, conf) == -1 && pass == 0)
			bad++;
		for (i = 0, gone = 0; i < cat.nfiles; i++) {
			if (seen_before(seen, nseen, &cat.files[i]->st))
				continue;
			if ((r = audit_file(cat.files[i], o->now)) == -2) {
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
	config_free(conf);
	if (bad == 0)
		printf("audit: %zu files clean\n", clean);
	return bad ? 1 : 0;
}

