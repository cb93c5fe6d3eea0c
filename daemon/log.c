/*
 * Logging to stderr.  With JOURNAL_STREAM set (systemd), each line gets a
 * "<N>" priority prefix that journald understands; otherwise plain text
 * prefixed "lethe: ".  Data never becomes a format string, and untrusted
 * bytes go through log_esc() first.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "lethe.h"

static int	log_verbose;
static int	log_journal;

void
log_init(int verbose)
{
	log_verbose = verbose;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
}

static void log_vout(int, const char *, va_list, const char *)
    __attribute__((__format__(__printf__, 2, 0)));

static void
log_vout(int pri, const char *fmt, va_list ap, const char *err)
{
	char msg[2048];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_journal)
		fprintf(stderr, "<%d>", pri);
	else
		fputs("lethe: ", stderr);
	if (err != NULL)
		fprintf(stderr, "%s: %s\n", msg, err);
	else
		fprintf(stderr, "%s\n", msg);
	fflush(stderr);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	log_vout(LOG_WARNING, fmt, ap, strerror(saved));
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	log_vout(LOG_WARNING, fmt, ap, NULL);
	va_end(ap);
	errno = saved;
}

void
log_info(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	log_vout(LOG_INFO, fmt, ap, NULL);
	va_end(ap);
	errno = saved;
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	log_vout(LOG_DEBUG, fmt, ap, NULL);
	va_end(ap);
	errno = saved;
}

void
fatal(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	log_vout(LOG_CRIT, fmt, ap, strerror(saved));
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vout(LOG_CRIT, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}

const char *
log_esc(const char *s)
{
	/* Per thread: find's and the daemon's workers say things too. */
	static _Thread_local char bufs[4][1024];
	static _Thread_local int next;
	char *b = bufs[next], *p = b, *end = b + sizeof(bufs[0]) - 5;
	const unsigned char *u = (const unsigned char *)s;

	next = (next + 1) % 4;
	for (; *u != '\0' && p < end; u++) {
		if (*u >= 0x20 && *u < 0x7f && *u != '\\')
			*p++ = (char)*u;
		else if (*u == '\\') {
			*p++ = '\\';
			*p++ = '\\';
		} else
			p += snprintf(p, 5, "\\%03o", *u);
	}
	if (*u != '\0' && p < b + sizeof(bufs[0]) - 4) {
		*p++ = '.';
		*p++ = '.';
		*p++ = '.';
	}
	*p = '\0';
	return b;
}
