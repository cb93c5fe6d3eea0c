/*
 * Log formats: which family reads a set's lines, and the helpers every
 * family shares.  Pure: no filesystem, no clock.  A family is one file
 * (format_clf.c for templates, the server's own log_format and the
 * built-in names; format_json.c; format_regex.c; format_error.c for
 * nginx's and Apache's error logs; format_w3c.c) behind a format_ops
 * table, and one row below.  format_scan() runs once per line and
 * allocates nothing once the scan's spans have room.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lethe.h"

/*
 * The named formats.  The access log formats are the servers' own
 * strings, compiled by the same code as a log_format a set gives: Apache's
 * combined, common and vhost_combined (apache2.conf), nginx's main
 * (nginx.conf's example, X-Forwarded-For last).
 */
static const struct {
	const char	*name;
	const struct format_ops *ops;
	const char	*log_format;
} kinds[] = {
	{ "combined", &format_clf_ops,
	    "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\"" },
	{ "common", &format_clf_ops, "%h %l %u %t \"%r\" %>s %b" },
	{ "main", &format_clf_ops, "$remote_addr - $remote_user [$time_local] "
	    "\"$request\" $status $body_bytes_sent \"$http_referer\" "
	    "\"$http_user_agent\" \"$http_x_forwarded_for\"" },
	{ "vhost_combined", &format_clf_ops, "%v:%p %h %l %u %t \"%r\" %>s %O "
	    "\"%{Referer}i\" \"%{User-Agent}i\"" },
	{ "nginx_error", &format_error_ops, NULL },
	{ "apache_error", &format_error_ops, NULL },
	{ "json", &format_json_ops, NULL },
	{ "regex", &format_regex_ops, NULL },
	{ "w3c", &format_w3c_ops, NULL },
};

#define NKINDS		(sizeof(kinds) / sizeof(kinds[0]))

const char *
format_names(void)
{
	static char buf[256];
	size_t i;

	if (buf[0] != '\0')
		return buf;
	for (i = 0; i < NKINDS; i++) {
		if (i > 0)
			(void)strlcat(buf, i + 1 == NKINDS ? " or " : ", ",
			    sizeof(buf));
		(void)strlcat(buf, kinds[i].name, sizeof(buf));
	}
	return buf;
}

/* The i-th format name, or NULL past the last (fuzzing walks them all). */
const char *
format_kind(size_t i)
{
	return i < NKINDS ? kinds[i].name : NULL;
}

/* The zone of times without an offset, when the set names none: IIS
   writes W3C times in UTC, the others write local time. */
const char *
format_zone_default(const char *kind)
{
	return kind != NULL && strcmp(kind, "w3c") == 0 ? "UTC" : "local";
}

int
format_known(const char *name)
{
	size_t i;

	for (i = 0; i < NKINDS; i++)
		if (strcmp(name, kinds[i].name) == 0)
			return 1;
	return 0;
}

/* The built-in log_format string of a named access format, or NULL. */
const char *
format_builtin(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < NKINDS; i++)
		if (strcmp(name, kinds[i].name) == 0)
			return kinds[i].log_format;
	return NULL;
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static void
spec_copy(struct format_spec *d, const struct format_spec *s)
{
	size_t i;

	*d = *s;
	d->kind = dup_or_null(s->kind);
	d->log_format = dup_or_null(s->log_format);
	d->regex = dup_or_null(s->regex);
	d->time_key = dup_or_null(s->time_key);
	d->time_format = dup_or_null(s->time_format);
	d->fields = xcalloc(s->nfields + 1, sizeof(*d->fields));
	for (i = 0; i < s->nfields; i++)
		d->fields[i] = xstrdup(s->fields[i]);
}

static void
spec_release(struct format_spec *s)
{
	size_t i;

	free(s->kind);
	free(s->log_format);
	free(s->regex);
	free(s->time_key);
	free(s->time_format);
	for (i = 0; i < s->nfields; i++)
		free(s->fields[i]);
	free(s->fields);
}

