/*
 * The masked mirror: every line of a live file is written, as it
 * arrives, to the file the set's mirror template names, with its
 * addresses transformed at once, so that shippers can follow a copy that
 * never held a full address.
 *
 * A mirror goes with the file it mirrors: when the live file is rotated
 * (by lethe or by anyone), its mirror is renamed at once to a segment
 * name (BASE-YYYYMMDDTHHMMZ, the source segment's own time where it has
 * one), keeps receiving what a late writer appends to the segment, and is
 * closed when the segment is sealed.  The live file's next mirror starts
 * under the live name.  The mirror files are a set of their own
 * ("NAME.mirror", config.c), compressed and deleted as that set says.
 *
 * Where we are is saved in the catalog as the source offset mirrored
 * through and the mirror's size then (the mirror is fsynced first), with
 * the mirror's device and inode.  At a restart the mirror may have more
 * than that (lines written after the last save, kill -9): its complete
 * lines past the saved size are counted and as many source lines are
 * skipped, and a half line at its end is cut off, so nothing is written
 * twice or left out.  It may also have another name than the saved one
 * (renamed to a segment name after the last save): it is found by its
 * inode.  A new mirror gets no line before a catalog naming it is saved,
 * so a mirror under the live name that no record knows is one lethe did
 * not write (kept aside), or empty.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lethe.h"

#define MIRROR_BUF	(1024 * 1024)

struct mirror {
	char		*dir;		/* the mirror directory's path */
	int		 dfd;
	int		 fd;
	char		*name;		/* within dfd */
	struct stat	 st;		/* the mirror, as we made or found it */
	uint64_t	 off;		/* source mirrored through (a line
					   boundary: nothing of a later line
					   is in the mirror before size) */
	uint64_t	 size;		/* the mirror's size at off */
	uint64_t	 scan_pos;	/* source bytes fed to the engine */
	uint64_t	 base;		/* where the engine started */
	uint64_t	 size_base;	/* the mirror's size then */
	int		 seal_fails;
	int		 rotated;	/* renamed away from the live name */
	int		 unsynced;	/* written since the last fsync */
	int		 unsaved;	/* new: no line until a catalog
					   naming it is saved */
	int		 failing;	/* a write failed: retry at retry_at */
	int64_t		 retry_at;
	struct line_engine *eng;
	struct line_stats ls;
	struct sink	*sink;
	struct xform_truncate xt;
	struct xform	 xf;
	struct keyring	*kr;		/* transform = pseudonym */
	struct xform	*pxf;
};

static char	*mirror_buf;

static const char *
mpath(const struct mirror *m)
{
	static char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s/%s", m->dir, m->name);
	return buf;
}

/* The template's directory and its name for source name n. */
static void
expand(const char *tmpl, const char *n, char **dir, char **name)
{
	const char *slash = strrchr(tmpl, '/'), *pct = strstr(tmpl, "%n");

	*dir = xstrndup(tmpl, slash == tmpl ? 1 : (size_t)(slash - tmpl));
	xasprintf(name, "%.*s%s%s", (int)(pct - slash - 1), slash + 1, n,
	    pct + 2);
}

int
mirror_dir_ready(const struct logset *set)
{
	char *dir, *name;
	const char *why;
	int fd, rc = 0;

	expand(set->mirror, "x", &dir, &name);
	if ((fd = fsio_opendir(dir, &why)) == -1 && errno == ENOENT) {
		if (fsio_mkdir(dir, 0755) == -1 && errno != EEXIST) {
			log_warn("[%s]: create the mirror directory \"%s\"",
			    set->name, log_esc(dir));
			rc = -1;
		} else
			log_info("[%s]: created the mirror directory \"%s\"",
			    set->name, log_esc(dir));
	} else if (fd == -1) {
		log_warnx("[%s]: mirror directory \"%s\": %s", set->name,
		    log_esc(dir), why);
		rc = -1;
	}
	if (fd != -1)
		fsio_close(fd);
	free(dir);
	free(name);
	return rc;
}

