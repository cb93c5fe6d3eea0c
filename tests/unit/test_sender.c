/*
 * syslog.c: the RFC 5424 message (header fields, their limits, the
 * structured data's escaping, MSG).
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lethe.h"
#include "t.h"

#define T_DEC1	INT64_C(1764590400)	/* 2025-12-01T12:00:00Z */

static char *
fmt(const struct syslog_rec *r)
{
	static char buf[4096];
	size_t n = syslog_msg(buf, sizeof(buf) - 1, r);

	T_ASSERT(n < sizeof(buf));
	buf[n < sizeof(buf) - 1 ? n : sizeof(buf) - 1] = '\0';
	return buf;
}

static void
t_format(void)
{
	static const char line[] = "192.0.2.0 - - [01/Dec/2025:12:00:00 "
	    "+0000] \"GET / HTTP/1.1\" 200 5\n";
	struct syslog_rec r;

	syslog_rec_init(&r);
	r.sec = T_DEC1;
	r.usec = 123456;
	r.hostname = "web1.example.net";
	r.procid = "4242";
	r.msgid = "nginx";
	r.file = "/var/log/nginx/access.log";
	r.seq = 42;
	r.msg = line;
	r.msglen = sizeof(line) - 1;
	T_EQ_STR(fmt(&r), "<134>1 2025-12-01T12:00:00.123456Z "
	    "web1.example.net lethe 4242 nginx [lethe@32473 "
	    "file=\"/var/log/nginx/access.log\" seq=\"42\"] 192.0.2.0 - - "
	    "[01/Dec/2025:12:00:00 +0000] \"GET / HTTP/1.1\" 200 5");

	/* Everything nil: the defaults. */
	syslog_rec_init(&r);
	T_EQ_STR(fmt(&r), "<134>1 - - lethe - - [lethe@32473 seq=\"0\"]");

	/* PRI: facility * 8 + severity; out of range: local0.info. */
	r.facility = 4;
	r.severity = 2;
	T_EQ_STR(fmt(&r), "<34>1 - - lethe - - [lethe@32473 seq=\"0\"]");
	r.facility = 0;
	r.severity = 0;
	T_EQ_STR(fmt(&r), "<0>1 - - lethe - - [lethe@32473 seq=\"0\"]");
	r.facility = 23;
	r.severity = 7;
	T_EQ_STR(fmt(&r), "<191>1 - - lethe - - [lethe@32473 seq=\"0\"]");
	r.facility = 24;
	r.severity = -1;
	T_EQ_STR(fmt(&r), "<134>1 - - lethe - - [lethe@32473 seq=\"0\"]");
	r.seq = UINT64_MAX;
	T_EQ_STR(fmt(&r), "<134>1 - - lethe - - [lethe@32473 "
	    "seq=\"18446744073709551615\"]");
}

static void
t_timestamp(void)
{
	static const struct {
		int64_t		 sec;
		int		 usec;
		const char	*want;
	} cases[] = {
		{ T_DEC1, -1, "2025-12-01T12:00:00Z" },
		{ T_DEC1, 0, "2025-12-01T12:00:00.000000Z" },
		{ T_DEC1 + 59, 999999, "2025-12-01T12:00:59.999999Z" },
		{ T_DEC1, 1000000, "2025-12-01T12:00:00Z" },
		{ 0, -1, "1970-01-01T00:00:00Z" },
		{ -1, 500000, "1969-12-31T23:59:59.500000Z" },
		{ INT64_C(951782400), -1, "2000-02-29T00:00:00Z" },
		{ SYSLOG_TIME_MIN, -1, "0000-01-01T00:00:00Z" },
		{ SYSLOG_TIME_MAX, -1, "9999-12-31T23:59:59Z" },
		{ SYSLOG_TIME_MIN - 1, -1, "-" },
		{ SYSLOG_TIME_MAX + 1, 5, "-" },
		{ TIME_NONE, 5, "-" },
		{ INT64_MAX, -1, "-" },
	};
	struct syslog_rec r;
	char want[128];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		syslog_rec_init(&r);
		r.sec = cases[i].sec;
		r.usec = cases[i].usec;
		snprintf(want, sizeof(want), "<134>1 %s - lethe - - "
		    "[lethe@32473 seq=\"0\"]", cases[i].want);
		T_EQ_STR(fmt(&r), want);
	}
}

