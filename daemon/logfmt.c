/*
 * The server's own format string, compiled: nginx's log_format (variables
 * $name and ${name}, escape=default|json|none) or Apache's LogFormat
 * (%h, %>s, %{Name}i, %{format}t, ...), pasted bare or as the whole
 * directive of nginx.conf or apache2.conf.  The result is a list of
 * literals and fields; each field has a class (how its text is bounded:
 * a token without blanks, free text without a raw quote, the inside of
 * a quoted field, a fixed-shape time) and a role (address, address list,
 * time, other).  Pure: format_clf.c matches lines against it.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lethe.h"

static char	logfmt_err[256];

/* nginx variables that lethe knows; unknown ones are free text. */
static const struct {
	const char	*name;
	int		 cls;
	int		 role;
	const char	*time;
} nginx_vars[] = {
	{ "remote_addr", TC_TOKEN, TR_ADDR, NULL },
	{ "realip_remote_addr", TC_TOKEN, TR_ADDR, NULL },
	{ "proxy_protocol_addr", TC_TOKEN, TR_ADDR, NULL },
	{ "proxy_protocol_port", TC_TOKEN, TR_OTHER, NULL },
	{ "proxy_protocol_server_addr", TC_TOKEN, TR_OTHER, NULL },
	{ "proxy_protocol_server_port", TC_TOKEN, TR_OTHER, NULL },
	{ "remote_user", TC_FREE, TR_OTHER, NULL },
	{ "http_x_forwarded_for", TC_FREE, TR_LIST, NULL },
	{ "proxy_add_x_forwarded_for", TC_FREE, TR_LIST, NULL },
	{ "http_forwarded", TC_FREE, TR_LIST, NULL },
	{ "http_x_real_ip", TC_FREE, TR_LIST, NULL },
	{ "http_true_client_ip", TC_FREE, TR_LIST, NULL },
	{ "http_cf_connecting_ip", TC_FREE, TR_LIST, NULL },
	{ "http_x_client_ip", TC_FREE, TR_LIST, NULL },
	{ "http_fastly_client_ip", TC_FREE, TR_LIST, NULL },
	{ "http_x_cluster_client_ip", TC_FREE, TR_LIST, NULL },
	{ "time_local", TC_CLF, TR_TIME, "clf" },
	{ "time_iso8601", TC_ISO, TR_TIME, "iso8601" },
	{ "msec", TC_TOKEN, TR_TIME, "epoch" },
	{ "status", TC_TOKEN, TR_OTHER, NULL },
	{ "body_bytes_sent", TC_TOKEN, TR_OTHER, NULL },
	{ "bytes_sent", TC_TOKEN, TR_OTHER, NULL },
	{ "request_length", TC_TOKEN, TR_OTHER, NULL },
	{ "request_time", TC_TOKEN, TR_OTHER, NULL },
	{ "remote_port", TC_TOKEN, TR_OTHER, NULL },
	{ "realip_remote_port", TC_TOKEN, TR_OTHER, NULL },
	{ "server_addr", TC_TOKEN, TR_OTHER, NULL },
	{ "server_port", TC_TOKEN, TR_OTHER, NULL },
	{ "server_name", TC_TOKEN, TR_OTHER, NULL },
	{ "server_protocol", TC_TOKEN, TR_OTHER, NULL },
	{ "host", TC_TOKEN, TR_OTHER, NULL },
	{ "hostname", TC_TOKEN, TR_OTHER, NULL },
	{ "scheme", TC_TOKEN, TR_OTHER, NULL },
	{ "request_method", TC_TOKEN, TR_OTHER, NULL },
	{ "connection", TC_TOKEN, TR_OTHER, NULL },
	{ "connection_requests", TC_TOKEN, TR_OTHER, NULL },
	{ "pipe", TC_TOKEN, TR_OTHER, NULL },
	{ "pid", TC_TOKEN, TR_OTHER, NULL },
	{ "request_id", TC_TOKEN, TR_OTHER, NULL },
	{ "nginx_version", TC_TOKEN, TR_OTHER, NULL },
	{ "gzip_ratio", TC_TOKEN, TR_OTHER, NULL },
	{ "https", TC_TOKEN, TR_OTHER, NULL },
	{ "request", TC_FREE, TR_OTHER, NULL },
	{ "request_uri", TC_FREE, TR_OTHER, NULL },
	{ "uri", TC_FREE, TR_OTHER, NULL },
	{ "document_uri", TC_FREE, TR_OTHER, NULL },
	{ "args", TC_FREE, TR_OTHER, NULL },
	{ "query_string", TC_FREE, TR_OTHER, NULL },
	{ "request_body", TC_FREE, TR_OTHER, NULL },
	{ "content_type", TC_FREE, TR_OTHER, NULL },
	{ "content_length", TC_TOKEN, TR_OTHER, NULL },
	{ "document_root", TC_FREE, TR_OTHER, NULL },
	{ "realpath_root", TC_FREE, TR_OTHER, NULL },
	{ "request_filename", TC_FREE, TR_OTHER, NULL },
	{ "request_body_file", TC_FREE, TR_OTHER, NULL },
	{ "request_completion", TC_TOKEN, TR_OTHER, NULL },
	{ "connection_time", TC_TOKEN, TR_OTHER, NULL },
	{ "is_args", TC_TOKEN, TR_OTHER, NULL },
	{ "uid_got", TC_FREE, TR_OTHER, NULL },
	{ "uid_set", TC_FREE, TR_OTHER, NULL },
	{ "uid_reset", TC_TOKEN, TR_OTHER, NULL },
	{ "ancient_browser", TC_FREE, TR_OTHER, NULL },
	{ "modern_browser", TC_FREE, TR_OTHER, NULL },
	{ "msie", TC_TOKEN, TR_OTHER, NULL },
	{ "bytes_received", TC_TOKEN, TR_OTHER, NULL },
	{ "session_time", TC_TOKEN, TR_OTHER, NULL },
	{ "protocol", TC_TOKEN, TR_OTHER, NULL },
};