static void
engine_reset(struct mirror *m, const struct mfile *f)
{
	struct line_opts lo;

	line_free(m->eng);
	memset(&lo, 0, sizeof(lo));
	lo.format = f->set->format;
	lo.xform = m->pxf != NULL ? m->pxf : &m->xf;
	lo.sink = m->sink;
	lo.now = TIME_NONE;
	lo.start_time = TIME_NONE;
	lo.audit_before = TIME_NONE;
	line_stats_init(&m->ls);
	m->eng = line_new(&lo, &m->ls);
	m->scan_pos = m->base = m->off;
	m->size_base = m->size;
}

void
mirror_free(struct mirror *m)
{
	if (m == NULL)
		return;
	line_free(m->eng);
	if (m->pxf != NULL)
		xform_pseudonym_free(m->pxf);
	keyring_free(m->kr);
	if (m->sink != NULL)
		sink_free(m->sink);
	if (m->fd != -1) {
		if (m->unsynced)
			(void)fsio_fsync(m->fd);
		fsio_close(m->fd);
	}
	if (m->dfd != -1)
		fsio_close(m->dfd);
	free(m->dir);
	free(m->name);
	free(m);
}

/*
 * Count the complete lines of fd in [from, to), and where the last one
 * ends (from when none).  -1 on a read error.
 */
static int
count_lines(int fd, uint64_t from, uint64_t to, uint64_t *lines,
    uint64_t *end)
{
	uint64_t pos = from;
	const char *p, *q;
	ssize_t n;
	size_t want;

	*lines = 0;
	*end = from;
	while (pos < to) {
		want = to - pos < MIRROR_BUF ? (size_t)(to - pos) : MIRROR_BUF;
		if ((n = fsio_pread(fd, mirror_buf, want, (off_t)pos)) <= 0)
			return n == 0 ? 0 : -1;
		for (p = mirror_buf; (q = memchr(p, '\n',
		    (size_t)(mirror_buf + n - p))) != NULL; p = q + 1) {
			(*lines)++;
			*end = pos + (uint64_t)(q - mirror_buf) + 1;
		}
		pos += (uint64_t)n;
	}
	return 0;
}

/* Skip k lines of the source from *off: *off moves past them. */
static int
skip_lines(int fd, uint64_t *off, uint64_t k, uint64_t *skipped)
{
	const char *p, *q;
	ssize_t n;

	*skipped = 0;
	while (*skipped < k) {
		if ((n = fsio_pread(fd, mirror_buf, MIRROR_BUF,
		    (off_t)*off)) <= 0)
			return n == 0 ? 0 : -1;
		for (p = mirror_buf; *skipped < k && (q = memchr(p, '\n',
		    (size_t)(mirror_buf + n - p))) != NULL; p = q + 1)
			(*skipped)++;
		if (*skipped < k && p == mirror_buf)
			return 0;	/* a line longer than the buffer: done
					   at the next read */
		*off += (uint64_t)(p - mirror_buf);
	}
	return 0;
}

/*
 * Where the mirror (dev, ino) is in dfd now: under name, or under the
 * name it was renamed to after the last save (by lethe before a kill, or
 * by someone else).  The name found (to free), or NULL.
 */
static char *
find_mirror(int dfd, const char *name, uint64_t dev, uint64_t ino)
{
	struct dirent *de;
	struct stat st;
	char *found = NULL;
	DIR *dp;

	if (fsio_fstatat(dfd, name, &st) == 0 && (uint64_t)st.st_dev == dev &&
	    (uint64_t)st.st_ino == ino)
		return xstrdup(name);
	if ((dp = fsio_dir_open(dfd)) == NULL)
		return NULL;
	while (found == NULL && (de = fsio_dir_next(dp)) != NULL)
		if (fsio_fstatat(dfd, de->d_name, &st) == 0 &&
		    S_ISREG(st.st_mode) && (uint64_t)st.st_dev == dev &&
		    (uint64_t)st.st_ino == ino)
			found = xstrdup(de->d_name);
	fsio_dir_close(dp);
	return found;
}

/*
 * Bring the mirror in line with what it holds: lines past the saved size
 * were written after the last save, so as many source lines are done.
 */
