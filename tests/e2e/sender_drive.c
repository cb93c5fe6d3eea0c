/*
 * sender-drive: daemon/sender.c as the forwarding thread will drive it,
 * for tests/e2e/56-sender.py and the bench.  Reads lines from stdin,
 * sends line i (from 1) as an RFC 5424 message (syslog_msg: MSGID
 * "drive", file="drive", seq="i", MSG the line) to the forward URL, and
 * on every break goes back sender_unacked() messages, backs off and
 * reconnects, as the caller of sender.c must.
 *
 *	sender-drive [-Pq] [-f N] [-r RATE] [-g SECS] [-T CA,CERT,KEY] URL
 *	  URL	relp://HOST:PORT, tcp://HOST:PORT or unix:PATH (forward =)
 *	  -f N	sender_flush after every N messages (and always at the end)
 *	  -r R	at most R messages a second (so a test can act mid-stream)
 *	  -g S	give up after S seconds without a connection (default 60)
 *	  -T	forward_tls_ca, forward_tls_cert, forward_tls_key ("" none)
 *	  -P	ignore SIGPIPE, as lethe run does (by default it keeps its
 *		default action, so a SIGPIPE sender.c let through kills)
 *	  -q	no line per break
 *
 * Prints "break: seq S unacked U: ERROR" at each break (S: the message
 * that failed) and at the end "sent N messages, B breaks, R resent,
 * T s, user U s, sys S s".  Exits 0 when every line was sent and
 * flushed, 1 otherwise.
 */
#include <sys/resource.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lethe.h"

