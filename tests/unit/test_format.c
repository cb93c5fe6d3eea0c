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

static struct format *
mk(enum format_kind k, const char *re, const char *fields)
{
	char buf[512], *v[16];
	struct format *f;
	const char *err;
	size_t n;

	n = split(fields, v, 16, buf, sizeof(buf));
	f = format_new(k, re, v, n, &err);
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
static void
check(enum format_kind k, const char *re, const char *fields,
    const char *line, const char *want, int64_t want_t)
{
	struct spans sp = { NULL, 0, 0 };
	struct format *f;
	int64_t t;

	if ((f = mk(k, re, fields)) == NULL)
		return;
	format_scan(f, line, strlen(line), &sp, &t);
	T_EQ_STR(show(line, strlen(line), &sp), want);
	T_EQ_INT(t, want_t);
	spans_release(&sp);
	format_free(f);
}

static void
set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static void
t_names(void)
{
	static const char *names[] = { "combined", "common", "main",
	    "vhost_combined", "nginx_error", "apache_error", "json", "regex" };
	enum format_kind k;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		T_EQ_INT(format_kind_parse(names[i], &k), 0);
		T_EQ_INT(k, i);
		T_EQ_STR(format_kind_name(k), names[i]);
	}
	T_EQ_INT(format_kind_parse("Combined", &k), -1);
	T_EQ_INT(format_kind_parse("", &k), -1);
	T_EQ_STR(format_default_fields(FORMAT_COMBINED), "remote_addr");
	T_EQ_STR(format_default_fields(FORMAT_MAIN),
	    "remote_addr,http_x_forwarded_for");
	T_EQ_STR(format_default_fields(FORMAT_NGINX_ERROR), "client");
	T_EQ_STR(format_default_fields(FORMAT_APACHE_ERROR), "client,remote");
	T_ASSERT(format_default_fields(FORMAT_JSON) == NULL);
	T_ASSERT(format_default_fields(FORMAT_REGEX) == NULL);
	format_free(NULL);
}

static void
t_new_errors(void)
{
	char f1[] = "remote_addr", f2[] = "http_x_forwarded_for";
	char f3[] = "addr", f4[] = "a..b";
	char *bad[] = { f1, f2 }, *addr[] = { f3 }, *empty[] = { f4 };
	const char *err;

	T_ASSERT(format_new(FORMAT_COMBINED, NULL, bad, 2, &err) == NULL);
	T_ASSERT(err != NULL && strstr(err, "http_x_forwarded_for") != NULL);
	T_ASSERT(format_new(FORMAT_NGINX_ERROR, NULL, bad, 1, &err) == NULL);
	T_ASSERT(err != NULL && strstr(err, "remote_addr") != NULL);
	T_ASSERT(format_new(FORMAT_JSON, NULL, NULL, 0, &err) == NULL);
	T_ASSERT(format_new(FORMAT_JSON, NULL, empty, 1, &err) == NULL);
	T_ASSERT(format_new(FORMAT_REGEX, NULL, addr, 1, &err) == NULL);
	T_ASSERT(format_new(FORMAT_REGEX, "^(?<addr>\\S+)", NULL, 0,
	    &err) == NULL);
	T_ASSERT(format_new(FORMAT_REGEX, "^(?<host>\\S+)", addr, 1,
	    &err) == NULL);
	T_EQ_STR(err, "regex has no named group addr");
	T_ASSERT(format_new(FORMAT_REGEX, "^(?<addr2>\\S+)", addr, 1,
	    &err) == NULL);
	T_EQ_STR(err, "regex has no named group \"addr\"");
	T_ASSERT(format_new(FORMAT_REGEX, "^(?<ip>\\S+)", empty, 1,
	    &err) == NULL);
	T_ASSERT(format_new(FORMAT_REGEX, "^(?<addr>\\S+", addr, 1,
	    &err) == NULL);
	T_ASSERT(err != NULL && strstr(err, "at offset 12") != NULL);
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
	set_tz("CET-1CEST,M3.5.0,M10.5.0/3");
	T_EQ_INT(pt("2026/11/29 05:00:00"), 1795924800);
	T_EQ_INT(pt("2026-07-01T12:00:00"), 1782900000);
	T_EQ_INT(pt("2026-07-01T12:00:00Z"), 1782900000 + 7200);
	set_tz("UTC");
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
	T_EQ_INT(pt("10/Oct/2000:13:55:36"), TIME_NONE);
	T_EQ_INT(pt("32/Oct/2000:13:55:36 -0700"), TIME_NONE);
	T_EQ_INT(pt("1764388800.1.2"), TIME_NONE);
	T_EQ_INT(pt("1764388800."), TIME_NONE);
	T_EQ_INT(pt("99999999999999"), TIME_NONE);
	T_EQ_INT(pt("Sun Nox 29 04:00:00 2026"), TIME_NONE);
	T_EQ_INT(pt("Sun Nov 29 04:00:00 26"), TIME_NONE);
}