static int
reconcile(struct mirror *m, struct mfile *f)
{
	uint64_t size = (uint64_t)m->st.st_size, lines, end, skipped;

	if (size < m->size) {
		log_warnx("mirror \"%s\" is shorter than lethe wrote it (%llu "
		    "bytes, not %llu): someone cut it; going on at its end",
		    log_esc(mpath(m)), (unsigned long long)size,
		    (unsigned long long)m->size);
		m->size = size;
		return 0;
	}
	if (size == m->size)
		return 0;
	if (count_lines(m->fd, m->size, size, &lines, &end) == -1)
		return -1;
	if (end < size) {
		/* A half line from a kill: it is written again whole. */
		if (ftruncate(m->fd, (off_t)end) == -1)
			return -1;
		log_info("mirror \"%s\": cut a half line of %llu bytes at its "
		    "end", log_esc(mpath(m)), (unsigned long long)(size - end));
	}
	if (skip_lines(f->fd, &m->off, lines, &skipped) == -1)
		return -1;
	if (skipped < lines)
		log_warnx("mirror \"%s\" holds %llu lines more than \"%s\" "
		    "has: going on at the source's end", log_esc(mpath(m)),
		    (unsigned long long)(lines - skipped), log_esc(f->path));
	if (lines > 0)
		log_info("mirror \"%s\": %llu lines written before a restart "
		    "were not saved; went on after them", log_esc(mpath(m)),
		    (unsigned long long)lines);
	m->size = end;
	return 0;
}

/*
 * Open f's mirror: name (a saved one, found by mdev and mino when they
 * are known, or the template's for f's name), from the saved source
 * offset off and mirror size size.
 */
static void	away(int dfd, const char *dir, const char *name,
		    const struct stat *, int64_t now, const char *why);

static struct mirror *
attach(struct daemon *d, struct mfile *f, const char *odir, const char *name,
    uint64_t off, uint64_t size, uint64_t mdev, uint64_t mino)
{
	const struct logset *set = f->set;
	struct mirror *m = xcalloc(1, sizeof(*m));
	char *dir, *tname, *found;
	const char *why;
	struct stat st;

	if (mirror_buf == NULL)
		mirror_buf = xmalloc(MIRROR_BUF);
	m->fd = m->dfd = -1;
	expand(set->mirror, f->name, &dir, &tname);
	if (odir != NULL) {
		free(dir);
		dir = xstrdup(odir);
	}
	m->dir = dir;
	if (name != NULL) {
		m->name = xstrdup(name);
		free(tname);
	} else
		m->name = tname;
	m->off = off;
	m->size = size;
	if ((m->dfd = fsio_opendir(m->dir, &why)) == -1) {
		log_warnx("mirror of \"%s\": \"%s\": %s", log_esc(f->path),
		    log_esc(m->dir), why);
		goto fail;
	}
	if (name != NULL && mino != 0) {
		if ((found = find_mirror(m->dfd, m->name, mdev, mino)) !=
		    NULL && strcmp(found, m->name) != 0) {
			log_info("mirror \"%s\" is now \"%s\": going on there",
			    log_esc(mpath(m)), log_esc(found));
			free(m->name);
			m->name = found;
		} else if (found != NULL)
			free(found);
		else if (fsio_fstatat(m->dfd, m->name, &st) == 0)
			away(m->dfd, m->dir, m->name, &st, daemon_now(d),
			    "not the file lethe wrote");
	}
	if (name == NULL && fsio_fstatat(m->dfd, m->name, &st) == 0 &&
	    (!S_ISREG(st.st_mode) || st.st_size != 0)) {
		/*
		 * A mirror under the live name that no record knows: whose
		 * lines it holds cannot be told, so it is put aside.  (An
		 * empty one is lethe's own, made before a kill.)
		 */
		away(m->dfd, m->dir, m->name, &st, daemon_now(d),
		    "no record of it");
	}
	if (fsio_fstatat(m->dfd, m->name, &st) == -1 && errno == ENOENT) {
		if (name != NULL && size > 0)
			log_warnx("mirror \"%s\" is gone: starting it again "
			    "where it stopped", log_esc(mpath(m)));
		m->size = 0;
		(void)fsio_fstat(f->fd, &st);
		st.st_mode &= 0666;
		if (fsio_create_like(m->dfd, m->name, &st, &why) == -1 &&
		    errno != EEXIST) {
			log_warn("create mirror \"%s\" (%s)", log_esc(mpath(m)),
			    why);
			goto fail;
		}
	}
	m->fd = fsio_openat(m->dfd, m->name, O_RDWR | O_APPEND | O_NOFOLLOW |
	    O_CLOEXEC | O_NOCTTY, 0);
	if (m->fd == -1 || fsio_fstat(m->fd, &m->st) == -1) {
		log_warn("open mirror \"%s\"", log_esc(mpath(m)));
		goto fail;
	}
	if (!S_ISREG(m->st.st_mode) || m->st.st_nlink != 1) {
		log_warnx("mirror \"%s\" is not a file of its own (a link?): "
		    "not written", log_esc(mpath(m)));
		goto fail;
	}
	if (reconcile(m, f) == -1) {
		log_warn("mirror \"%s\": read it again", log_esc(mpath(m)));
		goto fail;
	}
	(void)fsio_fsync(m->dfd);
	m->xt.before = INT64_MAX;	/* every line, at once */
	m->xt.holds = NULL;		/* nothing full leaves the host */
	m->xf.ops = &xform_truncate_ops;
	m->xf.arg = &m->xt;
	if (set->transform == TRANSFORM_PSEUDONYM) {
		m->kr = keyring_new(d->state_dfd, set);
		m->pxf = keyring_xform(m->kr, set->pseudonym_prefix,
		    daemon_now(d));
	}
	m->sink = sink_fd_new(m->fd, 0, 0);
	m->unsaved = name == NULL;
	engine_reset(m, f);
	log_info("mirroring \"%s\" to \"%s\" from offset %llu",
	    log_esc(f->path), log_esc(mpath(m)), (unsigned long long)m->off);
	return m;
fail:
	mirror_free(m);
	return NULL;
}