/*
 * Variable families of nginx's modules: any name with one of these
 * prefixes is theirs.  Names lethe lists one by one (remote_addr,
 * request_time, ...) are not families, so a typo such as $remote_adr is
 * said by check.
 */
static const char *const nginx_prefixes[] = {
	"http_", "sent_http_", "sent_trailer_", "upstream_", "cookie_",
	"arg_", "ssl_", "geoip_", "geoip2_", "jwt_", "limit_", "proxy_",
	"secure_link", "slice_", "spdy_", "http2", "http3", "quic",
	"tcpinfo_", "gzip_", "auth_", "invalid_referer", "memcached_",
	"fastcgi_", "uwsgi_", "scgi_", "grpc_", "session_", "connections_",
	"mirror_", "date_", "cache_", "realip_", "sticky_", "otel_",
};

/* The X-Forwarded-For kind of request headers: address lists. */
static const char *const addr_headers[] = {
	"x-forwarded-for", "forwarded", "x-real-ip", "true-client-ip",
	"cf-connecting-ip", "x-client-ip", "fastly-client-ip",
	"x-cluster-client-ip",
};

static int
fail(int col, const char *a, const char *b, const char *c)
{
	(void)snprintf(logfmt_err, sizeof(logfmt_err), "%s%s%s", a, b, c);
	return -col;
}

static void
add_item(struct tpl *t, int lit, const char *text, size_t len,
    const char *orig, size_t olen, int col)
{
	struct tpl_item *it;

	if (lit && t->n > 0 && t->v[t->n - 1].lit) {
		/* literals next to each other are one */
		it = &t->v[t->n - 1];
		it->text = xreallocarray(it->text, it->len + len + 1, 1);
		memcpy(it->text + it->len, text, len);
		it->len += len;
		it->text[it->len] = '\0';
		return;
	}
	t->v = xreallocarray(t->v, t->n + 1, sizeof(*t->v));
	it = &t->v[t->n++];
	memset(it, 0, sizeof(*it));
	it->lit = lit;
	it->text = xstrndup(text, len);
	it->len = len;
	it->orig = xstrndup(orig, olen);
	it->col = col;
}