static void
t_combined(void)
{
	set_tz("UTC");
	check(FORMAT_COMBINED, NULL, NULL,
	    "203.0.113.7 - frank [10/Oct/2000:13:55:36 -0700] "
	    "\"GET /a.gif HTTP/1.0\" 200 2326 \"http://example.com/\" "
	    "\"Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0.0.0\"",
	    "203.0.113.7", 971211336);
	check(FORMAT_COMBINED, NULL, "remote_addr",
	    "2001:db8::7 - - [29/Nov/2026:04:00:00 +0000] \"GET / HTTP/1.1\" "
	    "404 0 \"-\" \"curl/8.0\"", "2001:db8::7", 1795924800);
	check(FORMAT_COMBINED, NULL, "$remote_addr",
	    "[2001:db8::7]:443 - - [29/Nov/2026:04:00:00 +0000] \"-\" 400 0",
	    "[2001:db8::7]:443", 1795924800);
	/* a user name with a bracket does not hide the time */
	check(FORMAT_COMBINED, NULL, NULL,
	    "192.0.2.1 - [x] [29/Nov/2026:04:00:00 +0000] \"GET / HTTP/1.1\" "
	    "200 1", "192.0.2.1", 1795924800);
	/* not the format: the first token is still a candidate */
	check(FORMAT_COMBINED, NULL, NULL, "garbage", "garbage", TIME_NONE);
	check(FORMAT_COMBINED, NULL, NULL, "192.0.2.1 [bad time]",
	    "192.0.2.1", TIME_NONE);
	check(FORMAT_COMBINED, NULL, NULL, "192.0.2.1 [", "192.0.2.1",
	    TIME_NONE);
	check(FORMAT_COMBINED, NULL, NULL, " leading", "", TIME_NONE);
	check(FORMAT_COMBINED, NULL, NULL, "", "", TIME_NONE);
	check(FORMAT_COMMON, NULL, NULL,
	    "203.0.113.7 - frank [10/Oct/2000:13:55:36 -0700] "
	    "\"GET /a.gif HTTP/1.0\" 200 2326", "203.0.113.7", 971211336);
	check(FORMAT_COMMON, NULL, NULL,
	    "::ffff:192.0.2.9 - - [10/Oct/2000:13:55:36 -0700] \"GET / "
	    "HTTP/1.0\" 200 -", "::ffff:192.0.2.9", 971211336);
}

static void
t_vhost(void)
{
	check(FORMAT_VHOST_COMBINED, NULL, NULL,
	    "www.example.com:443 203.0.113.7 - - [10/Oct/2000:13:55:36 -0700] "
	    "\"GET / HTTP/1.1\" 200 512 \"-\" \"Mozilla/5.0\"",
	    "203.0.113.7", 971211336);
	check(FORMAT_VHOST_COMBINED, NULL, NULL,
	    "192.0.2.1:80 2001:db8::1 - - [10/Oct/2000:13:55:36 -0700] "
	    "\"GET / HTTP/1.1\" 200 512 \"-\" \"-\"", "2001:db8::1",
	    971211336);
	check(FORMAT_VHOST_COMBINED, NULL, NULL, "onlyvhost:443", "",
	    TIME_NONE);
}