/* Is name the mirror some file of set has now? */
static int
name_taken(struct daemon *d, const struct logset *set, const char *name)
{
	const struct mfile *g;
	size_t i;

	for (i = 0; i < d->cat.nfiles; i++) {
		g = d->cat.files[i];
		if (g->mir != NULL && g->set == set &&
		    strcmp(g->mir->name, name) == 0)
			return 1;
	}
	return 0;
}

/* The name a rotated mirror takes: a segment name that is free. */
static int
segment_name(struct mirror *m, const struct mfile *f, int64_t now,
    char *out, size_t outsz)
{
	char *dir, *name;
	struct stat st;
	int i, rc = -1;

	if (names_is_segment(f->name)) {
		/* The source segment's own time: the two names agree. */
		expand(f->set->mirror, f->name, &dir, &name);
		if (strlen(name) < outsz && fsio_fstatat(m->dfd, name,
		    &st) == -1 && errno == ENOENT) {
			strlcpy(out, name, outsz);
			rc = 0;
		}
		free(dir);
		free(name);
		if (rc == 0)
			return 0;
	}
	for (i = 0; i < 24 * 60; i++) {
		if (names_segment(m->name, now + i * 60, out, outsz) == -1)
			break;
		if (fsio_fstatat(m->dfd, out, &st) == -1 && errno == ENOENT)
			return 0;
	}
	return -1;
}

/* f's live file was rotated: its mirror takes a segment's name. */
static void
rotated(struct mfile *f, int64_t now)
{
	struct mirror *m = f->mir;
	char to[NAME_MAX + 1];
	const char *why;

	m->rotated = 1;
	if (names_is_segment(m->name))
		return;		/* so named before a restart */
	if (segment_name(m, f, now, to, sizeof(to)) == -1) {
		log_warnx("mirror \"%s\": no free segment name", log_esc(
		    mpath(m)));
		return;
	}
	if (fsio_rename_checked(m->dfd, m->name, to, &m->st, &why) == -1) {
		log_warnx("rotate mirror \"%s\": %s", log_esc(mpath(m)), why);
		return;
	}
	(void)fsio_fsync(m->dfd);
	log_info("mirror \"%s\" rotated to \"%s\" with \"%s\"",
	    log_esc(mpath(m)), log_esc(to), log_esc(f->path));
	free(m->name);
	m->name = xstrdup(to);
}

