/*
 * RFC 5424 messages of the forwarded stream.  Pure, but for a per-thread
 * copy of the last second's text: the time, the host's name and the line
 * come in; the message goes into the caller's buffer, with no
 * allocation.
 *
 *	<PRI>1 TIMESTAMP HOSTNAME lethe PROCID MSGID
 *	    [lethe@32473 file="..." seq="N"] MSG
 *
 * - PRI is facility * 8 + severity (RFC 5424 6.2.1): local0.info, 134,
 *   unless the caller says otherwise.
 * - TIMESTAMP is RFC 3339 in UTC ("Z"), with a fraction of 6 digits when
 *   one is given (6.2.3: TIME-SECFRAC has at most 6); a time outside the
 *   years 0000..9999 that a FULL-DATE can write is the NILVALUE "-".
 * - HOSTNAME, APP-NAME, PROCID and MSGID are PRINTUSASCII (33..126) of at
 *   most 255, 48, 128 and 32 octets (6.2.4 to 6.2.7): any other byte
 *   becomes '_', a longer value is cut, an empty or missing one is "-".
 * - The SD-ID "lethe@32473" is a private one (7.2.2 wants NAME@PEN).
 *   32473 is the enterprise number RFC 5612 sets aside for documentation,
 *   the one RFC 5424's own examples use: it is a placeholder, to be
 *   replaced by a registered number before a receiver keys on it.
 * - PARAM-VALUE is UTF-8 with '"', '\' and ']' escaped by a '\' (6.3.3);
 *   a byte that is not part of valid UTF-8 (a file name may hold any), and
 *   a control character, become U+FFFD.
 * - MSG is the line's raw bytes, as MSG-ANY: no BOM (6.4: only a MSG that
 *   starts with the BOM claims to be UTF-8, and a transformed log line
 *   makes no such claim), without its trailing newline.  An empty MSG
 *   leaves out the space before it.
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "lethe.h"

#define NIL		"-"

/* Appends that count what they could not store, as snprintf does. */
struct out {
	char		*p;
	size_t		 cap;
	size_t		 len;
};

static void
put(struct out *o, const void *b, size_t n)
{
	if (o->len < o->cap) {
		size_t room = o->cap - o->len;

		memcpy(o->p + o->len, b, n < room ? n : room);
	}
	o->len += n;
}

static void
putc1(struct out *o, char c)
{
	put(o, &c, 1);
}

