/* Unit tests of format.c: names, time parsing, every format's spans. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lethe.h"
#include "t.h"

#define MIB	(1024 * 1024)

/* Split "a,b" into a NULL terminated array (tests only; leaks nothing). */
static size_t
split(const char *s, char **v, size_t max, char *buf, size_t bufsz)
{
	size_t n = 0;
	char *p, *save = NULL;

	if (s == NULL || *s == '\0')
		return 0;
	snprintf(buf, bufsz, "%s", s);
	for (p = strtok_r(buf, ",", &save); p != NULL && n < max;
	    p = strtok_r(NULL, ",", &save))
		v[n++] = p;
	return n;
}

static const struct tz *test_zone;

static struct format *
mk_spec(const char *k, const char *lf, const char *re, const char *fields,
    const char **errp)
{
	struct format_spec spec;
	char buf[512], *v[16];
	struct format *f;
	const char *err;
	int col;

	memset(&spec, 0, sizeof(spec));
	spec.kind = (char *)(uintptr_t)k;
	spec.log_format = (char *)(uintptr_t)lf;
	spec.regex = (char *)(uintptr_t)re;
	spec.nfields = split(fields, v, 16, buf, sizeof(buf));
	spec.fields = v;
	spec.prefix.v4 = 16;
	spec.prefix.v6 = 32;
	spec.zone = test_zone != NULL ? test_zone : tz_utc();
	f = format_new(&spec, &err, &col);
	if (errp != NULL)
		*errp = f == NULL ? err : NULL;
	return f;
}

static struct format *
mk(const char *k, const char *re, const char *fields)
{
	const char *err;
	struct format *f = mk_spec(k, NULL, re, fields, &err);

	if (f == NULL)
		fprintf(stderr, "format_new: %s\n", err);
	T_ASSERT(f != NULL);
	return f;
}

/* Spans in order, never overlapping, inside the line; as "a|b|c". */
static const char *
show(const char *line, size_t len, const struct spans *sp)
{
	static char out[4096];
	size_t i, o = 0, end = 0;

	out[0] = '\0';
	for (i = 0; i < sp->n; i++) {
		T_ASSERT(sp->v[i].len > 0);
		T_ASSERT((size_t)sp->v[i].off + sp->v[i].len <= len);
		T_ASSERT(i == 0 || sp->v[i].off >= end);
		end = (size_t)sp->v[i].off + sp->v[i].len;
		if (o + sp->v[i].len + 2 >= sizeof(out))
			break;
		if (i > 0)
			out[o++] = '|';
		memcpy(out + o, line + sp->v[i].off, sp->v[i].len);
		o += sp->v[i].len;
		out[o] = '\0';
	}
	return out;
}

/* Scan one NUL-terminated line with a fresh format. */
/* Scan one line with a fresh format: its spans, time and verdict. */
static void
check_lf(const char *k, const char *lf, const char *re, const char *fields,
    const char *line, const char *want, int64_t want_t, int want_bad)
{
	struct scan sc;
	struct format *f;
	const char *err;
	void *st;

	int before = t_failed_checks;

	memset(&sc, 0, sizeof(sc));
	if ((f = mk_spec(k, lf, re, fields, &err)) == NULL) {
		fprintf(stderr, "format_new: %s: %s\n", lf != NULL ? lf : k,
		    err);
		T_ASSERT(f != NULL);
		return;
	}
	st = format_state_new(f);
	format_scan(f, st, line, strlen(line), 0, &sc);
	if (want != NULL)
		T_EQ_STR(show(line, strlen(line), &sc.spans), want);
	T_EQ_INT(sc.time, want_t);
	if (want_bad >= 0)
		T_EQ_INT(sc.bad, want_bad);
	if (t_failed_checks != before)
		fprintf(stderr, "  in: %s\n", line);
	format_state_free(f, st);
	scan_release(&sc);
	format_free(f);
}

static void
check(const char *k, const char *re, const char *fields,
    const char *line, const char *want, int64_t want_t)
{
	check_lf(k, NULL, re, fields, line, want, want_t, -1);
}

#define OK	SCAN_OK
#define NOMATCH	SCAN_NOMATCH
#define BADADDR	SCAN_BADADDR
#define NOTIME	SCAN_NOTIME

static void
set_tz(const char *tz)
{
	static struct tz *z;
	const char *err;

	tz_free(z);
	z = NULL;
	test_zone = NULL;
	if (strcmp(tz, "UTC") != 0) {
		z = tz_from_posix(tz, &err);
		T_ASSERT(z != NULL);
		test_zone = z;
	}
}

static void
t_names(void)
{
	static const char *names[] = { "combined", "common", "main",
	    "vhost_combined", "nginx_error", "apache_error", "json", "regex",
	    "w3c" };
	struct format *f;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		T_ASSERT(format_known(names[i]));
	T_ASSERT(!format_known("Combined"));
	T_ASSERT(!format_known(""));
	T_ASSERT(strstr(format_names(), "combined, ") == format_names());
	/* Each named format's default address fields. */
	f = mk("combined", NULL, NULL);
	T_ASSERT(f != NULL && f->nnames == 1 &&
	    strcmp(f->names[0], "remote_addr") == 0);
	format_free(f);
	f = mk("main", NULL, NULL);
	T_ASSERT(f != NULL && f->nnames == 2 &&
	    strcmp(f->names[1], "http_x_forwarded_for") == 0);
	format_free(f);
	f = mk("apache_error", NULL, NULL);
	T_ASSERT(f != NULL && f->nnames == 2);
	format_free(f);
	format_free(NULL);
}