/* ---- nginx --------------------------------------------------------------- */

static int
nginx_var(struct tpl *t, const char *name, size_t n, const char *orig,
    size_t olen, int col)
{
	struct tpl_item *it;
	size_t i;

	if (n == 18 && memcmp(name, "binary_remote_addr", 18) == 0)
		return fail(col, "$binary_remote_addr", " is the address in "
		    "binary: lethe cannot mask it; log $remote_addr instead", "");
	add_item(t, 0, name, n, orig, olen, col);
	it = &t->v[t->n - 1];
	it->cls = TC_FREE;
	for (i = 0; i < sizeof(nginx_vars) / sizeof(nginx_vars[0]); i++)
		if (strlen(nginx_vars[i].name) == n &&
		    memcmp(nginx_vars[i].name, name, n) == 0) {
			it->cls = nginx_vars[i].cls;
			it->role = nginx_vars[i].role;
			if (nginx_vars[i].time != NULL)
				it->time = xstrdup(nginx_vars[i].time);
			return 0;
		}
	for (i = 0; i < sizeof(nginx_prefixes) / sizeof(nginx_prefixes[0]);
	    i++)
		if (strncmp(name, nginx_prefixes[i],
		    strlen(nginx_prefixes[i])) == 0)
			return 0;
	it->unknown = 1;	/* a map or set variable: free text */
	return 0;
}

static int
parse_nginx(struct tpl *t, const char *s)
{
	const char *p = s, *q, *name;
	size_t n;
	int rc;

	while (*p != '\0') {
		if (*p != '$') {
			q = strchr(p, '$');
			n = q != NULL ? (size_t)(q - p) : strlen(p);
			add_item(t, 1, p, n, p, n, (int)(p - s) + 1);
			p += n;
			continue;
		}
		if (p[1] == '{') {
			name = p + 2;
			if ((q = strchr(name, '}')) == NULL)
				return fail((int)(p - s) + 1, "an unclosed ${",
				    "", "");
			n = (size_t)(q - name);
			q++;
		} else {
			name = p + 1;
			for (q = name; isalnum((unsigned char)*q) || *q == '_';
			    q++)
				;
			n = (size_t)(q - name);
		}
		if (n == 0) {
			add_item(t, 1, "$", 1, "$", 1, (int)(p - s) + 1);
			p++;
			continue;
		}
		if ((rc = nginx_var(t, name, n, p, (size_t)(q - p),
		    (int)(p - s) + 1)) < 0)
			return rc;
		p = q;
	}
	return 0;
}

/* ---- Apache -------------------------------------------------------------- */

static int
header_is_addr(const char *h, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(addr_headers) / sizeof(addr_headers[0]); i++)
		if (strlen(addr_headers[i]) == n &&
		    strncasecmp(addr_headers[i], h, n) == 0)
			return 1;
	return 0;
}

/* "X-Forwarded-For" to "http_x_forwarded_for", nginx's name for it. */
static char *
header_name(const char *h, size_t n)
{
	char *s = xmalloc(n + 6);
	size_t i;

	memcpy(s, "http_", 5);
	for (i = 0; i < n; i++)
		s[5 + i] = h[i] == '-' ? '_' :
		    (char)tolower((unsigned char)h[i]);
	s[5 + n] = '\0';
	return s;
}

/* %{format}t: epoch forms by name, else a strftime pattern; NULL: not
   a time (msec_frac).  Allocated. */