struct format *
format_new(const struct format_spec *spec, const char **errstr, int *col)
{
	const struct format_ops *ops = &format_clf_ops;
	struct format *f;
	size_t i;

	*col = 0;
	if (spec->kind != NULL) {
		for (i = 0; i < NKINDS; i++)
			if (strcmp(spec->kind, kinds[i].name) == 0)
				break;
		if (i == NKINDS) {
			*errstr = "unknown format";
			return NULL;
		}
		ops = kinds[i].ops;
	} else if (spec->log_format == NULL) {
		*errstr = "no format";
		return NULL;
	}
	f = xcalloc(1, sizeof(*f));
	f->ops = ops;
	spec_copy(&f->spec, spec);
	f->fo.prefix = spec->prefix;
	f->fo.mask_hostnames = spec->mask_hostnames;
	if ((f->tf = time_new(spec->time_format, spec->zone != NULL ?
	    spec->zone : tz_utc(), errstr)) == NULL ||
	    f->ops->compile(f, errstr) == -1) {
		*col = f->errcol;
		format_free(f);
		return NULL;
	}
	return f;
}

void
format_warn(struct format *f, int col, const char *fmt, ...)
{
	va_list ap;

	if (f->nwarn == FORMAT_WARN_MAX)
		return;
	va_start(ap, fmt);
	if (vasprintf(&f->warn[f->nwarn].text, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	f->warn[f->nwarn++].col = col;
}

void
format_free(struct format *f)
{
	size_t i;

	if (f == NULL)
		return;
	if (f->ops->release != NULL)
		f->ops->release(f);
	for (i = 0; i < f->nnames; i++)
		free(f->names[i]);
	for (i = 0; i < f->nwarn; i++)
		free(f->warn[i].text);
	time_free(f->tf);
	spec_release(&f->spec);
	free(f);
}

struct format *
format_clone(const struct format *f)
{
	struct format *c;
	const char *errstr;
	int col;

	if ((c = format_new(&f->spec, &errstr, &col)) == NULL)
		fatalx("format_clone: %s", errstr);
	return c;
}

void *
format_state_new(const struct format *f)
{
	return f->ops->state_new != NULL ? f->ops->state_new(f) : NULL;
}

int
format_has_state(const struct format *f)
{
	return f->ops->state_new != NULL;
}

int
format_state_copyable(const struct format *f)
{
	return f->ops->state_copy != NULL;
}

char
format_state_mark(const struct format *f)
{
	return f->ops->state_mark;
}

void
format_state_copy(const struct format *f, void *dst, const void *src)
{
	f->ops->state_copy(dst, src);
}

void
format_state_free(const struct format *f, void *state)
{
	if (state != NULL && f->ops->state_free != NULL)
		f->ops->state_free(state);
}

void
format_scan(struct format *f, void *state, const char *line, size_t len,
    int64_t ref, struct scan *sc)
{
	spans_reset(&sc->spans);
	sc->time = TIME_NONE;
	sc->bad = SCAN_OK;
	sc->fields = 0;
	if (len > UINT32_MAX)
		len = UINT32_MAX;
	f->ops->scan(f, state, line, len, ref, sc);
}

int
format_add_name(struct format *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->nnames; i++)
		if (strcmp(f->names[i], name) == 0)
			return (int)i;
	if (f->nnames == FIELDS_MAX)
		return -1;
	f->names[f->nnames] = xstrdup(name);
	return (int)f->nnames++;
}

static void
field_result(struct scan *sc, unsigned field, const struct field_tally *t)
{
	if (t->addrs > 0 && field < 32)
		sc->fields |= 1U << field;
	if (t->bad > 0 && sc->bad == SCAN_OK)
		sc->bad = SCAN_BADADDR;
}

void
format_field(struct format *f, struct scan *sc, const char *line,
    size_t off, size_t end, unsigned field, int list)
{
	struct field_tally t = { 0, 0 };

	if (end <= off)
		return;
	field_value(&f->fo, line + off, end - off, NULL, (uint32_t)off,
	    field, list, &sc->spans, &t);
	field_result(sc, field, &t);
}

void
format_field_mapped(struct format *f, struct scan *sc, const char *s,
    size_t len, const uint32_t *map, unsigned field, int list)
{
	struct field_tally t = { 0, 0 };

	if (len == 0)
		return;
	field_value(&f->fo, s, len, map, 0, field, list, &sc->spans, &t);
	field_result(sc, field, &t);
}

int
format_time(const struct format *f, const char *s, size_t len, int64_t ref,
    int64_t *t)
{
	return time_parse(f->tf, s, len, ref, t);
}

int
format_parse_time(const char *s, size_t len, int64_t *t)
{
	return time_parse_auto(s, len, tz_utc(), 0, t);
}

void
scan_release(struct scan *sc)
{
	spans_release(&sc->spans);
}