static void
t_new_errors(void)
{
	const char *err;

	T_ASSERT(mk_spec("combined", NULL, NULL, "remote_addr,"
	    "http_x_forwarded_for", &err) == NULL);
	T_ASSERT(err != NULL && strstr(err, "http_x_forwarded_for") != NULL);
	T_ASSERT(mk_spec("nginx_error", NULL, NULL, "remote_addr", &err) ==
	    NULL);
	T_ASSERT(mk_spec("json", NULL, NULL, NULL, &err) == NULL);
	T_ASSERT(mk_spec("json", NULL, NULL, "a..b", &err) == NULL);
	T_ASSERT(mk_spec("regex", NULL, NULL, "addr", &err) == NULL);
	T_ASSERT(mk_spec("regex", NULL, "^(?<host>\\S+) \\[(?<time>.*)\\]",
	    NULL, &err) == NULL);
	T_EQ_STR(err, "regex has no named group addr");
	T_ASSERT(mk_spec("regex", NULL, "^(?<addr2>\\S+) (?<time>.*)", "addr",
	    &err) == NULL);
	T_EQ_STR(err, "regex has no named group \"addr\"");
	T_ASSERT(mk_spec("regex", NULL, "^(?<addr>\\S+)", NULL, &err) == NULL);
	T_EQ_STR(err, "regex has no named group time");
	T_ASSERT(mk_spec("regex", NULL, "^(?<addr>\\S+", "addr", &err) ==
	    NULL);
	T_ASSERT(err != NULL && strstr(err, "at offset 12") != NULL);
	/* log_format: what check explains */
	T_ASSERT(mk_spec(NULL, "$binary_remote_addr [$time_local]", NULL,
	    NULL, &err) == NULL);
	T_ASSERT(err != NULL && strstr(err, "$remote_addr instead") != NULL);
	T_ASSERT(mk_spec(NULL, "$remote_addr - $status", NULL, NULL,
	    &err) == NULL);
	T_ASSERT(err != NULL && strstr(err, "no time field") != NULL);
	T_ASSERT(mk_spec(NULL, "%h %Q %t", NULL, NULL, &err) == NULL);
	T_ASSERT(err != NULL && strstr(err, "%Q") != NULL);
	T_ASSERT(mk_spec(NULL, "$remote_addr$remote_user [$time_local]", NULL,
	    NULL, &err) == NULL);
	T_ASSERT(mk_spec(NULL, "plain text", NULL, NULL, &err) == NULL);
}

static int64_t
pt(const char *s)
{
	int64_t t;

	if (format_parse_time(s, strlen(s), &t) == -1)
		return TIME_NONE;
	return t;
}

static void
t_time(void)
{
	set_tz("UTC");
	T_EQ_INT(pt("10/Oct/2000:13:55:36 -0700"), 971211336);
	T_EQ_INT(pt("[10/Oct/2000:13:55:36 -0700]"), 971211336);
	T_EQ_INT(pt("10/Oct/2000:20:55:36 +0000"), 971211336);
	T_EQ_INT(pt("29/Nov/2026:05:00:00 +0100"), 1795924800);
	T_EQ_INT(pt("2026-11-29T04:00:00Z"), 1795924800);
	T_EQ_INT(pt("2026-11-29T04:00:00.123Z"), 1795924800);
	T_EQ_INT(pt("2026-11-29T04:00:00.999999+00:00"), 1795924800);
	T_EQ_INT(pt("2026-11-29T05:00:00+01:00"), 1795924800);
	T_EQ_INT(pt("2026-11-29T05:00:00+0100"), 1795924800);
	T_EQ_INT(pt("2026-11-29T05:00:00+01"), 1795924800);
	T_EQ_INT(pt("2026-11-28T22:30:00-05:30"), 1795924800);
	T_EQ_INT(pt("2026-11-29 04:00:00+00:00"), 1795924800);
	T_EQ_INT(pt("2026-11-29 04:00:00 +0000"), 1795924800);
	T_EQ_INT(pt("2026-11-29t04:00:00z"), 1795924800);
	T_EQ_INT(pt("1764388800"), 1764388800);
	T_EQ_INT(pt("1764388800.123"), 1764388800);
	T_EQ_INT(pt("0"), 0);
	T_EQ_INT(pt("2024-02-29T00:00:00Z"), 1709164800);
	T_EQ_INT(pt("1999-12-31T23:59:59Z"), 946684799);
	T_EQ_INT(pt("1969-12-31T23:59:59.5Z"), -1);
	T_EQ_INT(pt(" 2026-11-29T04:00:00Z "), 1795924800);
	/* local time forms */
	T_EQ_INT(pt("2026/11/29 04:00:00"), 1795924800);
	T_EQ_INT(pt("2026-11-29T04:00:00"), 1795924800);
	T_EQ_INT(pt("Sun Nov 29 04:00:00.123456 2026"), 1795924800);
	T_EQ_INT(pt("Sun Nov 29 04:00:00 2026"), 1795924800);
	T_EQ_INT(pt("Sun Nov  1 04:00:00 2026"), 1793505600);
	/* --now reads offset-less times as UTC, whatever TZ says */
	T_EQ_INT(pt("2026-07-01T12:00:00"), 1782907200);
	/* invalid */
	T_EQ_INT(pt(""), TIME_NONE);
	T_EQ_INT(pt("[]"), TIME_NONE);
	T_EQ_INT(pt("-"), TIME_NONE);
	T_EQ_INT(pt("abc"), TIME_NONE);
	T_EQ_INT(pt("2023-02-29T00:00:00Z"), TIME_NONE);
	T_EQ_INT(pt("2026-04-31T00:00:00Z"), TIME_NONE);
	T_EQ_INT(pt("2026-13-01T00:00:00Z"), TIME_NONE);
	T_EQ_INT(pt("2026-11-29T24:00:00Z"), TIME_NONE);
	T_EQ_INT(pt("2026-11-29T04:60:00Z"), TIME_NONE);
	T_EQ_INT(pt("2026-11-29T04:00:00+2400"), TIME_NONE);
	T_EQ_INT(pt("2026-11-29T04:00:00+01:0"), TIME_NONE);
	T_EQ_INT(pt("2026-11-29T04:00:00.Z"), TIME_NONE);
	T_EQ_INT(pt("2026-11-29T04:00:00Zjunk"), TIME_NONE);
	T_EQ_INT(pt("2026-11-29"), TIME_NONE);
	T_EQ_INT(pt("10/Foo/2000:13:55:36 -0700"), TIME_NONE);
	T_EQ_INT(pt("10/Oct/2000:13:55:36"), 971186136);	/* zone-less */
	T_EQ_INT(pt("32/Oct/2000:13:55:36 -0700"), TIME_NONE);
	T_EQ_INT(pt("1764388800.1.2"), TIME_NONE);
	T_EQ_INT(pt("1764388800."), TIME_NONE);
	T_EQ_INT(pt("99999999999999"), 99999999999);	/* 14 digits: ms */
	T_EQ_INT(pt("999999999999999999999"), TIME_NONE);
	T_EQ_INT(pt("Sun Nox 29 04:00:00 2026"), TIME_NONE);
	T_EQ_INT(pt("Sun Nov 29 04:00:00 26"), TIME_NONE);
}

