/*
 * format = regex: a PCRE2 pattern (JIT where it compiles) with named
 * groups: "time", and every group whose name starts with "addr" (or is
 * named by "addresses") is an address list.  A line the pattern does not
 * match, or whose time group is unset or does not parse, is not
 * understood.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "lethe.h"

#define JIT_STACK_MAX	(1024 * 1024)

struct regex {
	pcre2_code	*re;
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	pcre2_jit_stack	*jstack;
	int		 jit;
	uint32_t	*groups;	/* address group numbers */
	int		*bits;		/* their field bits */
	uint32_t	*order;		/* scratch: set groups by offset */
	size_t		 ngroups;
	uint32_t	*tgroups;	/* "time" group numbers */
	size_t		 ntgroups;
};

static char	regex_err[256];

static int
named_field(const struct format *f, const char *name)
{
	size_t j;

	if (strncmp(name, "addr", 4) == 0)
		return 1;
	for (j = 0; j < f->spec.nfields; j++)
		if (strcmp(name, f->spec.fields[j]) == 0)
			return 1;
	return 0;
}

/* Sort the named groups of the pattern: addresses and times. */
static int
regex_groups(struct format *f, struct regex *r)
{
	PCRE2_SPTR table, first, last;
	const char *name;
	uint32_t count, esz, i, g;
	size_t j;
	int bit;

	(void)pcre2_pattern_info(r->re, PCRE2_INFO_NAMECOUNT, &count);
	(void)pcre2_pattern_info(r->re, PCRE2_INFO_NAMEENTRYSIZE, &esz);
	(void)pcre2_pattern_info(r->re, PCRE2_INFO_NAMETABLE, &table);
	r->groups = xcalloc(count + 1, sizeof(*r->groups));
	r->bits = xcalloc(count + 1, sizeof(*r->bits));
	r->order = xcalloc(count + 1, sizeof(*r->order));
	r->tgroups = xcalloc(count + 1, sizeof(*r->tgroups));
	for (i = 0; i < count; i++) {
		name = (const char *)table + (size_t)i * esz + 2;
		g = (uint32_t)(table[i * esz] << 8 | table[i * esz + 1]);
		if (strcmp(name, "time") == 0) {
			r->tgroups[r->ntgroups++] = g;
			continue;
		}
		if (!named_field(f, name))
			continue;
		if ((bit = format_add_name(f, name)) == -1) {
			(void)snprintf(regex_err, sizeof(regex_err), "more "
			    "than %d address groups", FIELDS_MAX);
			return -1;
		}
		r->groups[r->ngroups] = g;
		r->bits[r->ngroups++] = bit;
	}
	for (j = 0; j < f->spec.nfields; j++)
		if (pcre2_substring_nametable_scan(r->re,
		    (PCRE2_SPTR)f->spec.fields[j], &first, &last) < 0) {
			(void)snprintf(regex_err, sizeof(regex_err), "regex has "
			    "no named group \"%s\"", log_esc(f->spec.fields[j]));
			return -1;
		}
	if (r->ngroups == 0) {
		(void)snprintf(regex_err, sizeof(regex_err), "regex has no "
		    "named group addr");
		return -1;
	}
	if (r->ntgroups == 0) {
		(void)snprintf(regex_err, sizeof(regex_err), "regex has no "
		    "named group time");
		return -1;
	}
	return 0;
}