void
mirror_sync(struct daemon *d, int64_t now)
{
	struct mfile *f;
	char *dir, *name;
	size_t i;

	for (i = 0; i < d->cat.nfiles; i++) {
		f = d->cat.files[i];
		if (f->refused == NULL && f->mir != NULL &&
		    f->state != MF_LIVE && !f->mir->rotated)
			rotated(f, now);
	}
	for (i = 0; i < d->cat.nfiles; i++) {
		f = d->cat.files[i];
		if (f->refused != NULL || f->mir != NULL || f->fd == -1 ||
		    f->set->mirror == NULL || f->state != MF_LIVE ||
		    f->mir_failed)
			continue;
		expand(f->set->mirror, f->name, &dir, &name);
		if (!name_taken(d, f->set, name))
			f->mir = attach(d, f, NULL, NULL, 0, 0, 0, 0);
		free(dir);
		free(name);
		if (f->mir == NULL)
			f->mir_failed = 1;	/* said; tried again at reload */
		else {
			f->more = 1;
			d->dirty = 1;
		}
	}
}

/*
 * Put the mirror dfd/name aside under a free segment name (it leaves
 * the live name to the next live file's mirror).
 */
static void
away(int dfd, const char *dir, const char *name, const struct stat *st,
    int64_t now, const char *why)
{
	char to[NAME_MAX + 1];
	const char *w;
	int i;

	if (names_is_segment(name))
		return;
	for (i = 0; i < 24 * 60; i++) {
		if (names_segment(name, now + i * 60, to, sizeof(to)) == -1)
			break;
		if (fsio_rename_checked(dfd, name, to, st, &w) == 0) {
			log_info("mirror \"%s/%s\" (%s) renamed to \"%s\"",
			    log_esc(dir), log_esc(name), why, log_esc(to));
			(void)fsio_fsync(dfd);
			return;
		}
		if (errno != EEXIST)
			break;
	}
	log_warnx("mirror \"%s/%s\" (%s): cannot rename it away",
	    log_esc(dir), log_esc(name), why);
}

/*
 * A mirror whose source is gone: it leaves the live name (when it is
 * still under it: found by its inode when that was saved).
 */
static void
orphan(const struct logset *set, const struct srecord *r, int64_t now)
{
	struct stat st;
	const char *why;
	char *dir, *live, *name;
	int dfd;

	expand(set->mirror, "x", &dir, &live);
	if ((dfd = fsio_opendir(dir, &why)) != -1) {
		name = r->m_ino == 0 ? xstrdup(r->mirror) :
		    find_mirror(dfd, r->mirror, r->m_dev, r->m_ino);
		if (name != NULL && fsio_fstatat(dfd, name, &st) == 0)
			away(dfd, dir, name, &st, now, "its file is gone");
		free(name);
		fsio_close(dfd);
	}
	free(dir);
	free(live);
}

/*
 * f leaves the catalog (deleted, or moved out of the set's directory)
 * with its mirror open: the mirror is closed, and leaves the live name
 * if it has it.
 */
void
mirror_gone(struct daemon *d, struct mfile *f)
{
	struct mirror *m = f->mir;

	if (m == NULL)
		return;
	if (!m->rotated)
		away(m->dfd, m->dir, m->name, &m->st, daemon_now(d),
		    "its file left");
	mirror_free(m);
	f->mir = NULL;
}

/*
 * A reload: each open mirror is closed and opened again with the new
 * config (its format, transform and keys), where it stands; with no
 * mirror in the new config, it is closed.
 */
void
mirror_reload(struct daemon *d)
{
	struct mfile *f;
	struct mirror *m;
	char *dir, *name;
	uint64_t off, size, mdev, mino;
	size_t i;
	int rot, unsaved;

	for (i = 0; i < d->cat.nfiles; i++) {
		f = d->cat.files[i];
		f->mir_failed = 0;
		if ((m = f->mir) == NULL)
			continue;
		(void)sink_finish(m->sink);
		(void)fsio_fsync(m->fd);
		dir = xstrdup(m->dir);
		name = xstrdup(m->name);
		off = m->off;
		size = m->size;
		rot = m->rotated;
		unsaved = m->unsaved;
		mdev = (uint64_t)m->st.st_dev;
		mino = (uint64_t)m->st.st_ino;
		mirror_free(m);
		f->mir = NULL;
		if (f->set->mirror != NULL && f->fd != -1 &&
		    (f->mir = attach(d, f, dir, name, off, size, mdev, mino)) !=
		    NULL) {
			f->mir->rotated = rot;
			f->mir->unsaved = unsaved;
			f->more = 1;
		}
		free(dir);
		free(name);
	}
}