static void
t_combined(void)
{
	set_tz("UTC");
	check_lf("combined", NULL, NULL, NULL,
	    "203.0.113.7 - frank [10/Oct/2000:13:55:36 -0700] "
	    "\"GET /a.gif HTTP/1.0\" 200 2326 \"http://example.com/\" "
	    "\"Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0.0.0\"",
	    "203.0.113.7", 971211336, OK);
	check_lf("combined", NULL, NULL, "remote_addr",
	    "2001:db8::7 - - [29/Nov/2026:04:00:00 +0000] \"GET / HTTP/1.1\" "
	    "404 0 \"-\" \"curl/8.0\"", "2001:db8::7", 1795924800, OK);
	check_lf("common", NULL, NULL, "$remote_addr",
	    "[2001:db8::7]:443 - - [29/Nov/2026:04:00:00 +0000] \"-\" 400 0",
	    "[2001:db8::7]:443", 1795924800, OK);
	/* a user name a client chose never moves the time */
	check_lf("combined", NULL, NULL, NULL,
	    "192.0.2.1 - [x] [29/Nov/2026:04:00:00 +0000] \"GET / HTTP/1.1\" "
	    "200 1 \"-\" \"-\"", "192.0.2.1", 1795924800, OK);
	check_lf("combined", NULL, NULL, NULL,
	    "192.0.2.21 - [1000000000] [29/Nov/2026:11:00:00 +0000] "
	    "\"GET / HTTP/1.1\" 200 512 \"-\" \"ua\"", "192.0.2.21",
	    1795950000, OK);
	check_lf("combined", NULL, NULL, NULL,
	    "192.0.2.21 - x [29/Nov/2001:11:00:00 +0000] "
	    "[29/Nov/2026:11:00:00 +0000] \"GET / HTTP/1.1\" 200 512 \"-\" "
	    "\"ua\"", "192.0.2.21", 1795950000, OK);
	check_lf("combined", NULL, NULL, NULL,
	    "192.0.2.21 - [4102444800] [29/Nov/2026:11:00:00 +0000] "
	    "\"GET / HTTP/1.1\" 200 512 \"-\" \"ua\"", "192.0.2.21",
	    1795950000, OK);
	/* Apache writes an empty user as "" */
	check_lf("combined", NULL, NULL, NULL,
	    "192.0.2.1 - \"\" [29/Nov/2026:04:00:00 +0000] \"GET / HTTP/1.1\" "
	    "200 1 \"-\" \"-\"", "192.0.2.1", 1795924800, OK);
	/* not the format: nothing, said */
	check_lf("combined", NULL, NULL, NULL, "garbage", "", TIME_NONE,
	    NOMATCH);
	check_lf("combined", NULL, NULL, NULL, "192.0.2.1 [bad time]", "",
	    TIME_NONE, NOMATCH);
	check_lf("combined", NULL, NULL, NULL, "192.0.2.1 [", "", TIME_NONE,
	    NOMATCH);
	check_lf("combined", NULL, NULL, NULL, "", "", TIME_NONE, NOMATCH);
	/* an address field holding something else */
	check_lf("common", NULL, NULL, NULL,
	    "not@addr - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0\" "
	    "200 -", "", 971211336, BADADDR);
	check_lf("common", NULL, NULL, NULL,
	    "host.example.com - - [10/Oct/2000:13:55:36 -0700] \"GET / "
	    "HTTP/1.0\" 200 -", "", 971211336, OK);
	check_lf("common", NULL, NULL, NULL,
	    "::ffff:192.0.2.9 - - [10/Oct/2000:13:55:36 -0700] \"GET / "
	    "HTTP/1.0\" 200 -", "::ffff:192.0.2.9", 971211336, OK);
	/* a tab after the address is not the layout */
	check_lf("common", NULL, NULL, NULL,
	    "192.0.2.9\t- - [10/Oct/2000:13:55:36 -0700] \"GET / "
	    "HTTP/1.0\" 200 -", "", TIME_NONE, NOMATCH);
}