static void
t_main_fmt(void)
{
	static const char *pre = "192.0.2.10 - - [29/Nov/2026:04:00:00 +0000] "
	    "\"GET /x?a=[1] HTTP/1.1\" 200 612 \"-\" \"Mozilla/5.0 (X11)\" ";
	char line[1024];

	snprintf(line, sizeof(line), "%s\"%s\"", pre,
	    "203.0.113.9, 10.0.0.1,2001:db8::2 unknown, -, proxy.example.com");
	check(FORMAT_MAIN, NULL, NULL, line, "192.0.2.10|203.0.113.9|"
	    "10.0.0.1|2001:db8::2|unknown|-|proxy.example.com", 1795924800);
	check(FORMAT_MAIN, NULL, "http_x_forwarded_for", line, "203.0.113.9|"
	    "10.0.0.1|2001:db8::2|unknown|-|proxy.example.com", 1795924800);
	check(FORMAT_MAIN, NULL, "remote_addr", line, "192.0.2.10",
	    1795924800);
	snprintf(line, sizeof(line), "%s\"-\"\r", pre);
	check(FORMAT_MAIN, NULL, NULL, line, "192.0.2.10|-", 1795924800);
	snprintf(line, sizeof(line), "%s\"\"", pre);
	check(FORMAT_MAIN, NULL, NULL, line, "192.0.2.10", 1795924800);
	/* broken lines: nothing before the time is taken for the list */
	check(FORMAT_MAIN, NULL, NULL, "\"1.2.3.4, 5.6.7.8\"",
	    "\"1.2.3.4,", TIME_NONE);
	check(FORMAT_MAIN, NULL, NULL, "a \"1.2.3.4, 5.6.7.8\"",
	    "a|1.2.3.4|5.6.7.8", TIME_NONE);
	check(FORMAT_MAIN, NULL, NULL, "a \"", "a", TIME_NONE);
	check(FORMAT_MAIN, NULL, NULL, "a \"\"", "a", TIME_NONE);
}

static void
t_nginx_error(void)
{
	set_tz("UTC");
	check(FORMAT_NGINX_ERROR, NULL, NULL,
	    "2026/11/28 12:55:36 [error] 1234#0: *5 open() \"/x\" failed (2: "
	    "No such file or directory), client: 192.0.2.7, server: "
	    "localhost, request: \"GET /x HTTP/1.1\", host: \"localhost\"",
	    "192.0.2.7", 1795870536);
	check(FORMAT_NGINX_ERROR, NULL, "client",
	    "2026/11/28 12:55:36 [error] 1#1: *9 limiting requests, excess: "
	    "1.0 by zone \"one\", client: 2001:db8::9, server: a, request: "
	    "\"GET /, client: 192.0.2.99 HTTP/1.1\"",
	    "2001:db8::9|192.0.2.99", 1795870536);
	check(FORMAT_NGINX_ERROR, NULL, NULL,
	    "2026/11/28 12:55:36 [notice] 1#1: signal process started", "",
	    1795870536);
	check(FORMAT_NGINX_ERROR, NULL, NULL, "junk, client: 192.0.2.7",
	    "192.0.2.7", TIME_NONE);
	check(FORMAT_NGINX_ERROR, NULL, NULL, "x, client: ", "", TIME_NONE);
	set_tz("CET-1CEST,M3.5.0,M10.5.0/3");
	check(FORMAT_NGINX_ERROR, NULL, NULL,
	    "2026/11/28 13:55:36 [error] 1#0: *1 x, client: 192.0.2.7",
	    "192.0.2.7", 1795870536);
	set_tz("UTC");
}