/*
 * At start: each mirror the saved catalog names goes back to its source,
 * found by device and inode wherever it is now (it may have been rotated
 * while lethe was stopped).  Then the live files without one get theirs.
 */
void
mirror_start(struct daemon *d, int64_t now)
{
	const struct srecord *r;
	const struct logset *set;
	struct mfile *f = NULL;
	size_t i, j, k;

	for (i = 0; i < d->nrecords; i++) {
		r = &d->records[i];
		if (r->mirror == NULL)
			continue;
		for (k = 0; k < d->conf->nsets; k++)
			if (strcmp(d->conf->sets[k].name, r->set) == 0)
				break;
		if (k == d->conf->nsets || d->conf->sets[k].mirror == NULL)
			continue;
		set = &d->conf->sets[k];
		for (j = 0; j < d->cat.nfiles; j++) {
			f = d->cat.files[j];
			if (f->refused == NULL && f->set == set &&
			    f->mir == NULL && f->state != MF_SEALED &&
			    (uint64_t)f->st.st_dev == r->dev &&
			    (uint64_t)f->st.st_ino == r->ino)
				follow_open(f);	/* rotated while stopped */
			if (f->refused == NULL && f->set == set &&
			    f->mir == NULL && f->fd != -1 &&
			    (uint64_t)f->st.st_dev == r->dev &&
			    (uint64_t)f->st.st_ino == r->ino &&
			    r->m_off <= (uint64_t)f->st.st_size &&
			    follow_record_same(f, r))
				break;
		}
		if (j == d->cat.nfiles) {
			orphan(set, r, now);
			continue;
		}
		if (name_taken(d, set, r->mirror))
			continue;
		if ((f->mir = attach(d, f, NULL, r->mirror, r->m_off, r->m_size,
		    r->m_dev, r->m_ino)) == NULL) {
			f->mir_failed = 1;
			continue;
		}
		f->more = 1;
		if (f->state != MF_LIVE)
			rotated(f, now);
	}
	mirror_sync(d, now);
}

/*
 * Mirror what f's source has appended, within budget bytes.  Returns
 * how many lines went out.
 */
uint64_t
mirror_step(struct daemon *d, struct mfile *f, int64_t now, size_t budget)
{
	struct mirror *m = f->mir;
	uint64_t lines, size, off0, size0;
	struct stat st;
	ssize_t n;
	size_t want;

	if (m == NULL || f->fd == -1 || (m->failing && now < m->retry_at))
		return 0;
	if (m->unsaved) {
		d->urgent = 1;	/* mirror_saved lets it go on */
		return 0;
	}
	if (fsio_fstat(f->fd, &st) == -1)
		return 0;
	size = (uint64_t)st.st_size;
	if (size < m->scan_pos || f->tp_truncated) {
		/* Truncated (copytruncate): what follows is new. */
		m->off = 0;
		m->size = m->size_base + m->ls.bytes_out;
		engine_reset(m, f);
	}
	if (m->scan_pos >= size)
		return 0;
	off0 = m->off;
	size0 = m->size;
	lines = m->ls.lines;
	line_set_now(m->eng, now);
	if (m->pxf != NULL) {
		xform_pseudonym_set_now(m->pxf, now);
		keyring_forget(m->kr, now);
	}
	while (budget > 0 && m->scan_pos < size) {
		want = size - m->scan_pos < MIRROR_BUF ?
		    (size_t)(size - m->scan_pos) : MIRROR_BUF;
		if ((n = fsio_pread(f->fd, mirror_buf, want,
		    (off_t)m->scan_pos)) <= 0)
			break;
		if (line_feed(m->eng, mirror_buf, (size_t)n) == -1)
			goto fail;
		m->scan_pos += (uint64_t)n;
		budget = (size_t)n >= budget ? 0 : budget - (size_t)n;
	}
	if (sink_finish(m->sink) == -1)
		goto fail;
	/*
	 * The pair saved moves only at a line boundary: a line longer than
	 * the engine reads whole is written a window at a time, and the
	 * part of it already in the mirror must not count as done.
	 */
	if (m->base + line_boundary(m->eng) == m->scan_pos) {
		m->off = m->scan_pos;
		m->size = m->size_base + m->ls.bytes_out;
	}
	m->unsynced = 1;
	m->failing = 0;
	if (m->scan_pos < size)
		f->more = 1;
	daemon_setrt(d, f->set)->m.mirror_lines += m->ls.lines - lines;
	d->dirty = 1;
	return m->ls.lines - lines;
fail:
	/* Back to the last whole step: nothing half written stays. */
	if (!m->failing)
		log_warnx("mirror \"%s\": %s; retrying", log_esc(mpath(m)),
		    sink_error(m->sink));
	d->metrics.errors[ME_MIRROR]++;
	if (ftruncate(m->fd, (off_t)size0) == -1)
		log_warn("mirror \"%s\": cut back to %llu bytes",
		    log_esc(mpath(m)), (unsigned long long)size0);
	m->off = off0;
	m->size = size0;
	engine_reset(m, f);
	m->failing = 1;
	m->retry_at = now + BACKOFF_MIN;
	return 0;
}