static void
t_header_fields(void)
{
	struct syslog_rec r;
	char host[300], id[64], want[1024];

	/* PRINTUSASCII only: a space, a byte past 126, DEL become '_'. */
	syslog_rec_init(&r);
	r.hostname = "web 1.\xc3\xa9x\x7f";
	r.procid = "";
	r.msgid = "my set";
	T_EQ_STR(fmt(&r), "<134>1 - web_1.__x_ lethe - my_set "
	    "[lethe@32473 seq=\"0\"]");

	/* The longest of each, and longer ones cut. */
	memset(host, 'h', sizeof(host));
	host[sizeof(host) - 1] = '\0';
	memset(id, 'm', sizeof(id));
	id[sizeof(id) - 1] = '\0';
	r.hostname = host;
	r.msgid = id;
	r.procid = id;
	snprintf(want, sizeof(want), "<134>1 - %.255s lethe %.63s %.32s "
	    "[lethe@32473 seq=\"0\"]", host, id, id);
	T_EQ_STR(fmt(&r), want);
	host[255] = '\0';
	r.msgid = id + 31;
	snprintf(want, sizeof(want), "<134>1 - %s lethe %.63s %s "
	    "[lethe@32473 seq=\"0\"]", host, id, id + 31);
	T_EQ_STR(fmt(&r), want);
}

static void
t_sd_escaping(void)
{
	static const struct {
		const char	*file;
		const char	*want;
	} cases[] = {
		{ "", "" },
		{ "a\"b\\c]d", "a\\\"b\\\\c\\]d" },
		{ "[x]=y z", "[x\\]=y z" },
		{ "\\\\", "\\\\\\\\" },
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
		    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
		/* invalid bytes and control characters: U+FFFD each */
		{ "a\xffz", "a\xef\xbf\xbdz" },
		{ "tab\there", "tab\xef\xbf\xbdhere" },
		{ "del\x7f", "del\xef\xbf\xbd" },
		{ "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd" },	/* overlong */
		{ "\xe0\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
		    "\xef\xbf\xbd" },				/* > U+10FFFF */
		{ "\xc3", "\xef\xbf\xbd" },			/* cut short */
		{ "\xe2\x82", "\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xe2\x82z", "\xef\xbf\xbd\xef\xbf\xbdz" },
	};
	struct syslog_rec r;
	char want[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		syslog_rec_init(&r);
		r.file = cases[i].file;
		r.seq = 7;
		snprintf(want, sizeof(want), "<134>1 - - lethe - - "
		    "[lethe@32473 file=\"%s\" seq=\"7\"]", cases[i].want);
		T_EQ_STR(fmt(&r), want);
	}
}

static void
t_msg(void)
{
	static const char bin[] = "a\0b\xff\"]\\";
	struct syslog_rec r;
	char out[64];
	size_t n;

	syslog_rec_init(&r);
	r.msg = "line\r\n";
	r.msglen = 6;
	T_EQ_STR(fmt(&r), "<134>1 - - lethe - - [lethe@32473 seq=\"0\"] line");
	r.msg = "line\n\n";
	T_EQ_STR(fmt(&r), "<134>1 - - lethe - - [lethe@32473 seq=\"0\"] "
	    "line\n");
	r.msg = "\n";
	r.msglen = 1;
	T_EQ_STR(fmt(&r), "<134>1 - - lethe - - [lethe@32473 seq=\"0\"]");
	r.msg = "";
	r.msglen = 0;
	T_EQ_STR(fmt(&r), "<134>1 - - lethe - - [lethe@32473 seq=\"0\"]");
	/* Raw bytes, no BOM, nothing escaped. */
	r.msg = bin;
	r.msglen = sizeof(bin) - 1;
	n = syslog_msg(out, sizeof(out), &r);
	T_EQ_INT(n, 42 + 1 + sizeof(bin) - 1);
	T_ASSERT(memcmp(out + 43, bin, sizeof(bin) - 1) == 0);
	T_ASSERT(memcmp(out + 43, "\xef\xbb\xbf", 3) != 0);
}

static void
t_truncation(void)
{
	static const char full[] = "<134>1 - - lethe - - [lethe@32473 "
	    "seq=\"0\"] 0123456789";
	struct syslog_rec r;
	char out[64];
	size_t n, cap;

	syslog_rec_init(&r);
	r.msg = "0123456789";
	r.msglen = 10;
	T_EQ_INT(syslog_msg(NULL, 0, &r), sizeof(full) - 1);
	for (cap = 1; cap < sizeof(full) + 2; cap++) {
		memset(out, '#', sizeof(out));
		n = syslog_msg(out, cap, &r);
		T_EQ_INT(n, sizeof(full) - 1);
		T_ASSERT(memcmp(out, full, cap < n ? cap : n) == 0);
		if (cap < sizeof(out))
			T_ASSERT(out[cap] == '#');
	}
}

static const struct t_case cases[] = {
	{ "format", t_format },
	{ "timestamp", t_timestamp },
	{ "header_fields", t_header_fields },
	{ "sd_escaping", t_sd_escaping },
	{ "msg", t_msg },
	{ "truncation", t_truncation },
	{ NULL, NULL },
};

int
main(int argc, char **argv)
{
	log_init(0);
	return t_main(cases, argc, argv);
}