static void
t_apache_error(void)
{
	set_tz("UTC");
	check(FORMAT_APACHE_ERROR, NULL, NULL,
	    "[Sun Nov 29 04:47:57.123456 2026] [core:error] [pid 1234:tid "
	    "5678] [client 192.0.2.7:51234] AH00126: Invalid URI in request "
	    "GET /a HTTP/1.1", "192.0.2.7:51234", 1795927677);
	check(FORMAT_APACHE_ERROR, NULL, NULL,
	    "[Sun Nov 29 04:47:57 2026] [authz_core:error] [pid 1] "
	    "[client 2001:db8::7:51234] [remote 10.1.2.3:80] AH01630: client "
	    "denied, referer: http://x/", "2001:db8::7|10.1.2.3:80",
	    1795927677);
	/* IPv6 with a port, no brackets: the span stops before the port */
	check(FORMAT_APACHE_ERROR, NULL, NULL,
	    "[Sun Nov 29 04:47:57 2026] [x:error] [client 2001:db8::1:443] y",
	    "2001:db8::1", 1795927677);
	check(FORMAT_APACHE_ERROR, NULL, NULL,
	    "[Sun Nov 29 04:47:57 2026] [x:error] [client ::ffff:1.2.3.4:80] y",
	    "::ffff:1.2.3.4", 1795927677);
	check(FORMAT_APACHE_ERROR, NULL, "remote",
	    "[Sun Nov 29 04:47:57 2026] [x:error] [client 192.0.2.7:5] "
	    "[remote 10.1.2.3:80] y", "10.1.2.3:80", 1795927677);
	check(FORMAT_APACHE_ERROR, NULL, NULL,
	    "[Wed Oct 11 14:32:52 2000] [error] [client 127.0.0.1] client "
	    "denied by server configuration: /export/home/live/ap/htdocs/test",
	    "127.0.0.1", 971274772);
	check(FORMAT_APACHE_ERROR, NULL, NULL, "[client", "", TIME_NONE);
	check(FORMAT_APACHE_ERROR, NULL, NULL, "[client ]", "", TIME_NONE);
	check(FORMAT_APACHE_ERROR, NULL, NULL, "[bad] [client 1.2.3.4",
	    "1.2.3.4", TIME_NONE);
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
	check(FORMAT_JSON, NULL, "request.remote_ip,request.headers."
	    "X-Forwarded-For", caddy, "203.0.113.7|198.51.100.1|10.0.0.1",
	    1764388800);
	check(FORMAT_JSON, NULL, "remote_ip", caddy, "", 1764388800);
	check(FORMAT_JSON, NULL, "remote_addr,http_x_forwarded_for",
	    "{\"time_local\":\"10/Oct/2000:13:55:36 -0700\",\"remote_addr\":"
	    "\"2001:db8::1\",\"http_x_forwarded_for\":\"-\",\"time\":5}",
	    "2001:db8::1|-", 971211336);
	/* priority: time_local, time_iso8601, time, ts, whatever the order */
	check(FORMAT_JSON, NULL, "a", "{\"ts\":1,\"time\":\"2026-11-29T04:00:"
	    "00Z\",\"time_iso8601\":\"2026-11-29T05:00:00+01:00\"}", "",
	    1795924800);
	check(FORMAT_JSON, NULL, "a", "{\"ts\":17,\"time\":\"bad\"}", "", 17);
	check(FORMAT_JSON, NULL, "a", "{\"time\":1764388800}", "",
	    1764388800);
	check(FORMAT_JSON, NULL, "a", "{\"x\":{\"time\":1764388800}}", "",
	    TIME_NONE);
	/* escapes: a quoted key inside a string is not a key */
	check(FORMAT_JSON, NULL, "ip",
	    "{\"msg\":\"say \\\"ip\\\":\\\"192.0.2.1\\\" \\\\\",\"ip\":"
	    "\"192.0.2.2\"}", "192.0.2.2", TIME_NONE);
	check(FORMAT_JSON, NULL, "ip", "{\"ip\":\"192.0.2.2\\u0020x\"}",
	    "192.0.2.2\\u0020x", TIME_NONE);
	/* arrays of strings, objects in arrays, numbers and nulls */
	check(FORMAT_JSON, NULL, "ips,hops.ip", "{\"ips\":[\"192.0.2.1\","
	    "\"2001:db8::1\",7,null,[\"192.0.2.3\"]],\"hops\":[{\"ip\":"
	    "\"192.0.2.4\"},{\"ip\":null}],\"n\":-1.5e3,\"b\":true}",
	    "192.0.2.1|2001:db8::1|192.0.2.3|192.0.2.4", TIME_NONE);
	/* nested key names only match at their depth */
	check(FORMAT_JSON, NULL, "a.b", "{\"b\":\"1.1.1.1\",\"a\":{\"b\":"
	    "\"2.2.2.2\",\"a\":{\"b\":\"3.3.3.3\"}},\"c\":{\"a\":{\"b\":"
	    "\"4.4.4.4\"}}}", "2.2.2.2", TIME_NONE);
	check(FORMAT_JSON, NULL, "a", "{\"a\":{\"x\":\"1.1.1.1\"}}", "",
	    TIME_NONE);
	/* malformed: what was found so far */
	check(FORMAT_JSON, NULL, "ip", "{\"ip\":\"192.0.2.1\",\"x\":",
	    "192.0.2.1", TIME_NONE);
	check(FORMAT_JSON, NULL, "ip", "{\"ip\":\"192.0.2.1\"", "192.0.2.1",
	    TIME_NONE);
	check(FORMAT_JSON, NULL, "ip", "{\"ip\":\"192.0.2.1", "", TIME_NONE);
	check(FORMAT_JSON, NULL, "ip",
	    "{\"ip\":\"1.1.1.1\" \"ip\":\"2.2.2.2\"}", "1.1.1.1", TIME_NONE);
	check(FORMAT_JSON, NULL, "ip", "{\"ip\"::\"1.1.1.1\"}", "", TIME_NONE);
	check(FORMAT_JSON, NULL, "ip", "{\"ip\":[\"1.1.1.1\",}", "1.1.1.1",
	    TIME_NONE);
	check(FORMAT_JSON, NULL, "ip", "{{{{", "", TIME_NONE);
	check(FORMAT_JSON, NULL, "ip", "", "", TIME_NONE);
	check(FORMAT_JSON, NULL, "ip", "not json", "", TIME_NONE);
	check(FORMAT_JSON, NULL, "ip", "prefix: {\"ip\":\"1.1.1.1\"}",
	    "1.1.1.1", TIME_NONE);
	check(FORMAT_JSON, NULL, "ip", "{\"ip\":\"\\\"}", "", TIME_NONE);
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
	check(FORMAT_JSON, NULL, "a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a."
	    "a.a.a.a.a.a.a.a.a", line, "1.1.1.1", TIME_NONE);
	o = 0;
	o += snprintf(line + o, sizeof(line) - o, "{\"ip\":\"2.2.2.2\",\"x\":");
	for (i = 0; i < 40; i++)
		o += snprintf(line + o, sizeof(line) - o, "[");
	o += snprintf(line + o, sizeof(line) - o, "1], \"ip\":\"3.3.3.3\"}");
	check(FORMAT_JSON, NULL, "ip", line, "2.2.2.2", TIME_NONE);
}