/* Lines of fd from off to its end (a last one without a newline too). */
static uint64_t
lines_left(int fd, uint64_t off)
{
	uint64_t n = 0, end;

	if (count_lines(fd, off, UINT64_MAX, &n, &end) == -1)
		return n;
	return n;
}

/*
 * f was sealed: its last line (with or without a newline) goes out, the
 * mirror is synced and closed.  0 when done; 1 when more is to be read
 * first; 2 when the mirror could not be written (tried again later:
 * after three failures the mirror is given up, its missing lines counted
 * and logged, so that the segment is masked and compressed in time).
 */
int
mirror_seal(struct daemon *d, struct mfile *f, int64_t now)
{
	struct mirror *m = f->mir;
	uint64_t left;

	if (m == NULL)
		return 0;
	(void)mirror_step(d, f, now, 4 * MIRROR_BUF);
	if (!m->failing && m->scan_pos < (uint64_t)f->st.st_size)
		return 1;	/* a budget at a time */
	if (m->failing || line_finish(m->eng) == -1 ||
	    sink_finish(m->sink) == -1 || fsio_fsync(m->fd) == -1) {
		if (!m->failing)
			log_warn("mirror \"%s\": finish", log_esc(mpath(m)));
		if (++m->seal_fails < 3)
			return 2;
		left = lines_left(f->fd, m->off);
		log_warnx("mirror \"%s\" could not be written: its last %llu "
		    "lines are left out, so that \"%s\" is sealed in time",
		    log_esc(mpath(m)), (unsigned long long)left,
		    log_esc(f->path));
		daemon_setrt(d, f->set)->m.mirror_dropped += left;
		mirror_free(m);
		f->mir = NULL;
		return 0;
	}
	log_info("mirror \"%s\" closed with \"%s\"", log_esc(mpath(m)),
	    log_esc(f->path));
	mirror_free(m);
	f->mir = NULL;
	return 0;
}

/* Before the catalog is saved: what it will say of the mirror is on disk. */
void
mirror_sync_disk(struct mfile *f)
{
	if (f->mir != NULL && f->mir->unsynced && !f->mir->failing &&
	    fsio_fsync(f->mir->fd) == 0)
		f->mir->unsynced = 0;
}

int
mirror_saved(struct mfile *f)
{
	if (f->mir == NULL || !f->mir->unsaved)
		return 0;
	f->mir->unsaved = 0;
	f->more = 1;
	return 1;
}

void
mirror_record(const struct mfile *f, struct srecord *r)
{
	if (f->mir == NULL)
		return;
	r->mirror = f->mir->name;
	r->m_off = f->mir->off;
	r->m_size = f->mir->size;
	r->m_dev = (uint64_t)f->mir->st.st_dev;
	r->m_ino = (uint64_t)f->mir->st.st_ino;
	if (r->m_off > r->size)
		r->m_off = 0;	/* cut short since: nothing of it mirrored */
}

/* Is the mirror file (dev, ino) still being written? */
int
mirror_writing(struct daemon *d, const struct stat *st)
{
	const struct mfile *g;
	size_t i;

	for (i = 0; i < d->cat.nfiles; i++) {
		g = d->cat.files[i];
		if (g->mir != NULL && g->mir->st.st_dev == st->st_dev &&
		    g->mir->st.st_ino == st->st_ino)
			return 1;
	}
	return 0;
}
