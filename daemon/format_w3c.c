/*
 * format = w3c: the W3C Extended Log File Format (IIS, also CloudFront):
 * directive lines ("#Software:", "#Fields: date time c-ip ...") and data
 * lines of fields separated by blanks (IIS writes a blank inside a value
 * as '+') or tabs.  The field list comes from the last "#Fields:" seen in
 * the file; before one, IIS's default.  Address fields: c-ip and
 * cs(X-Forwarded-For) (or those "addresses" names); the time is date and
 * time together, in UTC as the standard says (timezone changes that).
 * Directive lines are understood, and have no time of their own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lethe.h"

#define W3C_FIELDS	64

/* IIS 8.5 and later, when no #Fields: directive has been seen. */
static const char iis_default[] = "date time s-ip cs-method cs-uri-stem "
    "cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) "
    "sc-status sc-substatus sc-win32-status time-taken";

struct w3c_layout {
	size_t		 n;
	int		 date, time;	/* field index, -1: none */
	int		 bit[W3C_FIELDS]; /* address field bit, or -1 */
	int		 list[W3C_FIELDS];
};

struct w3c {
	struct w3c_layout dflt;
};

static char	w3c_err[128];

static int
is_addr_field(const struct format *f, const char *name, size_t n, int *list)
{
	size_t i;

	*list = 0;
	if (f->spec.nfields > 0) {
		for (i = 0; i < f->spec.nfields; i++)
			if (strlen(f->spec.fields[i]) == n &&
			    strncasecmp(f->spec.fields[i], name, n) == 0) {
				*list = strncasecmp(name, "c-ip", n) != 0;
				return 1;
			}
		return 0;
	}
	if (n == 4 && strncasecmp(name, "c-ip", 4) == 0)
		return 1;
	*list = 1;
	return (n == 19 && strncasecmp(name, "cs(X-Forwarded-For)", 19) == 0) ||
	    (n == 15 && strncasecmp(name, "x-forwarded-for", 15) == 0);
}

/* A "#Fields:" list into a layout. */
static void
layout(struct format *f, const char *s, size_t len, struct w3c_layout *l)
{
	char name[64];
	size_t i = 0, start, n;
	int bit;

	memset(l, 0, sizeof(*l));
	l->date = l->time = -1;
	while (i < len && l->n < W3C_FIELDS) {
		while (i < len && (s[i] == ' ' || s[i] == '\t'))
			i++;
		start = i;
		while (i < len && s[i] != ' ' && s[i] != '\t')
			i++;
		if ((n = i - start) == 0)
			break;
		l->bit[l->n] = -1;
		if (n == 4 && strncasecmp(s + start, "date", 4) == 0)
			l->date = (int)l->n;
		else if (n == 4 && strncasecmp(s + start, "time", 4) == 0)
			l->time = (int)l->n;
		else if (is_addr_field(f, s + start, n, &l->list[l->n]) &&
		    n < sizeof(name)) {
			memcpy(name, s + start, n);
			name[n] = '\0';
			if ((bit = format_add_name(f, name)) >= 0)
				l->bit[l->n] = bit;
		}
		l->n++;
	}
}

static int
w3c_compile(struct format *f, const char **errstr)
{
	struct w3c *w = f->priv = xcalloc(1, sizeof(*w));
	size_t i;

	for (i = 0; i < f->spec.nfields; i++)
		(void)format_add_name(f, f->spec.fields[i]);
	layout(f, iis_default, sizeof(iis_default) - 1, &w->dflt);
	if (f->nnames == 0) {
		(void)snprintf(w3c_err, sizeof(w3c_err), "no address field");
		*errstr = w3c_err;
		return -1;
	}
	return 0;
}

static void
w3c_release(struct format *f)
{
	free(f->priv);
	f->priv = NULL;
}

static void *
w3c_state_new(const struct format *f)
{
	const struct w3c *w = f->priv;
	struct w3c_layout *l = xmalloc(sizeof(*l));

	*l = w->dflt;
	return l;
}

static void
w3c_state_free(void *state)
{
	free(state);
}

static void
w3c_state_copy(void *dst, const void *src)
{
	*(struct w3c_layout *)dst = *(const struct w3c_layout *)src;
}

static void
w3c_scan(struct format *f, void *state, const char *s, size_t len,
    int64_t ref, struct scan *sc)
{
	const struct w3c *w = f->priv;
	struct w3c_layout *l = state != NULL ? state : (struct w3c_layout *)
	    (uintptr_t)&w->dflt;
	size_t i = 0, k = 0, start[W3C_FIELDS], end[W3C_FIELDS];
	char when[64];
	char sep = memchr(s, '\t', len) != NULL ? '\t' : ' ';

	if (len > 0 && s[len - 1] == '\r')
		len--;
	if (len > 0 && s[0] == '#') {
		if (state != NULL && len > 8 && strncasecmp(s, "#Fields:", 8) == 0)
			layout(f, s + 8, len - 8, l);
		return;
	}
	while (i <= len && k < W3C_FIELDS) {
		start[k] = i;
		while (i < len && s[i] != sep)
			i++;
		end[k++] = i++;
	}
	if (k != l->n || l->date < 0 || l->time < 0) {
		sc->bad = SCAN_NOMATCH;
		return;
	}
	for (i = 0; i < k; i++)
		if (l->bit[i] >= 0)
			format_field(f, sc, s, start[i], end[i],
			    (unsigned)l->bit[i], l->list[i]);
	if (end[l->date] - start[l->date] + end[l->time] - start[l->time] + 1 >=
	    sizeof(when)) {
		sc->bad = SCAN_NOTIME;
		return;
	}
	(void)snprintf(when, sizeof(when), "%.*s %.*s",
	    (int)(end[l->date] - start[l->date]), s + start[l->date],
	    (int)(end[l->time] - start[l->time]), s + start[l->time]);
	if (format_time(f, when, strlen(when), ref, &sc->time) == -1) {
		sc->time = TIME_NONE;
		sc->bad = SCAN_NOTIME;
	}
}

const struct format_ops format_w3c_ops = {
	"w3c", w3c_compile, w3c_scan, w3c_state_new, w3c_state_free,
	w3c_release, w3c_state_copy, '#',
};