static void
t_regex(void)
{
	static const char *re = "^(?<addr>\\S+) \\S+ \\S+ \\[(?<time>[^]]+)\\]"
	    ".*\"(?<addr_xff>[^\"]*)\" \"(?<addr2>[^\"]*)\"$";
	char f1[] = "addr", *fields[] = { f1 };
	const char *err;
	struct format *f;

	set_tz("UTC");
	check(FORMAT_REGEX, re, "addr", "192.0.2.1 - - [10/Oct/2000:13:55:36 "
	    "-0700] \"GET / HTTP/1.1\" 200 1 \"203.0.113.5, unknown\" "
	    "\"2001:db8::5\"", "192.0.2.1|203.0.113.5|unknown|2001:db8::5",
	    971211336);
	check(FORMAT_REGEX, re, "addr", "no match", "", TIME_NONE);
	/* groups out of line order, nested, duplicate names, unset */
	check(FORMAT_REGEX, "to=(?<addr2>\\S+) from=(?<addr>(?<addr3>[^:]+)"
	    ":\\d+)", "addr", "x to=192.0.2.9 from=192.0.2.8:25",
	    "192.0.2.9|192.0.2.8:25", TIME_NONE);
	check(FORMAT_REGEX, "(?:a=(?<addr>\\S+)|b=(?<addr>\\S+)) "
	    "(?<time>\\S+)(?: c=(?<client>\\S+))?", "addr,client",
	    "b=192.0.2.1 2026-11-29T04:00:00Z c=192.0.2.3",
	    "192.0.2.1|192.0.2.3", 1795924800);
	check(FORMAT_REGEX, "(?:a=(?<addr>\\S+)|b=(?<addr>\\S+)) "
	    "(?<time>\\S+)(?: c=(?<client>\\S+))?", "addr,client",
	    "a=192.0.2.1 notatime", "192.0.2.1", TIME_NONE);
	/* \K and lookbehind do not produce bad spans */
	check(FORMAT_REGEX, "(?<=ip=)(?<addr>[0-9.]+)", "addr",
	    "ip=1.2.3.4 ip=5.6.7.8", "1.2.3.4", TIME_NONE);
	f = format_new(FORMAT_REGEX, "(?<addr>a)", fields, 1, &err);
	T_ASSERT(f != NULL);
	format_free(f);
}