static void
t_vhost(void)
{
	check_lf("vhost_combined", NULL, NULL, NULL,
	    "www.example.com:443 203.0.113.7 - - [10/Oct/2000:13:55:36 -0700] "
	    "\"GET / HTTP/1.1\" 200 512 \"-\" \"Mozilla/5.0\"",
	    "203.0.113.7", 971211336, OK);
	check_lf("vhost_combined", NULL, NULL, NULL,
	    "192.0.2.1:80 2001:db8::1 - - [10/Oct/2000:13:55:36 -0700] "
	    "\"GET / HTTP/1.1\" 200 512 \"-\" \"-\"", "2001:db8::1",
	    971211336, OK);
	check_lf("vhost_combined", NULL, NULL, NULL, "onlyvhost:443", "",
	    TIME_NONE, NOMATCH);
}

static void
t_main_fmt(void)
{
	static const char *pre = "192.0.2.10 - - [29/Nov/2026:04:00:00 +0000] "
	    "\"GET /x?a=[1] HTTP/1.1\" 200 612 \"-\" \"Mozilla/5.0 (X11)\" ";
	char line[1024];

	snprintf(line, sizeof(line), "%s\"%s\"", pre,
	    "203.0.113.9, 10.0.0.1,2001:db8::2 unknown, -, proxy.example.com");
	check_lf("main", NULL, NULL, NULL, line, "192.0.2.10|203.0.113.9|"
	    "10.0.0.1|2001:db8::2", 1795924800, OK);
	check_lf("main", NULL, NULL, "http_x_forwarded_for", line,
	    "203.0.113.9|10.0.0.1|2001:db8::2", 1795924800, OK);
	check_lf("main", NULL, NULL, "remote_addr", line, "192.0.2.10",
	    1795924800, OK);
	snprintf(line, sizeof(line), "%s\"-\"\r", pre);
	check_lf("main", NULL, NULL, NULL, line, "192.0.2.10", 1795924800, OK);
	snprintf(line, sizeof(line), "%s\"\"", pre);
	check_lf("main", NULL, NULL, NULL, line, "192.0.2.10", 1795924800, OK);
	/* spoofed elements: every spelling is an address */
	snprintf(line, sizeof(line), "%s\"%s\"", pre, "[192.0.2.53], "
	    "192.0.2.50;198.51.100.3, 192.000.002.054, (192.0.2.52), "
	    "192.0.2.55/32, \\x22192.0.2.56\\x22");
	check_lf("main", NULL, NULL, "http_x_forwarded_for", line,
	    "192.0.2.53|192.0.2.50|198.51.100.3|192.000.002.054|192.0.2.52|"
	    "192.0.2.55|192.0.2.56", 1795924800, OK);
	/* garbage in the list: not understood */
	snprintf(line, sizeof(line), "%s\"%s\"", pre, "1.2.3.4, <script>");
	check_lf("main", NULL, NULL, NULL, line, "192.0.2.10|1.2.3.4",
	    1795924800, BADADDR);
	/* a field after the forwarded list: not this format */
	snprintf(line, sizeof(line), "%s\"1.2.3.4\" 0.004", pre);
	check_lf("main", NULL, NULL, NULL, line, "", TIME_NONE, NOMATCH);
	check_lf("main", NULL, NULL, NULL, "a \"1.2.3.4, 5.6.7.8\"", "",
	    TIME_NONE, NOMATCH);
}

/* The server's own log_format strings, nginx and Apache. */
static void
t_log_format(void)
{
	set_tz("UTC");
	check_lf(NULL, "$remote_addr - $remote_user [$time_local] "
	    "\"$request\" $status $body_bytes_sent \"$http_referer\" "
	    "\"$http_user_agent\" \"$http_x_forwarded_for\" $request_time",
	    NULL, NULL, "198.51.100.7 - - [29/Nov/2026:04:00:00 +0000] "
	    "\"GET / HTTP/1.1\" 200 5 \"-\" \"ua\" \"198.51.100.23, "
	    "203.0.113.5\" 0.004", "198.51.100.7|198.51.100.23|203.0.113.5",
	    1795924800, OK);
	/* the directive pasted as it stands, over several strings */
	check_lf(NULL, "log_format main '$remote_addr\t$remote_user "
	    "[$time_local] ' '\"$request\" $status';", NULL, NULL,
	    "192.0.2.9\t- [29/Nov/2026:04:00:00 +0000] \"GET / HTTP/1.1\" "
	    "200", "192.0.2.9", 1795924800, OK);
	check_lf(NULL, "log_format j escape=json '{\"t\":\"$time_iso8601\","
	    "\"ip\":\"$remote_addr\",\"xff\":\"$http_x_forwarded_for\"}';",
	    NULL, NULL, "{\"t\":\"2026-11-29T04:00:00+00:00\",\"ip\":"
	    "\"192.0.2.1\",\"xff\":\"198.51.100.2, 203.0.113.3\"}",
	    "192.0.2.1|198.51.100.2|203.0.113.3", 1795924800, OK);
	check_lf(NULL, "$remote_addr [$msec] \"$request\"", NULL, NULL,
	    "192.0.2.1 [1795924800.123] \"GET /\"", "192.0.2.1", 1795924800,
	    OK);
	/* Apache: X-Forwarded-For first, %{msec}t, a strftime %t */
	check_lf(NULL, "\"%{X-Forwarded-For}i\" %h %l %u %t \"%r\" %>s %b",
	    NULL, NULL, "\"198.51.100.7, 203.0.113.9\" 10.0.0.1 - - "
	    "[29/Nov/2026:04:00:00 +0000] \"GET / HTTP/1.1\" 200 -",
	    "198.51.100.7|203.0.113.9|10.0.0.1", 1795924800, OK);
	check_lf(NULL, "LogFormat \"%a %{msec}t \\\"%r\\\" %>s\" ms", NULL,
	    NULL, "2001:db8::1 1795924800123 \"GET / HTTP/1.1\" 200",
	    "2001:db8::1", 1795924800, OK);
	check_lf(NULL, "%h [%{%d/%b/%Y %T}t] \"%r\"", NULL, NULL,
	    "192.0.2.1 [29/Nov/2026 04:00:00] \"GET /\"", "192.0.2.1",
	    1795924800, OK);
	/* addresses: a header of one's own */
	check_lf(NULL, "$remote_addr [$time_local] \"$http_x_client\"", NULL,
	    "remote_addr,http_x_client", "192.0.2.1 [29/Nov/2026:04:00:00 "
	    "+0000] \"198.51.100.1\"", "192.0.2.1|198.51.100.1", 1795924800,
	    OK);
	/* Forwarded (RFC 7239) */
	check_lf(NULL, "$remote_addr [$time_local] \"$http_forwarded\"", NULL,
	    NULL, "192.0.2.1 [29/Nov/2026:04:00:00 +0000] \"for=192.0.2.60;"
	    "proto=https, for=\\x22[2001:db8:cafe::17]:4711\\x22, "
	    "for=_hidden\"", "192.0.2.1|192.0.2.60|[2001:db8:cafe::17]:4711",
	    1795924800, OK);
}