static char *
apache_time(const char *arg, size_t n, int *cls)
{
	if (n >= 6 && strncmp(arg, "begin:", 6) == 0)
		arg += 6, n -= 6;
	else if (n >= 4 && strncmp(arg, "end:", 4) == 0)
		arg += 4, n -= 4;
	*cls = TC_TOKEN;
	if (n == 3 && memcmp(arg, "sec", 3) == 0)
		return xstrdup("epoch");
	if (n == 4 && memcmp(arg, "msec", 4) == 0)
		return xstrdup("epoch_ms");
	if (n == 4 && memcmp(arg, "usec", 4) == 0)
		return xstrdup("epoch_us");
	if (n == 9 && (memcmp(arg, "msec_frac", 9) == 0 ||
	    memcmp(arg, "usec_frac", 9) == 0))
		return NULL;
	*cls = TC_TIMEPAT;
	return xstrndup(arg, n);
}

/* One directive %[mods][{arg}]X at s[i]; its item(s), or -column. */
static int
apache_directive(struct tpl *t, const char *s, size_t i, char x,
    const char *arg, size_t alen, size_t end)
{
	struct tpl_item *it;
	int col = (int)i + 1, cls = TC_TOKEN, role = TR_OTHER;
	char *name = NULL, *tf = NULL;

	switch (x) {
	case 'a': case 'h':
		role = TR_ADDR;
		name = xstrdup(alen > 0 ? "peer_addr" : "remote_addr");
		break;
	case 'i':
		if (alen == 0)
			return fail(col, "%i needs a header name", "", "");
		cls = TC_FREE;
		role = header_is_addr(arg, alen) ? TR_LIST : TR_OTHER;
		name = header_name(arg, alen);
		break;
	case 't':
		if (alen == 0) {
			add_item(t, 1, "[", 1, "%t", 2, col);
			add_item(t, 0, "time_local", 10, s + i, end - i, col);
			t->v[t->n - 1].cls = TC_CLF;
			t->v[t->n - 1].role = TR_TIME;
			t->v[t->n - 1].time = xstrdup("clf");
			add_item(t, 1, "]", 1, "%t", 2, col);
			return 0;
		}
		if ((tf = apache_time(arg, alen, &cls)) != NULL)
			role = TR_TIME;
		break;
	case 'A': case 'B': case 'b': case 'D': case 'I': case 'O': case 'S':
	case 'T': case 'k': case 'P': case 'p': case 's': case 'X': case 'm':
	case 'H': case 'v': case 'V': case 'L':
		break;
	case 'u': case 'l': case 'r': case 'U': case 'q': case 'f': case 'e':
	case 'n': case 'o': case 'C': case 'R': case 'x': case 'M':
		cls = TC_FREE;
		break;
	default:
		return fail(col, "unknown directive %", (char[]){ x, '\0' },
		    " (see Apache's mod_log_config)");
	}
	if (name == NULL)
		xasprintf(&name, "%%%c", x);
	add_item(t, 0, name, strlen(name), s + i, end - i, col);
	free(name);
	it = &t->v[t->n - 1];
	it->cls = cls;
	it->role = role;
	it->time = tf;
	return 0;
}

static int
parse_apache(struct tpl *t, const char *s)
{
	const char *arg = NULL;
	size_t i = 0, j, alen = 0, len = strlen(s);
	int rc;

	while (i < len) {
		if (s[i] != '%') {
			for (j = i; j < len && s[j] != '%'; j++)
				;
			add_item(t, 1, s + i, j - i, s + i, j - i, (int)i + 1);
			i = j;
			continue;
		}
		j = i + 1;
		if (j < len && s[j] == '%') {
			add_item(t, 1, "%", 1, "%%", 2, (int)i + 1);
			i = j + 1;
			continue;
		}
		/* modifiers: < > and status lists such as !200,304 */
		while (j < len && (s[j] == '<' || s[j] == '>' || s[j] == '!' ||
		    s[j] == ',' || isdigit((unsigned char)s[j])))
			j++;
		alen = 0;
		if (j < len && s[j] == '{') {
			arg = s + j + 1;
			if ((arg = memchr(arg, '}', len - j - 1)) == NULL)
				return fail((int)i + 1, "an unclosed %{", "", "");
			alen = (size_t)(arg - (s + j + 1));
			arg = s + j + 1;
			j += alen + 2;
		}
		if (j >= len)
			return fail((int)i + 1, "a % at the end", "", "");
		if (s[j] == '^' && j + 2 < len) {	/* %{Name}^ti, ^to */
			j += 2;
			add_item(t, 0, "trailer", 7, s + i, j + 1 - i,
			    (int)i + 1);
			t->v[t->n - 1].cls = TC_FREE;
			i = j + 1;
			continue;
		}
		if ((rc = apache_directive(t, s, i, s[j], arg, alen,
		    j + 1)) < 0)
			return rc;
		i = j + 1;
	}
	return 0;
}