struct drive {
	char		**lines;
	size_t		*lens;
	size_t		 n;
	size_t		 flush_every;
	double		 rate;
	double		 give_up;
	int		 quiet;
	unsigned	 breaks;
	uint64_t	 resent;
	char		 host[256];
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
sleep_s(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

static void
read_lines(struct drive *d)
{
	size_t cap = 0;
	char *line = NULL;
	size_t lcap = 0;
	ssize_t len;

	while ((len = getline(&line, &lcap, stdin)) != -1) {
		if (len > 0 && line[len - 1] == '\n')
			len--;
		if (d->n == cap) {
			cap = cap ? cap * 2 : 1024;
			d->lines = xreallocarray(d->lines, cap,
			    sizeof(*d->lines));
			d->lens = xreallocarray(d->lens, cap, sizeof(*d->lens));
		}
		d->lines[d->n] = xstrndup(line, (size_t)len);
		d->lens[d->n] = (size_t)len;
		d->n++;
	}
	free(line);
}

/* Connects, backing off from 50 ms to 1 s; 0, or -1 after give_up. */
static int
connect_backoff(struct drive *d, struct sender *s)
{
	double start = now_s(), wait = 0.05;
	const char *err;

	for (;;) {
		if (sender_connect(s, &err) == 0)
			return 0;
		if (now_s() - start > d->give_up) {
			printf("gave up: %s\n", err);
			return -1;
		}
		sleep_s(wait);
		wait = wait * 2 > 1 ? 1 : wait * 2;
	}
}

/* A break at message i (0-based): returns where to go on from. */
static size_t
on_break(struct drive *d, struct sender *s, size_t i, const char *err)
{
	unsigned u = sender_unacked(s);

	d->breaks++;
	if (!d->quiet)
		printf("break: seq %zu unacked %u: %s\n", i + 1, u, err);
	fflush(stdout);
	sender_close(s);
	if (u > i)
		u = (unsigned)i;
	d->resent += u;
	return i - u;
}

static int
run(struct drive *d, struct sender *s)
{
	static char msg[SYSLOG_MSG_MAX];
	struct syslog_rec r;
	const char *err;
	double t0 = now_s();
	size_t i = 0, len, paced = 0;

	if (connect_backoff(d, s) == -1)
		return -1;
	for (;;) {
		if (i == d->n) {
			/* The end: everything acknowledged, or go back. */
			if (sender_flush(s, &err) == 0)
				return 0;
			i = on_break(d, s, i, err);
			if (connect_backoff(d, s) == -1)
				return -1;
			continue;
		}
		if (d->rate > 0 && ++paced % 50 == 0)
			sleep_s(t0 + paced / d->rate - now_s());
		syslog_rec_init(&r);
		r.sec = 1764590400 + (int64_t)(i / 100);
		r.usec = (int)(i % 100) * 10000;
		r.hostname = d->host;
		r.procid = "drive";
		r.msgid = "drive";
		r.file = "drive";
		r.seq = i + 1;
		r.msg = d->lines[i];
		r.msglen = d->lens[i];
		len = syslog_msg(msg, sizeof(msg), &r);
		if (len > sizeof(msg))
			len = sizeof(msg);
		if (sender_send(s, msg, len, &err) == -1) {
			i = on_break(d, s, i, err);
			if (connect_backoff(d, s) == -1)
				return -1;
			continue;
		}
		i++;
		if (d->flush_every > 0 && i % d->flush_every == 0 &&
		    sender_flush(s, &err) == -1) {
			i = on_break(d, s, i, err);
			if (connect_backoff(d, s) == -1)
				return -1;
		}
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: sender-drive [-Pq] [-f N] [-r RATE] [-g SECS] "
	    "[-T CA,CERT,KEY] URL <lines\n");
	exit(2);
}

/* A one-set config with forward = url, parsed as lethe parses it. */
static struct config *
load(const char *url, char *tls)
{
	struct config_msgs m;
	struct config *c;
	char *text, *ca = NULL, *cert = NULL, *key = NULL, *tl = NULL;
	size_t i;

	if (tls != NULL) {
		ca = strsep(&tls, ",");
		cert = strsep(&tls, ",");
		key = tls;
		xasprintf(&tl, "%s%s%s%s%s%s%s%s%s",
		    ca && *ca ? "forward_tls_ca = " : "", ca && *ca ? ca : "",
		    ca && *ca ? "\n" : "",
		    cert && *cert ? "forward_tls_cert = " : "",
		    cert && *cert ? cert : "", cert && *cert ? "\n" : "",
		    key && *key ? "forward_tls_key = " : "",
		    key && *key ? key : "", key && *key ? "\n" : "");
	}
	xasprintf(&text, "[drive]\nlogs = /nonexistent/drive.log\n"
	    "format = combined\nrotate = off\nforward = %s\n%s", url,
	    tl != NULL ? tl : "");
	memset(&m, 0, sizeof(m));
	c = config_parse("drive.conf", text, strlen(text), &m, NULL);
	for (i = 0; i < m.n; i++)
		fprintf(stderr, "sender-drive: %s\n", m.v[i]);
	config_msgs_release(&m);
	free(text);
	free(tl);
	if (c == NULL || c->nsets != 1 || c->sets[0].forward == NULL) {
		fprintf(stderr, "sender-drive: bad forward %s\n", url);
		exit(2);
	}
	return c;
}

int
main(int argc, char **argv)
{
	struct drive d;
	struct config *c;
	struct sender *s;
	struct rusage ru;
	char *tls = NULL;
	double t0, t;
	int ch, rc;

	memset(&d, 0, sizeof(d));
	d.give_up = 60;
	while ((ch = getopt(argc, argv, "f:g:Pqr:T:")) != -1) {
		switch (ch) {
		case 'P':
			signal(SIGPIPE, SIG_IGN);
			break;
		case 'f':
			d.flush_every = strtoul(optarg, NULL, 10);
			break;
		case 'g':
			d.give_up = atof(optarg);
			break;
		case 'q':
			d.quiet = 1;
			break;
		case 'r':
			d.rate = atof(optarg);
			break;
		case 'T':
			tls = optarg;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1)
		usage();
	log_init(0);
	if (gethostname(d.host, sizeof(d.host) - 1) == -1)
		strlcpy(d.host, "localhost", sizeof(d.host));
	c = load(argv[optind], tls);
	read_lines(&d);
	s = sender_new(&c->sets[0]);
	t0 = now_s();
	rc = run(&d, s);
	t = now_s() - t0;
	getrusage(RUSAGE_SELF, &ru);
	printf("%s %zu messages, %u breaks, %llu resent, %.3f s, user %.3f s, "
	    "sys %.3f s\n", rc == 0 ? "sent" : "NOT sent", d.n, d.breaks,
	    (unsigned long long)d.resent, t,
	    ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	sender_free(s);
	config_free(c);
	while (d.n > 0)
		free(d.lines[--d.n]);
	free(d.lines);
	free(d.lens);
	return rc == 0 ? 0 : 1;
}
