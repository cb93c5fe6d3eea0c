/*
 * Error logs, which carry client addresses too.
 *
 * nginx_error: "2026/11/28 13:55:36 [error] 1234#1234: *5 MESSAGE, client:
 * 192.0.2.7, server: ...".  The address field "client" is the value of
 * every ", client: " and the address nginx's own messages start with
 * ("*7 client 192.0.2.77 closed keepalive connection", "*9 client
 * 192.0.2.79:51234 connected to 0.0.0.0:443").  The time, without an
 * offset, is in the set's timezone.
 *
 * apache_error: "[Sun Nov 29 05:47:57.123456 2026] [core:error] [pid
 * 1234:tid 5678] [client 192.0.2.7:51234] AH00126: ...".  Apache 2.4
 * writes the client with its port ([client 2001:db8::1:51234]: the last
 * ":digits" is the port), 2.2 without ([client 2001:db8::1234] is all
 * address); a line is 2.4's when its second field is "[module:level]" or
 * it has "[pid N:tid M]".  Fields "client" and "remote".
 *
 * A line without a time (a PHP stack trace Apache passes on) is not
 * understood.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lethe.h"

struct errfmt {
	int		 apache;
	int		 client;	/* field bits, -1: not an address field */
	int		 remote;
};

static int
want(struct format *f, const char *name, int dflt)
{
	size_t i;

	if (f->spec.nfields == 0)
		return dflt ? format_add_name(f, name) : -1;
	for (i = 0; i < f->spec.nfields; i++)
		if (strcmp(f->spec.fields[i], name) == 0)
			return format_add_name(f, name);
	return -1;
}

static int
error_compile(struct format *f, const char **errstr)
{
	struct errfmt *e = f->priv = xcalloc(1, sizeof(*e));
	size_t i;

	e->apache = strcmp(f->spec.kind, "apache_error") == 0;
	for (i = 0; i < f->spec.nfields; i++)
		if (strcmp(f->spec.fields[i], "client") != 0 &&
		    (!e->apache || strcmp(f->spec.fields[i], "remote") != 0)) {
			*errstr = e->apache ? "apache_error has the address "
			    "fields client and remote" : "nginx_error has the "
			    "address field client";
			return -1;
		}
	e->client = want(f, "client", 1);
	e->remote = e->apache ? want(f, "remote", 1) : -1;
	return 0;
}

static void
error_release(struct format *f)
{
	free(f->priv);
	f->priv = NULL;
}

/* The end of an address token at s[i] (brackets and a port kept). */
static size_t
token_end(const char *s, size_t len, size_t i, const char *stops)
{
	const char *q;

	if (i < len && s[i] == '[' &&
	    (q = memchr(s + i, ']', len - i)) != NULL)
		i = (size_t)(q - s) + 1;
	while (i < len && strchr(stops, s[i]) == NULL)
		i++;
	return i;
}

/* "client ADDR ..." at the start of one of nginx's own messages. */
static void
nginx_own(struct format *f, struct scan *sc, const char *s, size_t len,
    size_t off, int bit)
{
	const char *q;
	size_t end;

	/* "... 1234#0: *7 client ..." */
	if ((q = memmem(s + off, len - off, ": *", 3)) == NULL)
		return;
	for (off = (size_t)(q - s) + 3; off < len && s[off] >= '0' &&
	    s[off] <= '9'; off++)
		;
	if (len - off < 8 || memcmp(s + off, " client ", 8) != 0)
		return;
	off += 8;
	end = token_end(s, len, off, " ,");
	if (end > off && ((s[off] >= '0' && s[off] <= '9') || s[off] == '[' ||
	    memchr(s + off, ':', end - off) != NULL))
		format_field(f, sc, s, off, end, (unsigned)bit, 0);
}

static void
nginx_scan(struct format *f, struct errfmt *e, const char *s, size_t len,
    int64_t ref, struct scan *sc)
{
	static const char key[] = ", client: ";
	const char *q;
	size_t off = 0, end;

	if (len < 20 || s[19] != ' ' || format_time(f, s, 19, ref,
	    &sc->time) == -1) {
		sc->time = TIME_NONE;
		sc->bad = SCAN_NOTIME;
		return;
	}
	off = 20;
	if (e->client < 0)
		return;
	nginx_own(f, sc, s, len, off, e->client);
	while (off < len && (q = memmem(s + off, len - off, key,
	    sizeof(key) - 1)) != NULL) {
		off = (size_t)(q - s) + sizeof(key) - 1;
		end = token_end(s, len, off, ", ");
		format_field(f, sc, s, off, end, (unsigned)e->client, 0);
		off = end;
	}
}

/* Apache 2.4's "ADDR:PORT": the address without its port. */
static size_t
apache_addr_end(const char *s, size_t off, size_t end)
{
	const char *colon;
	size_t i;

	if (off >= end || s[off] == '[' ||
	    (colon = memrchr(s + off, ':', end - off)) == NULL)
		return end;
	for (i = (size_t)(colon - s) + 1; i < end; i++)
		if (s[i] < '0' || s[i] > '9')
			return end;
	if (i == (size_t)(colon - s) + 1 || end - (size_t)(colon - s) > 6)
		return end;
	return (size_t)(colon - s);
}

/* Is this Apache 2.4's layout ([module:level], [pid N:tid M])? */
static int
apache24(const char *s, size_t len, size_t off)
{
	const char *q;

	if (off + 1 < len && s[off] == ' ' && s[off + 1] == '[' &&
	    (q = memchr(s + off + 2, ']', len - off - 2)) != NULL &&
	    memchr(s + off + 2, ':', (size_t)(q - s) - off - 2) != NULL)
		return 1;
	return memmem(s + off, len - off, "[pid ", 5) != NULL &&
	    memmem(s + off, len - off, ":tid ", 5) != NULL;
}

static void
apache_scan(struct format *f, struct errfmt *e, const char *s, size_t len,
    int64_t ref, struct scan *sc)
{
	const char *q;
	size_t off, end, aend;
	int bit, v24;

	if (len == 0 || s[0] != '[' || (q = memchr(s, ']', len < 64 ? len :
	    64)) == NULL || format_time(f, s + 1, (size_t)(q - s) - 1, ref,
	    &sc->time) == -1) {
		sc->time = TIME_NONE;
		sc->bad = SCAN_NOTIME;
		return;
	}
	off = (size_t)(q - s) + 1;
	v24 = apache24(s, len, off);
	while (off < len && (q = memchr(s + off, '[', len - off)) != NULL) {
		off = (size_t)(q - s) + 1;
		if (len - off < 7)
			break;
		if (memcmp(s + off, "client ", 7) == 0)
			bit = e->client;
		else if (memcmp(s + off, "remote ", 7) == 0)
			bit = e->remote;
		else
			continue;
		if (bit < 0)
			continue;
		off += 7;
		end = token_end(s, len, off, "] ");
		aend = v24 ? apache_addr_end(s, off, end) : end;
		format_field(f, sc, s, off, aend, (unsigned)bit, 0);
		off = end;
	}
}

static void
error_scan(struct format *f, void *state UNUSED, const char *s, size_t len,
    int64_t ref, struct scan *sc)
{
	struct errfmt *e = f->priv;

	if (len > 0 && s[len - 1] == '\r')
		len--;
	if (e->apache)
		apache_scan(f, e, s, len, ref, sc);
	else
		nginx_scan(f, e, s, len, ref, sc);
}

const struct format_ops format_error_ops = {
	"error", error_compile, error_scan, NULL, NULL, error_release, NULL, 0,
};