static void
t_nginx_error(void)
{
	set_tz("UTC");
	check_lf("nginx_error", NULL, NULL, NULL,
	    "2026/11/28 12:55:36 [error] 1234#0: *5 open() \"/x\" failed (2: "
	    "No such file or directory), client: 192.0.2.7, server: "
	    "localhost, request: \"GET /x HTTP/1.1\", host: \"localhost\"",
	    "192.0.2.7", 1795870536, OK);
	check_lf("nginx_error", NULL, NULL, "client",
	    "2026/11/28 12:55:36 [error] 1#1: *9 limiting requests, excess: "
	    "1.0 by zone \"one\", client: 2001:db8::9, server: a, request: "
	    "\"GET /, client: 192.0.2.99 HTTP/1.1\"",
	    "2001:db8::9|192.0.2.99", 1795870536, OK);
	check_lf("nginx_error", NULL, NULL, NULL,
	    "2026/11/28 12:55:36 [notice] 1#1: signal process started", "",
	    1795870536, OK);
	/* nginx's own messages */
	check_lf("nginx_error", NULL, NULL, NULL,
	    "2026/11/28 12:55:36 [info] 1#1: *7 client 192.0.2.77 closed "
	    "keepalive connection", "192.0.2.77", 1795870536, OK);
	check_lf("nginx_error", NULL, NULL, NULL,
	    "2026/11/28 12:55:36 [info] 1#1: *9 client 192.0.2.79:51234 "
	    "connected to 0.0.0.0:443", "192.0.2.79:51234", 1795870536, OK);
	check_lf("nginx_error", NULL, NULL, NULL,
	    "2026/11/28 12:55:36 [info] 1#1: *9 client closed connection "
	    "while waiting for request, client: 192.0.2.8, server: x",
	    "192.0.2.8", 1795870536, OK);
	check_lf("nginx_error", NULL, NULL, NULL, "junk, client: 192.0.2.7",
	    "", TIME_NONE, NOTIME);
	set_tz("CET-1CEST,M3.5.0,M10.5.0/3");
	check_lf("nginx_error", NULL, NULL, NULL,
	    "2026/11/28 13:55:36 [error] 1#0: *1 x, client: 192.0.2.7",
	    "192.0.2.7", 1795870536, OK);
	set_tz("UTC");
}

static void
t_apache_error(void)
{
	set_tz("UTC");
	check_lf("apache_error", NULL, NULL, NULL,
	    "[Sun Nov 29 04:47:57.123456 2026] [core:error] [pid 1234:tid "
	    "5678] [client 192.0.2.7:51234] AH00126: Invalid URI in request "
	    "GET /a HTTP/1.1", "192.0.2.7", 1795927677, OK);
	check_lf("apache_error", NULL, NULL, NULL,
	    "[Sun Nov 29 04:47:57 2026] [authz_core:error] [pid 1] "
	    "[client 2001:db8::7:51234] [remote 10.1.2.3:80] AH01630: client "
	    "denied, referer: http://x/", "2001:db8::7|10.1.2.3",
	    1795927677, OK);
	/* 2.4, IPv6 with a port, no brackets: the span stops before it */
	check_lf("apache_error", NULL, NULL, NULL,
	    "[Sun Nov 29 04:47:57 2026] [x:error] [client 2001:db8::1:443] y",
	    "2001:db8::1", 1795927677, OK);
	check_lf("apache_error", NULL, NULL, NULL,
	    "[Sun Nov 29 04:47:57 2026] [x:error] [client [2001:db8:aa:bb::1]"
	    ":51234] y", "[2001:db8:aa:bb::1]:51234", 1795927677, OK);
	check_lf("apache_error", NULL, NULL, "remote",
	    "[Sun Nov 29 04:47:57 2026] [x:error] [client 192.0.2.7:5] "
	    "[remote 10.1.2.3:80] y", "10.1.2.3", 1795927677, OK);
	/* 2.2: no port, so 2001:db8::1234 is all address */
	check_lf("apache_error", NULL, NULL, NULL,
	    "[Wed Oct 11 14:32:52 2000] [error] [client 2001:db8::1234] x",
	    "2001:db8::1234", 971274772, OK);
	check_lf("apache_error", NULL, NULL, NULL,
	    "[Wed Oct 11 14:32:52 2000] [error] [client 127.0.0.1] client "
	    "denied by server configuration: /export/home/live/ap/htdocs/test",
	    "127.0.0.1", 971274772, OK);
	check_lf("apache_error", NULL, NULL, NULL, "[client", "", TIME_NONE,
	    NOTIME);
	check_lf("apache_error", NULL, NULL, NULL, "PHP Stack trace:", "",
	    TIME_NONE, NOTIME);
}

