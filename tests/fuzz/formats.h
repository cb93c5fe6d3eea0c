/*
 * The formats the fuzz targets read lines with: every named format
 * (format_kind() walks them, so a new one is fuzzed without a change
 * here), then log_format strings of each syntax and escaping, and the
 * time settings.  The first input byte picks one.
 */
#ifndef FUZZ_FORMATS_H
#define FUZZ_FORMATS_H

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lethe.h"

static char fz_remote_ip[] = "remote_ip", fz_req_ip[] = "request.remote_ip";
static char fz_xff[] = "xff", fz_addr[] = "addr", fz_client[] = "client";
static char fz_fwd[] = "addr_for";
static char *fz_json_fields[] = { fz_remote_ip, fz_req_ip, fz_xff, fz_client };
static char *fz_regex_fields[] = { fz_addr, fz_fwd };

/* A named format's extra keys: json needs addresses, regex its regex. */
static const char fz_regex[] =
    "^(?<addr>\\S+) \\S+ \\S+ \\[(?<time>[^]]*)\\]"
    "(?:.*? for=(?<addr_for>[^ ;,]+))?";

static const struct fz_extra {
	const char	*log_format;
	const char	*kind;		/* with the keys below */
	const char	*regex;
	const char	*time_key;
	const char	*time_format;
	int		 mask_hostnames;
} fz_extras[] = {
	{ "log_format x escape=json '{\"ip\":\"$remote_addr\",\"t\":"
	    "\"$time_iso8601\",\"xff\":\"$http_x_forwarded_for\",\"u\":"
	    "\"$remote_user\"}';", NULL, NULL, NULL, NULL, 0 },
	{ "$remote_addr\t$remote_user\t[$time_local]\t\"$request\"\t$status "
	    "\"$http_x_forwarded_for\" $request_time $msec", NULL, NULL, NULL,
	    NULL, 1 },
	{ "%{X-Forwarded-For}i %l %u %t \"%r\" %>s %b \"%{Referer}i\" "
	    "\"%{User-Agent}i\" %a %{c}a", NULL, NULL, NULL, NULL, 0 },
	{ "%h %{%d/%b/%Y %T}t.%{msec_frac}t %{%z}t \"%r\" %>s %{Forwarded}i",
	    NULL, NULL, NULL, NULL, 0 },
	{ "$remote_addr [$time_local] \"$request\" \"$http_forwarded\" "
	    "$loggable", NULL, NULL, NULL, NULL, 0 },
	{ NULL, "json", NULL, "request.start", "epoch_ms", 0 },
	{ NULL, "regex", fz_regex, NULL, "clf_ms", 0 },
	{ NULL, "regex", fz_regex, NULL, "%d/%b/%Y:%H:%M:%S", 1 },
};

#define FZ_NEXTRAS	(sizeof(fz_extras) / sizeof(fz_extras[0]))

static size_t
fz_nkinds(void)
{
	size_t n = 0;

	while (format_kind(n) != NULL)
		n++;
	return n;
}

/* How many formats there are to pick from. */
static size_t
fz_nformats(void)
{
	return fz_nkinds() + FZ_NEXTRAS;
}

static void
fz_spec(struct format_spec *s, const char *kind)
{
	if (strcmp(kind, "json") == 0) {
		s->fields = fz_json_fields;
		s->nfields = 4;
	} else if (strcmp(kind, "regex") == 0) {
		s->regex = (char *)(uintptr_t)fz_regex;
		s->fields = fz_regex_fields;
		s->nfields = 2;
	}
}

/* Format number i (0 .. fz_nformats()), compiled once and kept. */
static struct format *
fz_format(size_t i)
{
	static struct format **cache;
	const struct fz_extra *x;
	struct format_spec s;
	const char *err;
	size_t nk = fz_nkinds();
	int col;

	if (cache == NULL) {
		cache = calloc(fz_nformats(), sizeof(*cache));
		assert(cache != NULL);
	}
	if (cache[i] != NULL)
		return cache[i];
	memset(&s, 0, sizeof(s));
	s.prefix.v4 = 24;
	s.prefix.v6 = 48;
	s.zone = tz_utc();
	if (i < nk) {
		s.kind = (char *)(uintptr_t)format_kind(i);
		fz_spec(&s, s.kind);
	} else {
		x = &fz_extras[i - nk];
		s.log_format = (char *)(uintptr_t)x->log_format;
		if (x->kind != NULL) {
			s.kind = (char *)(uintptr_t)x->kind;
			fz_spec(&s, x->kind);
		}
		s.time_key = (char *)(uintptr_t)x->time_key;
		s.time_format = (char *)(uintptr_t)x->time_format;
		s.mask_hostnames = x->mask_hostnames;
	}
	cache[i] = format_new(&s, &err, &col);
	assert(cache[i] != NULL);
	return cache[i];
}

#endif