/* ---- the directive as pasted --------------------------------------------- */

/*
 * A quoted word of a config line at *p ('...' or "..."), unescaped into
 * buf; map[i]: where buf[i] was in v.
 */
static int
quoted(const char *v, const char **p, size_t *olen, char *buf, size_t *map)
{
	char q = **p;
	const char *s = *p + 1;
	size_t n = *olen;

	while (*s != '\0' && *s != q) {
		map[n] = (size_t)(s - v);
		if (*s == '\\' && s[1] != '\0') {
			s++;
			buf[n++] = *s == 'n' ? '\n' : *s == 't' ? '\t' :
			    *s == 'r' ? '\r' : *s;
			s++;
			continue;
		}
		buf[n++] = *s++;
	}
	if (*s != q)
		return -1;
	*p = s + 1;
	*olen = n;
	return 0;
}

/*
 * Unwrap "log_format NAME [escape=X] 'a' 'b';" and "LogFormat "..."
 * [nick]" (and a bare quoted string): the format string into buf, and
 * where each of its bytes was in v into map.
 */
static int
unwrap(const char *v, char *buf, size_t *map, int *esc, int *syntax)
{
	const char *p = v;
	size_t i, n = 0;

	*syntax = TS_GUESS;
	while (isspace((unsigned char)*p))
		p++;
	if (strncmp(p, "log_format", 10) == 0 && isspace((unsigned char)p[10])) {
		*syntax = TS_NGINX;
		for (p += 10; isspace((unsigned char)*p); p++)
			;
		while (*p != '\0' && !isspace((unsigned char)*p) && *p != '\'' &&
		    *p != '"')
			p++;		/* the format's name */
	} else if (strncmp(p, "LogFormat", 9) == 0 &&
	    isspace((unsigned char)p[9])) {
		*syntax = TS_APACHE;
		p += 9;
	}
	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (strncmp(p, "escape=", 7) == 0) {
			p += 7;
			*esc = strncmp(p, "json", 4) == 0 ? TE_JSON :
			    strncmp(p, "none", 4) == 0 ? TE_NONE : TE_NGINX;
			while (*p != '\0' && !isspace((unsigned char)*p))
				p++;
			continue;
		}
		if (*p == '\'' || *p == '"') {
			if (quoted(v, &p, &n, buf, map) == -1)
				return -1;
			if (*syntax == TS_APACHE)
				break;	/* a nickname may follow */
			continue;
		}
		break;
	}
	/* A bare string that only starts with a quote: taken as it is. */
	if ((n == 0 || (*p != '\0' && *p != ';')) && *syntax == TS_GUESS) {
		(void)strlcpy(buf, v, strlen(v) + 1);
		for (i = 0; v[i] != '\0'; i++)
			map[i] = i;
		map[i] = i;
		return 0;
	}
	if (*p != '\0' && *p != ';' && *syntax != TS_APACHE)
		return -1;
	map[n] = (size_t)(p - v);
	buf[n] = '\0';
	return 0;
}