static void
t_json(void)
{
	static const char *caddy = "{\"level\":\"info\",\"ts\":1764388800.123,"
	    "\"logger\":\"http.log.access\",\"msg\":\"handled request\","
	    "\"request\":{\"remote_ip\":\"203.0.113.7\",\"remote_port\":"
	    "\"51234\",\"client_ip\":\"203.0.113.7\",\"proto\":\"HTTP/2.0\","
	    "\"headers\":{\"X-Forwarded-For\":[\"198.51.100.1, 10.0.0.1\"],"
	    "\"User-Agent\":[\"curl/8.0\"]}},\"status\":200}";

	set_tz("UTC");
	check_lf("json", NULL, NULL, "request.remote_ip,request.headers."
	    "X-Forwarded-For", caddy, "203.0.113.7|198.51.100.1|10.0.0.1",
	    1764388800, OK);
	check_lf("json", NULL, NULL, "remote_ip", caddy, "", 1764388800, OK);
	check_lf("json", NULL, NULL, "remote_addr,http_x_forwarded_for",
	    "{\"time_local\":\"10/Oct/2000:13:55:36 -0700\",\"remote_addr\":"
	    "\"2001:db8::1\",\"http_x_forwarded_for\":\"-\",\"time\":5}",
	    "2001:db8::1", 971211336, OK);
	/* priority: time_local, time_iso8601, time, ts, whatever the order */
	check_lf("json", NULL, NULL, "a", "{\"ts\":1,\"time\":\"2026-11-29T04:"
	    "00:00Z\",\"time_iso8601\":\"2026-11-29T05:00:00+01:00\"}", "",
	    1795924800, OK);
	check_lf("json", NULL, NULL, "a", "{\"ts\":17,\"time\":\"bad\"}", "",
	    17, OK);
	check_lf("json", NULL, NULL, "a", "{\"x\":{\"time\":1764388800}}", "",
	    TIME_NONE, NOTIME);
	/* escapes: a quoted key inside a string is not a key */
	check_lf("json", NULL, NULL, "ip",
	    "{\"msg\":\"say \\\"ip\\\":\\\"192.0.2.1\\\" \\\\\",\"ip\":"
	    "\"192.0.2.2\",\"ts\":1}", "192.0.2.2", 1, OK);
	/* arrays of strings, objects in arrays, numbers and nulls */
	check_lf("json", NULL, NULL, "ips,hops.ip", "{\"ips\":[\"192.0.2.1\","
	    "\"2001:db8::1\",null,[\"192.0.2.3\"]],\"hops\":[{\"ip\":"
	    "\"192.0.2.4\"},{\"ip\":null}],\"n\":-1.5e3,\"b\":true,\"ts\":1}",
	    "192.0.2.1|2001:db8::1|192.0.2.3|192.0.2.4", 1, OK);
	/* nested key names only match at their depth */
	check_lf("json", NULL, NULL, "a.b", "{\"b\":\"1.1.1.1\",\"a\":{\"b\":"
	    "\"2.2.2.2\",\"a\":{\"b\":\"3.3.3.3\"}},\"c\":{\"a\":{\"b\":"
	    "\"4.4.4.4\"}},\"ts\":1}", "2.2.2.2", 1, OK);
	/* malformed, or not json: not understood */
	check_lf("json", NULL, NULL, "ip", "{\"ip\":\"192.0.2.1\",\"x\":", NULL,
	    TIME_NONE, NOMATCH);
	check_lf("json", NULL, NULL, "ip", "{{{{", "", TIME_NONE, NOMATCH);
	check_lf("json", NULL, NULL, "ip", "", "", TIME_NONE, NOMATCH);
	check_lf("json", NULL, NULL, "ip", "not json", "", TIME_NONE,
	    NOMATCH);
	check_lf("json", NULL, NULL, "ip", "[2016-04-15T20:17:00.310Z] "
	    "\"POST / HTTP/2\" 204", "", TIME_NONE, NOMATCH);
}

static void
t_json_deep(void)
{
	char line[512];
	size_t o = 0;
	int i;

	/* 31 levels are walked; 40 stop the walker without a crash */
	for (i = 0; i < 31; i++)
		o += snprintf(line + o, sizeof(line) - o, "{\"a\":");
	o += snprintf(line + o, sizeof(line) - o, "\"1.1.1.1\"");
	for (i = 0; i < 31; i++)
		line[o++] = '}';
	line[o] = '\0';
	check("json", NULL, "a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a."
	    "a.a.a.a.a.a.a.a.a", line, "1.1.1.1", TIME_NONE);
	o = 0;
	o += snprintf(line + o, sizeof(line) - o, "{\"ip\":\"2.2.2.2\",\"x\":");
	for (i = 0; i < 40; i++)
		o += snprintf(line + o, sizeof(line) - o, "[");
	o += snprintf(line + o, sizeof(line) - o, "1], \"ip\":\"3.3.3.3\"}");
	check("json", NULL, "ip", line, "2.2.2.2", TIME_NONE);
}

