/*
 * syslog.c and sender.c: the RFC 5424 message (header fields, their
 * limits, the structured data's escaping, MSG), and the stream transport
 * against a receiver in this process: octet-counted frames, what
 * sender_unacked says as the receiver reads, a receiver that is gone, a
 * receiver that never reads (bounded), a refused connect, and a RELP peer
 * that is not one.  SIGPIPE keeps its default action here: if sender.c
 * let one through, the test would die of it.
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

/* ---------------------------------------------------------------- stream */

struct rx {
	char		 dir[64];
	char		 path[128];
	int		 lfd;
	struct logset	 ls;
	char		 url[160];
};

static void
rx_listen(struct rx *x)
{
	struct sockaddr_un sun;

	snprintf(x->dir, sizeof(x->dir), "/tmp/lethe-t-sender.XXXXXX");
	T_ASSERT(mkdtemp(x->dir) != NULL);
	snprintf(x->path, sizeof(x->path), "%s/sock", x->dir);
	x->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, x->path, sizeof(sun.sun_path));
	T_ASSERT(bind(x->lfd, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	T_ASSERT(listen(x->lfd, 4) == 0);
	memset(&x->ls, 0, sizeof(x->ls));
	snprintf(x->url, sizeof(x->url), "unix:%s", x->path);
	x->ls.forward = x->url;
	x->ls.forward_kind = FORWARD_UNIX;
	x->ls.forward_path = x->path;
}

static void
rx_end(struct rx *x)
{
	close(x->lfd);
	unlink(x->path);
	rmdir(x->dir);
}

/* Everything the peer fd holds now, up to cap. */
static size_t
rx_read(int fd, char *buf, size_t cap)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	size_t got = 0;
	ssize_t n;

	while (got < cap && poll(&pfd, 1, 200) == 1) {
		n = read(fd, buf + got, cap - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

static void
t_stream_frames(void)
{
	static const char *const msgs[] = { "hello", "x", "a b\nc" };
	static char big[1234];
	struct rx x;
	struct sender *s;
	const char *err = NULL;
	char buf[2048];
	size_t i, n;
	int fd;

	rx_listen(&x);
	s = sender_new(&x.ls);
	T_EQ_STR(sender_name(s), x.url);
	T_EQ_INT(sender_flush(s, &err), -1);	/* not connected */
	T_EQ_INT(sender_connect(s, &err), 0);
	fd = accept(x.lfd, NULL, NULL);
	T_ASSERT(fd != -1);
	T_EQ_INT(sender_unacked(s), 0);
	for (i = 0; i < 3; i++)
		T_EQ_INT(sender_send(s, msgs[i], strlen(msgs[i]), &err), 0);
	memset(big, 'm', sizeof(big));
	T_EQ_INT(sender_send(s, big, sizeof(big), &err), 0);
	T_EQ_INT(sender_send(s, "", 0, &err), -1);
	T_ASSERT(strstr(err, "empty message") != NULL);
	T_EQ_INT(sender_unacked(s), 4);		/* still in the buffer */
	T_EQ_INT(sender_flush(s, &err), 0);
	/* In the kernel, unread: still unacknowledged. */
	T_EQ_INT(sender_unacked(s), 4);
	n = rx_read(fd, buf, sizeof(buf));
	T_EQ_INT(n, 22 + sizeof(big));
	T_ASSERT(memcmp(buf, "5 hello1 x5 a b\nc1234 ", 22) == 0 ||
	    (fprintf(stderr, "got %.*s\n", (int)n, buf), 0));
	T_ASSERT(memcmp(buf + 22, big, sizeof(big)) == 0);
	T_EQ_INT(sender_unacked(s), 0);		/* read: taken */
	sender_free(s);
	close(fd);
	rx_end(&x);
}

/* A receiver that reads some, then goes with bytes unread. */
static void
t_stream_gone(void)
{
	static char msg[200];
	struct rx x;
	struct sender *s;
	const char *err = NULL;
	char buf[4096];
	unsigned i, sent = 0, u;
	int fd, r = 0;

	memset(msg, 'm', sizeof(msg));
	rx_listen(&x);
	s = sender_new(&x.ls);
	T_EQ_INT(sender_connect(s, &err), 0);
	fd = accept(x.lfd, NULL, NULL);
	for (i = 0; i < 10; i++, sent++)
		T_EQ_INT(sender_send(s, msg, sizeof(msg), &err), 0);
	T_EQ_INT(sender_flush(s, &err), 0);
	T_EQ_INT(rx_read(fd, buf, sizeof(buf)), 10 * 204);
	T_EQ_INT(sender_unacked(s), 0);
	for (i = 0; i < 1000; i++, sent++)	/* 204 KB: beyond the buffer */
		if ((r = sender_send(s, msg, sizeof(msg), &err)) == -1)
			break;
	T_EQ_INT(r, 0);
	u = sender_unacked(s);
	T_ASSERT(u > 0 && u <= 1000);
	close(fd);				/* unread bytes dropped */
	for (i = 0; i < 2000 && r == 0; i++, sent++)
		r = sender_send(s, msg, sizeof(msg), &err);
	if (r == 0)
		r = sender_flush(s, &err);
	T_EQ_INT(r, -1);
	T_ASSERT(err != NULL && (strstr(err, "closed") != NULL ||
	    strstr(err, "reset") != NULL || strstr(err, "pipe") != NULL));
	/* Nothing past the 10 read is known taken. */
	T_ASSERT(sender_unacked(s) >= 1000);
	T_ASSERT(sender_unacked(s) <= sent - 10);
	T_EQ_INT(sender_send(s, msg, sizeof(msg), &err), -1);
	T_ASSERT(strstr(err, "not connected") != NULL);
	/* The receiver is back. */
	T_EQ_INT(sender_connect(s, &err), 0);
	T_EQ_INT(sender_unacked(s), 0);
	fd = accept(x.lfd, NULL, NULL);
	T_EQ_INT(sender_send(s, msg, sizeof(msg), &err), 0);
	T_EQ_INT(sender_flush(s, &err), 0);
	T_EQ_INT(rx_read(fd, buf, sizeof(buf)), 204);
	sender_close(s);
	sender_free(s);
	sender_free(NULL);
	close(fd);
	rx_end(&x);
}

/* Many short messages outgrow the ring of message ends: still counted. */
static void
t_stream_ring(void)
{
	struct rx x;
	struct sender *s;
	const char *err = NULL;
	static char buf[64 * 1024];
	unsigned i;
	int fd;

	rx_listen(&x);
	s = sender_new(&x.ls);
	T_EQ_INT(sender_connect(s, &err), 0);
	fd = accept(x.lfd, NULL, NULL);
	for (i = 0; i < 20000; i++)
		T_EQ_INT(sender_send(s, "x", 1, &err), 0);
	T_EQ_INT(sender_unacked(s), 20000);
	T_EQ_INT(sender_flush(s, &err), 0);
	T_EQ_INT(sender_unacked(s), 20000);
	T_EQ_INT(rx_read(fd, buf, sizeof(buf)), 60000);
	T_EQ_INT(sender_unacked(s), 0);
	sender_free(s);
	close(fd);
	rx_end(&x);
}

/* A receiver that never reads: the send gives up, in SENDER_TIMEOUT. */
static void
t_stream_stalled(void)
{
	static char msg[4000];
	struct rx x;
	struct sender *s;
	const char *err = NULL;
	struct timespec t0, t1;
	double secs;
	int fd, r = 0, i;

	memset(msg, 's', sizeof(msg));
	rx_listen(&x);
	s = sender_new(&x.ls);
	T_EQ_INT(sender_connect(s, &err), 0);
	fd = accept(x.lfd, NULL, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < 100000 && r == 0; i++)
		r = sender_send(s, msg, sizeof(msg), &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	T_EQ_INT(r, -1);
	T_ASSERT(err != NULL && strstr(err, "timed out") != NULL);
	T_ASSERT(secs >= SENDER_TIMEOUT - 0.5 && secs < SENDER_TIMEOUT + 3);
	T_ASSERT(sender_unacked(s) == (unsigned)i - 1);
	sender_free(s);
	close(fd);
	rx_end(&x);
}

static void
t_connect_fails(void)
{
	struct logset ls;
	struct sender *s;
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	const char *err = NULL;
	char port[16], url[64] = "unix:/nonexistent/lethe.sock";
	char host[] = "127.0.0.1";
	int lfd;

	memset(&ls, 0, sizeof(ls));
	ls.forward = url;
	ls.forward_kind = FORWARD_UNIX;
	ls.forward_path = url + 5;
	s = sender_new(&ls);
	T_EQ_INT(sender_connect(s, &err), -1);
	T_EQ_STR(err, "connect to unix:/nonexistent/lethe.sock: No such "
	    "file or directory");
	T_EQ_INT(sender_send(s, "x", 1, &err), -1);
	sender_free(s);

	/* A port nobody listens on: a free one, closed again. */
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		fprintf(stderr, "no 127.0.0.1 (%s): tcp cases skipped\n",
		    strerror(errno));
		close(lfd);
		return;
	}
	T_ASSERT(getsockname(lfd, (struct sockaddr *)&sin, &sl) == 0);
	snprintf(port, sizeof(port), "%u", ntohs(sin.sin_port));
	close(lfd);
	memset(&ls, 0, sizeof(ls));
	ls.forward = url;
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%s", port);
	ls.forward_kind = FORWARD_TCP;
	ls.forward_host = host;
	ls.forward_port = port;
	s = sender_new(&ls);
	T_EQ_INT(sender_connect(s, &err), -1);
	T_ASSERT(strstr(err, "Connection refused") != NULL);
	sender_free(s);
	ls.forward_kind = FORWARD_RELP;
	s = sender_new(&ls);
	T_EQ_INT(sender_connect(s, &err), -1);
	T_ASSERT(strstr(err, "connect to") != NULL);
	sender_free(s);
}

/*
 * A RELP peer that is not one: it accepts and says nothing (the open's
 * answer times out), or accepts and hangs up.
 */
static void
t_relp_not_relp(void)
{
	struct logset ls;
	struct sender *s;
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	const char *err = NULL;
	struct timespec t0, t1;
	char port[16], url[64], host[] = "127.0.0.1";
	int lfd, fd;
	double secs;

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		fprintf(stderr, "no 127.0.0.1 (%s): relp case skipped\n",
		    strerror(errno));
		close(lfd);
		return;
	}
	T_ASSERT(listen(lfd, 4) == 0);
	T_ASSERT(getsockname(lfd, (struct sockaddr *)&sin, &sl) == 0);
	snprintf(port, sizeof(port), "%u", ntohs(sin.sin_port));
	memset(&ls, 0, sizeof(ls));
	snprintf(url, sizeof(url), "relp://127.0.0.1:%s", port);
	ls.forward = url;
	ls.forward_kind = FORWARD_RELP;
	ls.forward_host = host;
	ls.forward_port = port;
	s = sender_new(&ls);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	T_EQ_INT(sender_connect(s, &err), -1);	/* in the backlog, silent */
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	T_ASSERT(secs < 2 * SENDER_TIMEOUT + 2);
	T_ASSERT(strstr(err, "connect to relp://") != NULL);
	fd = accept(lfd, NULL, NULL);
	close(fd);
	sender_free(s);
	close(lfd);
}

/*
 * The timestamp's date, worked out without gmtime, agrees with it.  The
 * second's text is kept from one message to the next: the same second
 * again, the next, one back and a day away each get their own first.
 */
static void
t_civil(void)
{
	static const int64_t step[] = { 0, 0, 1, -1, -86400, 86400 };
	const int nstep = (int)(sizeof(step) / sizeof(step[0]));
	struct syslog_rec r;
	struct tm tm;
	char want[64], buf[512];
	time_t t;
	size_t n;
	int64_t sec;
	unsigned long long x = 88172645463325252ULL;
	int i, k, bad = 0;

	for (i = 0; i < 200000 + nstep; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		k = i - nstep;
		sec = k < 0 ? T_DEC1 + step[i] :
		    k < 100 ? SYSLOG_TIME_MIN + k * 86399LL :
		    k < 200 ? SYSLOG_TIME_MAX - (k - 100) * 86399LL :
		    (int64_t)(x % (unsigned long long)(SYSLOG_TIME_MAX -
		    SYSLOG_TIME_MIN)) + SYSLOG_TIME_MIN;
		t = (time_t)sec;
		if (gmtime_r(&t, &tm) == NULL)
			continue;
		snprintf(want, sizeof(want), "<134>1 %04d-%02d-%02dT%02d:%02d:"
		    "%02dZ ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		    tm.tm_hour, tm.tm_min, tm.tm_sec);
		syslog_rec_init(&r);
		r.sec = sec;
		r.msg = "x";
		r.msglen = 1;
		n = syslog_msg(buf, sizeof(buf) - 1, &r);
		buf[n < sizeof(buf) - 1 ? n : sizeof(buf) - 1] = '\0';
		if (strncmp(buf, want, strlen(want)) != 0 && bad++ < 3)
			fprintf(stderr, "%lld: %s, want %s\n", (long long)sec,
			    buf, want);
	}
	T_EQ_INT(bad, 0);
}

static const struct t_case cases[] = {
	{ "format", t_format },
	{ "timestamp", t_timestamp },
	{ "header_fields", t_header_fields },
	{ "sd_escaping", t_sd_escaping },
	{ "msg", t_msg },
	{ "truncation", t_truncation },
	{ "stream_frames", t_stream_frames },
	{ "stream_gone", t_stream_gone },
	{ "stream_ring", t_stream_ring },
	{ "stream_stalled", t_stream_stalled },
	{ "connect_fails", t_connect_fails },
	{ "relp_not_relp", t_relp_not_relp },
	{ "civil", t_civil },
	{ NULL, NULL },
};

int
main(int argc, char **argv)
{
	log_init(0);
	return t_main(cases, argc, argv);
}