static int
regex_compile(struct format *f, const char **errstr)
{
	PCRE2_UCHAR msg[128];
	PCRE2_SIZE eoff;
	struct regex *r;
	int ec;

	*errstr = regex_err;
	if (f->spec.regex == NULL) {
		(void)snprintf(regex_err, sizeof(regex_err), "format regex "
		    "needs \"regex\"");
		return -1;
	}
	r = f->priv = xcalloc(1, sizeof(*r));
	r->re = pcre2_compile((PCRE2_SPTR)f->spec.regex, PCRE2_ZERO_TERMINATED,
	    PCRE2_DUPNAMES, &ec, &eoff, NULL);
	if (r->re == NULL) {
		(void)pcre2_get_error_message(ec, msg, sizeof(msg));
		(void)snprintf(regex_err, sizeof(regex_err), "%s at offset %zu",
		    (const char *)msg, (size_t)eoff);
		f->errcol = (int)eoff + 1;
		return -1;
	}
	if (regex_groups(f, r) == -1)
		return -1;
	if ((r->md = pcre2_match_data_create_from_pattern(r->re, NULL)) ==
	    NULL || (r->mctx = pcre2_match_context_create(NULL)) == NULL)
		fatalx("pcre2: out of memory");
	if (pcre2_jit_compile(r->re, PCRE2_JIT_COMPLETE) == 0) {
		r->jit = 1;
		r->jstack = pcre2_jit_stack_create(32 * 1024, JIT_STACK_MAX,
		    NULL);
		if (r->jstack != NULL)
			pcre2_jit_stack_assign(r->mctx, NULL, r->jstack);
	}
	return 0;
}

static void
regex_release(struct format *f)
{
	struct regex *r = f->priv;

	if (r == NULL)
		return;
	pcre2_match_data_free(r->md);
	pcre2_match_context_free(r->mctx);
	pcre2_jit_stack_free(r->jstack);
	pcre2_code_free(r->re);
	free(r->groups);
	free(r->bits);
	free(r->order);
	free(r->tgroups);
	free(r);
	f->priv = NULL;
}

static int
set(const PCRE2_SIZE *ov, uint32_t g, int rc, size_t len)
{
	return g < (uint32_t)rc && ov[2 * g] != PCRE2_UNSET &&
	    ov[2 * g] <= ov[2 * g + 1] && ov[2 * g + 1] <= len;
}

static void
regex_scan(struct format *f, void *state UNUSED, const char *s, size_t len,
    int64_t ref, struct scan *sc)
{
	struct regex *r = f->priv;
	PCRE2_SIZE *ov;
	size_t i, j, n = 0;
	uint32_t g;
	int rc;

	/* A CR LF line ends before its CR: "$" matches there. */
	if (len > 0 && s[len - 1] == '\r')
		len--;
	rc = r->jit ? pcre2_jit_match(r->re, (PCRE2_SPTR)s, len, 0, 0, r->md,
	    r->mctx) : pcre2_match(r->re, (PCRE2_SPTR)s, len, 0, 0, r->md,
	    r->mctx);
	if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
		rc = pcre2_match(r->re, (PCRE2_SPTR)s, len, 0, PCRE2_NO_JIT,
		    r->md, r->mctx);
	if (rc <= 0) {
		sc->bad = SCAN_NOMATCH;
		return;
	}
	ov = pcre2_get_ovector_pointer(r->md);
	for (i = 0; i < r->ntgroups; i++) {
		g = r->tgroups[i];
		if (set(ov, g, rc, len) && format_time(f, s + ov[2 * g],
		    ov[2 * g + 1] - ov[2 * g], ref, &sc->time) == 0)
			break;
	}
	if (i == r->ntgroups) {
		sc->time = TIME_NONE;
		sc->bad = SCAN_NOTIME;
	}
	/* Set groups sorted by start, the longer first: few, so insertion. */
	for (i = 0; i < r->ngroups; i++) {
		g = r->groups[i];
		if (!set(ov, g, rc, len))
			continue;
		for (j = n; j > 0 && (ov[2 * r->groups[r->order[j - 1]]] >
		    ov[2 * g] || (ov[2 * r->groups[r->order[j - 1]]] ==
		    ov[2 * g] && ov[2 * r->groups[r->order[j - 1]] + 1] <
		    ov[2 * g + 1])); j--)
			r->order[j] = r->order[j - 1];
		r->order[j] = (uint32_t)i;
		n++;
	}
	for (i = 0; i < n; i++) {
		g = r->groups[r->order[i]];
		format_field(f, sc, s, ov[2 * g], ov[2 * g + 1],
		    (unsigned)r->bits[r->order[i]], 1);
	}
}

const struct format_ops format_regex_ops = {
	"regex", regex_compile, regex_scan, NULL, NULL, regex_release, NULL, 0,
};