static void
t_regex(void)
{
	static const char *re = "^(?<addr>\\S+) \\S+ \\S+ \\[(?<time>[^]]+)\\]"
	    ".*\"(?<addr_xff>[^\"]*)\" \"(?<addr2>[^\"]*)\"$";
	struct format *f;

	set_tz("UTC");
	check("regex", re, "addr", "192.0.2.1 - - [10/Oct/2000:13:55:36 "
	    "-0700] \"GET / HTTP/1.1\" 200 1 \"203.0.113.5, unknown\" "
	    "\"2001:db8::5\"", "192.0.2.1|203.0.113.5|2001:db8::5",
	    971211336);
	check("regex", re, "addr", "no match", "", TIME_NONE);
	/* groups out of line order, nested, duplicate names, unset */
	check("regex", "to=(?<addr2>\\S+) from=(?<addr>(?<addr3>[^:]+)"
	    ":\\d+)(?<time>)", "addr", "x to=192.0.2.9 from=192.0.2.8:25",
	    "192.0.2.9|192.0.2.8:25", TIME_NONE);
	check("regex", "(?:a=(?<addr>\\S+)|b=(?<addr>\\S+)) "
	    "(?<time>\\S+)(?: c=(?<client>\\S+))?", "addr,client",
	    "b=192.0.2.1 2026-11-29T04:00:00Z c=192.0.2.3",
	    "192.0.2.1|192.0.2.3", 1795924800);
	check("regex", "(?:a=(?<addr>\\S+)|b=(?<addr>\\S+)) "
	    "(?<time>\\S+)(?: c=(?<client>\\S+))?", "addr,client",
	    "a=192.0.2.1 notatime", "192.0.2.1", TIME_NONE);
	/* \K and lookbehind do not produce bad spans */
	check("regex", "(?<=ip=)(?<addr>[0-9.]+)(?<time>)", "addr",
	    "ip=1.2.3.4 ip=5.6.7.8", "1.2.3.4", TIME_NONE);
	f = mk("regex", "(?<addr>a)(?<time>b)", "addr");
	T_ASSERT(f != NULL);
	format_free(f);
}

/* A 1 MiB line, NUL bytes, and span reuse without reallocation. */
static void
scan1(struct format *f, const char *line, size_t len, struct scan *sc)
{
	void *st = format_state_new(f);

	format_scan(f, st, line, len, 0, sc);
	format_state_free(f, st);
}

static void
t_big(void)
{
	struct scan sc;
	struct format *f;
	struct span *v;
	char *line;
	size_t n, o, i, cap;

	memset(&sc, 0, sizeof(sc));
	line = malloc(2 * MIB);
	T_ASSERT(line != NULL);
	o = (size_t)snprintf(line, 256, "192.0.2.1 - - [10/Oct/2000:13:55:36 "
	    "-0700] \"GET /");
	memset(line + o, 'a', MIB - o - 64);
	o = MIB - 64;
	o += (size_t)snprintf(line + o, 256, " HTTP/1.1\" 200 1 \"-\" \"-\"");
	f = mk("combined", NULL, NULL);
	scan1(f, line, o, &sc);
	T_EQ_STR(show(line, o, &sc.spans), "192.0.2.1");
	T_EQ_INT(sc.time, 971211336);
	T_EQ_INT(sc.bad, SCAN_OK);
	format_free(f);

	/* main with a 1.3 MiB forwarded list: 100k elements */
	f = mk("main", NULL, NULL);
	o = (size_t)snprintf(line, 256, "192.0.2.1 - - [10/Oct/2000:13:55:36 "
	    "-0700] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\" \"");
	for (n = 0; n < 100000 && o < 2 * MIB - 64; n++)
		o += (size_t)snprintf(line + o, 16, "10.%zu.%zu.1, ",
		    n / 256 % 256, n % 256);
	line[o++] = '"';
	scan1(f, line, o, &sc);
	T_EQ_INT(sc.spans.n, n + 1);
	for (i = 1; i < sc.spans.n; i++)
		T_ASSERT(sc.spans.v[i].off >= sc.spans.v[i - 1].off +
		    sc.spans.v[i - 1].len);
	T_ASSERT(memcmp(line + sc.spans.v[sc.spans.n - 1].off,
	    "10.134.159.1", 12) == 0);

	/* reused: no reallocation for a smaller line */
	v = sc.spans.v;
	cap = sc.spans.cap;
	o = (size_t)snprintf(line, 256, "1.1.1.1 - - [10/Oct/2000:13:55:36 "
	    "-0700] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\" \"a, b\"");
	scan1(f, line, o, &sc);
	T_EQ_INT(sc.spans.n, 1);
	T_EQ_INT(sc.bad, SCAN_OK);	/* "a" and "b": host names */
	T_ASSERT(sc.spans.v == v && sc.spans.cap == cap);
	format_free(f);

	/* NUL bytes anywhere */
	f = mk("json", NULL, "ip");
	memcpy(line, "{\"x\":\"a\0b\",\"ip\":\"1.2.3.4\",\"time\":1}", 36);
	scan1(f, line, 36, &sc);
	T_EQ_STR(show(line, 36, &sc.spans), "1.2.3.4");
	format_free(f);
	f = mk("nginx_error", NULL, NULL);
	memcpy(line, "\0\0, client: 1.2.3.4\0, client: 5.6.7.8", 38);
	scan1(f, line, 38, &sc);
	T_EQ_INT(sc.bad, SCAN_NOTIME);
	format_free(f);
	scan_release(&sc);
	free(line);
}