/* A 1 MiB line, NUL bytes, and span reuse without reallocation. */
static void
t_big(void)
{
	struct spans sp = { NULL, 0, 0 };
	struct format *f;
	struct span *v;
	char *line;
	size_t n, o, i, cap;
	int64_t t;

	line = malloc(2 * MIB);
	T_ASSERT(line != NULL);
	o = (size_t)snprintf(line, 256, "192.0.2.1 - - [10/Oct/2000:13:55:36 "
	    "-0700] \"GET /");
	memset(line + o, 'a', MIB - o - 64);
	o = MIB - 64;
	line[1000] = '\0';
	o += (size_t)snprintf(line + o, 256, " HTTP/1.1\" 200 1 \"-\" \"-\"");
	f = mk(FORMAT_COMBINED, NULL, NULL);
	format_scan(f, line, o, &sp, &t);
	T_EQ_STR(show(line, o, &sp), "192.0.2.1");
	T_EQ_INT(t, 971211336);
	format_free(f);

	/* main with a 1.3 MiB forwarded list: 100k elements */
	f = mk(FORMAT_MAIN, NULL, NULL);
	o = (size_t)snprintf(line, 256, "192.0.2.1 - - [10/Oct/2000:13:55:36 "
	    "-0700] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\" \"");
	for (n = 0; n < 100000 && o < 2 * MIB - 64; n++)
		o += (size_t)snprintf(line + o, 16, "10.%zu.%zu.1, ",
		    n / 256 % 256, n % 256);
	line[o++] = '"';
	format_scan(f, line, o, &sp, &t);
	T_EQ_INT(sp.n, n + 1);
	for (i = 1; i < sp.n; i++)
		T_ASSERT(sp.v[i].off >= sp.v[i - 1].off + sp.v[i - 1].len);
	T_ASSERT(memcmp(line + sp.v[sp.n - 1].off, "10.134.159.1", 12) == 0);

	/* reused: no reallocation for a smaller line */
	v = sp.v;
	cap = sp.cap;
	format_scan(f, "1.1.1.1 - - [x] \"a, b\"", 22, &sp, &t);
	T_EQ_INT(sp.n, 3);
	T_ASSERT(sp.v == v && sp.cap == cap);
	format_free(f);

	/* NUL bytes anywhere */
	f = mk(FORMAT_JSON, NULL, "ip");
	memcpy(line, "{\"x\":\"a\0b\",\"ip\":\"1.2.3.4\"}", 27);
	format_scan(f, line, 27, &sp, &t);
	T_EQ_STR(show(line, 27, &sp), "1.2.3.4");
	format_free(f);
	f = mk(FORMAT_NGINX_ERROR, NULL, NULL);
	memcpy(line, "\0\0, client: 1.2.3.4\0, client: 5.6.7.8", 38);
	format_scan(f, line, 38, &sp, &t);
	T_EQ_INT(sp.n, 2);
	format_free(f);
	spans_release(&sp);
	spans_release(&sp);
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
	static const enum format_kind k[] = {
		FORMAT_APACHE_ERROR, FORMAT_NGINX_ERROR, FORMAT_MAIN,
		FORMAT_JSON
	};
	struct spans sp = { NULL, 0, 0 };
	struct format *f;
	size_t i, n, len;
	char *copy;
	int64_t t;

	for (i = 0; i < 4; i++) {
		f = mk(k[i], NULL, k[i] == FORMAT_JSON ?
		    "request.remote_ip,request.x,xff" : NULL);
		len = strlen(lines[i]);
		for (n = 0; n <= len; n++) {
			/* an exact-size copy, so ASan sees any overread */
			copy = malloc(n ? n : 1);
			memcpy(copy, lines[i], n);
			format_scan(f, copy, n, &sp, &t);
			(void)show(copy, n, &sp);
			free(copy);
		}
		T_ASSERT(sp.n > 0);
		format_free(f);
	}
	spans_release(&sp);
}

static const struct t_case cases[] = {
	{ "names", t_names },
	{ "new_errors", t_new_errors },
	{ "time", t_time },
	{ "combined", t_combined },
	{ "vhost", t_vhost },
	{ "main", t_main_fmt },
	{ "nginx_error", t_nginx_error },
	{ "apache_error", t_apache_error },
	{ "json", t_json },
	{ "json_deep", t_json_deep },
	{ "regex", t_regex },
	{ "big", t_big },
	{ "prefixes", t_prefixes },
	{ NULL, NULL }
};

int
main(int argc, char **argv)
{
	return t_main(cases, argc, argv);
}