static void
putstr(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* An unsigned number in decimal. */
static void
putnum(struct out *o, uint64_t v, int width)
{
	char b[24];
	int i = sizeof(b);

	do {
		b[--i] = '0' + v % 10;
		v /= 10;
		width--;
	} while (v != 0 || width > 0);
	put(o, b + i, sizeof(b) - i);
}

/* A header field: PRINTUSASCII, at most max octets, "-" when empty. */
static void
putfield(struct out *o, const char *s, size_t max)
{
	size_t i, j;

	if (s == NULL || *s == '\0') {
		putstr(o, NIL);
		return;
	}
	for (i = 0; s[i] != '\0' && i < max; i = j) {
		/* A run that goes as it is, in one copy. */
		for (j = i; s[j] != '\0' && j < max &&
		    (unsigned char)s[j] >= 33 && (unsigned char)s[j] <= 126; j++)
			;
		if (j > i)
			put(o, s + i, j - i);
		else {
			putc1(o, '_');
			j = i + 1;
		}
	}
}

/*
 * The length of the valid UTF-8 sequence at s[0..n) (RFC 3629: no
 * overlong forms, no surrogates, nothing past U+10FFFF), or 0.
 */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/* A PARAM-VALUE, between its quotes. */
static void
putvalue(struct out *o, const char *v)
{
	static const char fffd[] = "\xef\xbf\xbd";
	const unsigned char *s = (const unsigned char *)v;
	size_t n = strlen(v), i = 0, j, l;

	while (i < n) {
		/* Printable ASCII that needs no escape, in one copy. */
		for (j = i; j < n && s[j] >= 0x20 && s[j] < 0x7f &&
		    s[j] != '"' && s[j] != '\\' && s[j] != ']'; j++)
			;
		if (j > i) {
			put(o, s + i, j - i);
			i = j;
			continue;
		}
		l = utf8_len(s + i, n - i);
		if (l == 0 || (l == 1 && (s[i] < 0x20 || s[i] == 0x7f))) {
			put(o, fffd, 3);
			i++;
			continue;
		}
		if (l == 1 && (s[i] == '"' || s[i] == '\\' || s[i] == ']'))
			putc1(o, '\\');
		put(o, s + i, l);
		i += l;
	}
}

/*
 * The civil date of day z since 1970-01-01 (the proleptic Gregorian
 * calendar, by 400-year eras): gmtime_r without its time zone lock,
 * which cost a tenth of the stream's time at 100,000 lines a second.
 */
static void
civil(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/*
 * Lines come many to a second: the last second's text is kept (one per
 * thread), and a message of the same second copies it.
 */
static void
puttime(struct out *o, int64_t sec, int usec)
{
	static _Thread_local int64_t last = TIME_NONE;
	static _Thread_local char text[20];
	struct out t = { text, sizeof(text), 0 };
	int64_t day, s, y;
	int m, d;

	if (sec == TIME_NONE || sec < SYSLOG_TIME_MIN ||
	    sec > SYSLOG_TIME_MAX) {
		putstr(o, NIL);
		return;
	}
	if (sec != last) {
		day = sec >= 0 ? sec / 86400 : (sec - 86399) / 86400;
		s = sec - day * 86400;
		civil(day, &y, &m, &d);
		putnum(&t, (uint64_t)y, 4);
		putc1(&t, '-');
		putnum(&t, (uint64_t)m, 2);
		putc1(&t, '-');
		putnum(&t, (uint64_t)d, 2);
		putc1(&t, 'T');
		putnum(&t, (uint64_t)(s / 3600), 2);
		putc1(&t, ':');
		putnum(&t, (uint64_t)(s / 60 % 60), 2);
		putc1(&t, ':');
		putnum(&t, (uint64_t)(s % 60), 2);
		last = sec;
	}
	put(o, text, 19);
	if (usec >= 0 && usec <= 999999) {
		putc1(o, '.');
		putnum(o, (uint64_t)usec, 6);
	}
	putc1(o, 'Z');
}

void
syslog_rec_init(struct syslog_rec *r)
{
	memset(r, 0, sizeof(*r));
	r->facility = SYSLOG_LOCAL0;
	r->severity = SYSLOG_INFO;
	r->sec = TIME_NONE;
	r->usec = -1;
}

size_t
syslog_msg(char *out, size_t cap, const struct syslog_rec *r)
{
	struct out o = { out, cap, 0 };
	int fac = r->facility, sev = r->severity;
	size_t mlen = r->msg != NULL ? r->msglen : 0;

	if (fac < 0 || fac > 23)
		fac = SYSLOG_LOCAL0;
	if (sev < 0 || sev > 7)
		sev = SYSLOG_INFO;
	putc1(&o, '<');
	putnum(&o, (uint64_t)(fac * 8 + sev), 1);
	putstr(&o, ">1 ");
	puttime(&o, r->sec, r->usec);
	putc1(&o, ' ');
	putfield(&o, r->hostname, SYSLOG_HOSTNAME_MAX);
	putc1(&o, ' ');
	putfield(&o, SYSLOG_APP_NAME, SYSLOG_APP_NAME_MAX);
	putc1(&o, ' ');
	putfield(&o, r->procid, SYSLOG_PROCID_MAX);
	putc1(&o, ' ');
	putfield(&o, r->msgid, SYSLOG_MSGID_MAX);
	putstr(&o, " [" SYSLOG_SD_ID);
	if (r->file != NULL) {
		putstr(&o, " file=\"");
		putvalue(&o, r->file);
		putc1(&o, '"');
	}
	putstr(&o, " seq=\"");
	putnum(&o, r->seq, 1);
	putstr(&o, "\"]");
	if (mlen > 0 && r->msg[mlen - 1] == '\n') {
		mlen--;
		if (mlen > 0 && r->msg[mlen - 1] == '\r')
			mlen--;
	}
	if (mlen > 0) {
		putc1(&o, ' ');
		put(&o, r->msg, mlen);
	}
	return o.len;
}