/* A bare Apache string with \" as apache2.conf has it (map follows). */
static void
unescape_quotes(char *s, size_t *map)
{
	size_t r, w = 0;

	for (r = 0; s[r] != '\0'; r++) {
		if (s[r] == '\\' && (s[r + 1] == '"' || s[r + 1] == '\\'))
			r++;
		map[w] = map[r];
		s[w++] = s[r];
	}
	map[w] = map[r];
	s[w] = '\0';
}

static int
guess_syntax(const char *s)
{
	const char *p;

	for (p = strchr(s, '$'); p != NULL; p = strchr(p + 1, '$'))
		if (isalpha((unsigned char)p[1]) || p[1] == '_' || p[1] == '{')
			return TS_NGINX;
	return strchr(s, '%') != NULL ? TS_APACHE : TS_GUESS;
}

/* Fields inside quotes are bounded by the closing quote. */
static void
classify(struct tpl *t)
{
	struct tpl_item *it, *prev, *next;
	size_t i;

	for (i = 0; i < t->n; i++) {
		it = &t->v[i];
		if (it->lit)
			continue;
		prev = i > 0 ? &t->v[i - 1] : NULL;
		next = i + 1 < t->n ? &t->v[i + 1] : NULL;
		if (prev != NULL && prev->lit && prev->text[prev->len - 1] == '"' &&
		    next != NULL && next->lit && next->text[0] == '"')
			it->quoted = 1;
	}
}

int
logfmt_parse(const char *v, struct tpl *t, const char **errstr, int *col)
{
	char *buf;
	size_t i, *map;
	int rc, time = 0;

	memset(t, 0, sizeof(*t));
	t->esc = TE_NGINX;
	*col = 0;
	buf = xmalloc(strlen(v) + 1);
	map = xcalloc(strlen(v) + 1, sizeof(*map));
	if (unwrap(v, buf, map, &t->esc, &t->syntax) == -1) {
		free(buf);
		free(map);
		*errstr = "cannot read the log_format directive (quotes?)";
		return -1;
	}
	if (t->syntax == TS_GUESS)
		t->syntax = guess_syntax(buf);
	if (t->syntax == TS_APACHE) {
		t->esc = TE_APACHE;
		unescape_quotes(buf, map);
		rc = parse_apache(t, buf);
	} else if (t->syntax == TS_NGINX)
		rc = parse_nginx(t, buf);
	else {
		free(buf);
		free(map);
		*errstr = "no $variable (nginx) or %directive (Apache) in it";
		return -1;
	}
	/* columns of the string as written, not as unwrapped */
	for (i = 0; i < t->n; i++)
		t->v[i].col = (int)map[t->v[i].col - 1] + 1;
	if (rc < 0)
		rc = -((int)map[-rc - 1] + 1);
	free(buf);
	free(map);
	if (rc < 0) {
		*col = -rc;
		*errstr = logfmt_err;
		return -1;
	}
	for (i = 0; i < t->n; i++) {
		time |= t->v[i].role == TR_TIME;
		if (!t->v[i].lit && i + 1 < t->n && !t->v[i + 1].lit &&
		    t->v[i].cls != TC_CLF && t->v[i].cls != TC_ISO) {
			*col = t->v[i + 1].col;
			(void)snprintf(logfmt_err, sizeof(logfmt_err), "%s "
			    "follows %s with nothing between: where one ends "
			    "cannot be told", t->v[i + 1].orig, t->v[i].orig);
			*errstr = logfmt_err;
			return -1;
		}
	}
	if (!time) {
		*errstr = "it has no time field ($time_local, $time_iso8601, "
		    "$msec; %t, %{sec}t, %{msec}t, %{FORMAT}t)";
		return -1;
	}
	classify(t);
	return 0;
}

void
logfmt_release(struct tpl *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		free(t->v[i].text);
		free(t->v[i].orig);
		free(t->v[i].time);
	}
	free(t->v);
	memset(t, 0, sizeof(*t));
}