/* Every prefix of realistic lines: in bounds, sorted, no crash. */
static void
t_prefixes(void)
{
	static const char *lines[] = {
		"[Sun Nov 29 04:47:57.123456 2026] [core:error] [pid 1:tid 2]"
		    " [client 192.0.2.7:51234] [remote 10.0.0.1:1] AH00126: x",
		"2026/11/28 12:55:36 [error] 1#0: *5 x, client: 192.0.2.7, "
		    "server: a",
		"192.0.2.10 - - [29/Nov/2026:04:00:00 +0000] \"GET / "
		    "HTTP/1.1\" 200 612 \"-\" \"UA\" \"203.0.113.9, 10.0.0.1\"",
		"{\"ts\":1764388800.5,\"request\":{\"remote_ip\":\"1.2.3.4\","
		    "\"x\":[\"5.6.7.8\",{\"y\":1}]},"
		    "\"xff\":\"1.1.1.1, 2.2.2.2\"}",
	};
	static const char *k[] = {
		"apache_error", "nginx_error", "main", "json"
	};
	struct scan sc;
	struct format *f;
	size_t i, n, len;
	char *copy;

	memset(&sc, 0, sizeof(sc));
	for (i = 0; i < 4; i++) {
		f = mk(k[i], NULL, i == 3 ? "request.remote_ip,request.x,xff" :
		    NULL);
		len = strlen(lines[i]);
		for (n = 0; n <= len; n++) {
			/* an exact-size copy, so ASan sees any overread */
			copy = malloc(n ? n : 1);
			memcpy(copy, lines[i], n);
			scan1(f, copy, n, &sc);
			(void)show(copy, n, &sc.spans);
			free(copy);
		}
		T_ASSERT(sc.spans.n > 0);
		format_free(f);
	}
	scan_release(&sc);
}

/*
 * The CLF time kept from line to line (the same text, or the same minute
 * and zone with other seconds) gives what a fresh parse gives: seconds
 * that step and jump, :60, :61, "6x", the zone and the minute changing.
 */
static void
t_clf_cache(void)
{
	static const char *const zones[] = { "+0000", "-0700", "+0530" };
	static const char *const secs[] = { "00", "01", "59", "60", "61",
	    "6x", "99", "30", "30" };
	struct scan sc, ref;
	struct format *f, *g;
	char line[256];
	unsigned long long x = 88172645463325252ULL;
	int i, n, mi = 55, day = 10, z = 0, bad = 0;
	const char *ss;
	char sbuf[3];

	set_tz("CET-1CEST,M3.5.0,M10.5.0/3");
	memset(&sc, 0, sizeof(sc));
	memset(&ref, 0, sizeof(ref));
	f = mk("combined", NULL, NULL);
	for (i = 0; i < 3000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (x % 17 == 0)
			mi = (mi + 1) % 60;
		if (x % 101 == 0)
			day = day % 28 + 1;
		if (x % 23 == 0)
			z = (int)(x / 23 % 3);
		if (x % 5 == 0)
			ss = secs[x / 5 % (sizeof(secs) / sizeof(secs[0]))];
		else {
			snprintf(sbuf, sizeof(sbuf), "%02d", (int)(x / 7 % 60));
			ss = sbuf;
		}
		n = snprintf(line, sizeof(line), "192.0.2.1 - - [%02d/Oct/2000:"
		    "13:%02d:%s %s] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"",
		    day, mi, ss, zones[z]);
		scan1(f, line, (size_t)n, &sc);
		g = mk("combined", NULL, NULL);
		scan1(g, line, (size_t)n, &ref);
		format_free(g);
		if ((sc.time != ref.time || sc.bad != ref.bad) && bad++ < 3)
			fprintf(stderr, "%s: %lld %d, fresh %lld %d\n", line,
			    (long long)sc.time, sc.bad, (long long)ref.time,
			    ref.bad);
	}
	T_EQ_INT(bad, 0);
	/* and the values themselves, in one minute */
	for (i = 0; i < 3; i++) {
		static const char *const t3[] = { "36", "59", "00" };
		static const int64_t want[] = { 971211336, 971211359,
		    971211300 };

		n = snprintf(line, sizeof(line), "192.0.2.1 - - [10/Oct/2000:"
		    "13:55:%s -0700] \"-\" 1 1 \"-\" \"-\"", t3[i]);
		scan1(f, line, (size_t)n, &sc);
		T_EQ_INT(sc.time, want[i]);
	}
	format_free(f);
	scan_release(&sc);
	scan_release(&ref);
	set_tz("UTC");
}

static const struct t_case cases[] = {
	{ "names", t_names },
	{ "new_errors", t_new_errors },
	{ "time", t_time },
	{ "combined", t_combined },
	{ "vhost", t_vhost },
	{ "main", t_main_fmt },
	{ "log_format", t_log_format },
	{ "nginx_error", t_nginx_error },
	{ "apache_error", t_apache_error },
	{ "json", t_json },
	{ "json_deep", t_json_deep },
	{ "regex", t_regex },
	{ "big", t_big },
	{ "prefixes", t_prefixes },
	{ "clf_cache", t_clf_cache },
	{ NULL, NULL }
};

int
main(int argc, char **argv)
{
	return t_main(cases, argc, argv);
}
