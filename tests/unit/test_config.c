/*
 * config.c: defaults, every key's good and bad values, every error and
 * warning with its line, durations, sizes, reopen quoting, and the
 * reference conf/lethe.conf (read from the repository root).
 */
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lethe.h"
#include "t.h"

#define LS(f)	offsetof(struct logset, f)
#define MIN	60
#define HOUR	(60 * MIN)
#define DAY	(24 * HOUR)

/* A set with every required key (lines 1-4); a test's line is line 5. */
#define SET	"[s]\nlogs = /l/a.log\nformat = combined\n" \
		"reopen = signal HUP /run/x.pid\n"
/* A set for log_format (lines 1-3). */
#define LF3	"[s]\nlogs = /l/a.log\nrotate = off\n"
/* The same without reopen (lines 1-3). */
#define SET3	"[s]\nlogs = /l/a.log\nformat = combined\n"

struct msg_case {
	const char	*text;
	const char	*want[6];	/* every message, in order */
};

static struct config *
parse(const char *text, struct config_msgs *m)
{
	memset(m, 0, sizeof(*m));
	return config_parse("t.conf", text, strlen(text), m, NULL);
}

static void
dump(const struct config_msgs *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		fprintf(stderr, "  got: %s\n", m->v[i]);
}

/* Parse text; its messages must be want, exactly and in order. */
static struct config *
expect(const char *text, const char *const *want, size_t nwant)
{
	struct config_msgs m;
	struct config *c;
	size_t i, errs = 0, notes = 0;
	int before = t_failed_checks;

	c = parse(text, &m);
	T_EQ_INT(m.n, nwant);
	for (i = 0; i < nwant && i < m.n; i++) {
		T_EQ_STR(m.v[i], want[i]);
		if (strstr(want[i], ": warning: ") == NULL &&
		    strstr(want[i], ": note: ") == NULL)
			errs++;
		else if (strstr(want[i], ": note: ") != NULL)
			notes++;
	}
	T_EQ_INT(m.nerrors, errs);
	T_EQ_INT(m.nwarnings, nwant - errs - notes);
	T_ASSERT((c == NULL) == (errs > 0));
	if (t_failed_checks != before)
		dump(&m);
	config_msgs_release(&m);
	return c;
}

static void
run_msg_cases(const struct msg_case *cases, size_t n)
{
	size_t i, k;
	int before;

	for (i = 0; i < n; i++) {
		before = t_failed_checks;
		for (k = 0; cases[i].want[k] != NULL; k++)
			;
		config_free(expect(cases[i].text, cases[i].want, k));
		if (t_failed_checks != before)
			fprintf(stderr, "  in case %zu: %s\n", i,
			    cases[i].text);
	}
}

static void
t_defaults(void)
{
	struct config_msgs m;
	struct config *c;
	struct logset *ls;

	c = parse(SET, &m);
	T_EQ_INT(m.n, 0);
	T_ASSERT(c != NULL);
	if (c == NULL)
		return;
	T_EQ_STR(c->path, "t.conf");
	T_EQ_STR(c->state_dir, "/var/lib/lethe");
	T_EQ_INT(c->sweep, 60);
	T_EQ_INT(c->threads, 0);	/* auto */
	T_EQ_INT(c->nsets, 1);
	ls = &c->sets[0];
	T_EQ_STR(ls->name, "s");
	T_EQ_INT(ls->line, 1);
	T_EQ_INT(ls->nglobs, 1);
	T_EQ_STR(ls->globs[0], "/l/a.log");
	T_EQ_STR(ls->spec.kind, "combined");
	T_ASSERT(ls->format != NULL);
	T_ASSERT(ls->spec.regex == NULL);
	T_ASSERT(ls->format != NULL && ls->format->nnames == 1 &&
	    strcmp(ls->format->names[0], "remote_addr") == 0);
	T_EQ_INT(ls->window, 7 * DAY);
	T_EQ_INT(ls->prefix.v4, 16);
	T_EQ_INT(ls->prefix.v6, 32);
	T_EQ_INT(ls->rotate, ROTATE_INTERVAL);
	T_EQ_INT(ls->rotate_every, HOUR);
	T_EQ_INT(ls->reopen, REOPEN_SIGNAL);
	T_EQ_INT(ls->reopen_signal, SIGHUP);
	T_EQ_STR(ls->reopen_pidfile, "/run/x.pid");
	T_ASSERT(ls->reopen_argv == NULL);
	T_EQ_INT(ls->compress_after, HOUR);
	T_EQ_INT(ls->mask_early, HOUR + 5 * MIN);
	T_EQ_INT(ls->retain, 90 * DAY);
	T_EQ_INT(ls->settle, 5);
	config_free(c);
	config_msgs_release(&m);
}

static void
t_every_key(void)
{
	static const char text[] =
	    "# a comment\n"
	    "; another\n"
	    "\n"
	    "[global]\n"
	    "state_dir = /srv/lethe   # trailing comment\n"
	    "sweep = 30s\n"
	    "threads = 3\n"
	    "[web.1-x_y]\n"
	    "logs = /a/*.log /b/x.log\n"
	    "logs =\t/c/y.log\n"
	    "format = json\n"
	    "addresses = remote_addr, request.ip  x_forwarded\n"
	    "window = 2d12h\n"
	    "ipv4_prefix = 0\n"
	    "ipv6_prefix = 0\n"
	    "rotate = 500M\n"
	    "reopen = command /usr/sbin/nginx -s reopen\n"
	    "compress_after = off\n"
	    "mask_early = 90m\n"
	    "retain = 30d\n"
	    "settle = 0\n";
	struct config_msgs m;
	struct config *c;
	struct logset *ls;

	c = parse(text, &m);
	dump(&m);
	T_EQ_INT(m.n, 0);
	T_ASSERT(c != NULL);
	if (c == NULL)
		return;
	T_EQ_STR(c->state_dir, "/srv/lethe");
	T_EQ_INT(c->sweep, 30);
	T_EQ_INT(c->threads, 3);
	ls = &c->sets[0];
	T_EQ_STR(ls->name, "web.1-x_y");
	T_EQ_INT(ls->line, 8);
	T_EQ_INT(ls->nglobs, 3);
	T_EQ_STR(ls->globs[0], "/a/*.log");
	T_EQ_STR(ls->globs[1], "/b/x.log");
	T_EQ_STR(ls->globs[2], "/c/y.log");
	T_EQ_STR(ls->spec.kind, "json");
	T_EQ_INT(ls->spec.nfields, 3);
	T_EQ_STR(ls->spec.fields[0], "remote_addr");
	T_EQ_STR(ls->spec.fields[1], "request.ip");
	T_EQ_STR(ls->spec.fields[2], "x_forwarded");
	T_EQ_INT(ls->window, 2 * DAY + 12 * HOUR);
	T_EQ_INT(ls->prefix.v4, 0);
	T_EQ_INT(ls->prefix.v6, 0);
	T_EQ_INT(ls->rotate, ROTATE_SIZE);
	T_EQ_INT(ls->rotate_size, 500LL << 20);
	T_EQ_INT(ls->reopen, REOPEN_COMMAND);
	T_EQ_STR(ls->reopen_argv[0], "/usr/sbin/nginx");
	T_EQ_STR(ls->reopen_argv[1], "-s");
	T_EQ_STR(ls->reopen_argv[2], "reopen");
	T_ASSERT(ls->reopen_argv[3] == NULL);
	T_ASSERT(ls->reopen_pidfile == NULL);
	T_EQ_INT(ls->compress_after, -1);
	T_EQ_INT(ls->mask_early, 90 * MIN);
	T_EQ_INT(ls->retain, 30 * DAY);
	T_EQ_INT(ls->settle, 0);
	config_free(c);
	config_msgs_release(&m);
}

static void
t_good_values(void)
{
	static const struct {
		const char	*line;
		size_t		 off;	/* of the int64_t or int field */
		int		 is_int;
		int64_t		 want;
	} cases[] = {
		{ "window = 1d", LS(window), 0, DAY },
		{ "window = 30d", LS(window), 0, 30 * DAY },
		{ "ipv4_prefix = 24", LS(prefix.v4), 1, 24 },
		{ "ipv4_prefix = 8", LS(prefix.v4), 1, 8 },
		{ "ipv6_prefix = 48", LS(prefix.v6), 1, 48 },
		{ "rotate = 1m", LS(rotate_every), 0, MIN },
		{ "rotate = 1d", LS(rotate_every), 0, DAY },
		{ "rotate = 1K", LS(rotate_size), 0, 1024 },
		{ "rotate = 2G", LS(rotate_size), 0,
		    2LL << 30 },
		{ "compress_after = 0", LS(compress_after),
		    0, 0 },
		{ "compress_after = 1d", LS(compress_after),
		    0, DAY },
		{ "mask_early = 0", LS(mask_early), 0, 0 },
		{ "mask_early = 7d", LS(mask_early), 0,
		    7 * DAY },
		{ "retain = 1y", 0, 0, -1 },	/* sentinel: must fail */
		{ "retain = 365d", LS(retain), 0,
		    365 * DAY },
		{ "settle = 1m", LS(settle), 0, MIN },
		{ "reopen = signal SIGUSR2 /run/a.pid",
		    LS(reopen_signal), 1, SIGUSR2 },
	};
	struct config_msgs m;
	struct config *c;
	char text[512];
	size_t i;
	int64_t got;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		(void)snprintf(text, sizeof(text), "%s%s\n",
		    strncmp(cases[i].line, "reopen", 6) == 0 ? SET3 : SET,
		    cases[i].line);
		c = parse(text, &m);
		if (cases[i].want == -1) {
			T_ASSERT(c == NULL);
		} else if (c == NULL) {
			fprintf(stderr, "  case \"%s\"\n", cases[i].line);
			dump(&m);
			T_ASSERT(c != NULL);
		} else {
			if (cases[i].is_int)
				got = *(int *)(void *)((char *)&c->sets[0] +
				    cases[i].off);
			else
				got = *(int64_t *)(void *)((char *)&c->sets[0] +
				    cases[i].off);
			T_EQ_INT(got, cases[i].want);
		}
		config_free(c);
		config_msgs_release(&m);
	}
}

static void
t_signals(void)
{
	static const struct {
		const char	*name;
		int		 signo;
	} cases[] = {
		{ "HUP", SIGHUP }, { "SIGHUP", SIGHUP }, { "USR1", SIGUSR1 },
		{ "SIGUSR1", SIGUSR1 }, { "USR2", SIGUSR2 },
		{ "TERM", SIGTERM }, { "SIGINT", SIGINT }, { "INT", SIGINT },
	};
	struct config_msgs m;
	struct config *c;
	char text[512];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		(void)snprintf(text, sizeof(text), SET3 "reopen = signal %s "
		    "/run/nginx.pid\n", cases[i].name);
		c = parse(text, &m);
		T_ASSERT(c != NULL);
		if (c != NULL) {
			T_EQ_INT(c->sets[0].reopen, REOPEN_SIGNAL);
			T_EQ_INT(c->sets[0].reopen_signal, cases[i].signo);
			T_EQ_STR(c->sets[0].reopen_pidfile, "/run/nginx.pid");
		}
		config_free(c);
		config_msgs_release(&m);
	}
}

static void
t_reopen_quoting(void)
{
	static const char text[] = SET3
	    "reopen = command \"/opt/my app/reload\" -x \"a b\"  "
	    "c\"d e\"f \"q\\\"uote\" \"back\\\\slash\" \"\" plain\\n\n";
	static const char *const want[] = { "/opt/my app/reload", "-x",
	    "a b", "cd ef", "q\"uote", "back\\slash", "", "plain\\n", NULL };
	struct config_msgs m;
	struct config *c;
	size_t i;

	c = parse(text, &m);
	dump(&m);
	T_ASSERT(c != NULL);
	if (c == NULL)
		return;
	T_EQ_INT(c->sets[0].reopen, REOPEN_COMMAND);
	for (i = 0; want[i] != NULL; i++)
		T_EQ_STR(c->sets[0].reopen_argv[i], want[i]);
	T_ASSERT(c->sets[0].reopen_argv[i] == NULL);
	config_free(c);
	config_msgs_release(&m);
}

static void
t_durations(void)
{
	static const struct {
		const char	*s;
		int64_t		 want;	/* -1: must fail */
	} cases[] = {
		{ "0", 0 }, { "45", 45 }, { "45s", 45 }, { "1m", 60 },
		{ "2h", 7200 }, { "7d", 7 * DAY }, { "1h30m", 5400 },
		{ "1d2h3m4s", DAY + 7200 + 180 + 4 }, { "90m", 5400 },
		{ "0s", 0 }, { "007m", 420 },
		{ "9223372036854775807", INT64_MAX },
		{ "9223372036854775807s", INT64_MAX },
		{ "", -1 }, { "s", -1 }, { "1", 1 }, { "1x", -1 },
		{ "1H", -1 }, { "1M", -1 }, { "-1s", -1 }, { "+1s", -1 },
		{ " 1s", -1 }, { "1s ", -1 }, { "1 s", -1 }, { "1h30", -1 },
		{ "30m1h", -1 }, { "1m1m", -1 }, { "1.5h", -1 }, { "1hh", -1 },
		{ "9223372036854775808", -1 },
		{ "9223372036854775807m", -1 },
		{ "106751991167301d", -1 },
		{ "106751991167300d16h", -1 },
		{ "106751991167300d15h30m8s", -1 },
		{ "106751991167300d15h30m7s", INT64_MAX },
		{ "106751991167300d", 106751991167300LL * DAY },
	};
	size_t i;
	int64_t v;
	int rc, before;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		before = t_failed_checks;
		v = -7;
		rc = config_parse_duration(cases[i].s, &v);
		if (cases[i].want == -1) {
			T_EQ_INT(rc, -1);
			T_EQ_INT(v, -7);
		} else {
			T_EQ_INT(rc, 0);
			T_EQ_INT(v, cases[i].want);
		}
		if (t_failed_checks != before)
			fprintf(stderr, "  duration \"%s\"\n", cases[i].s);
	}
	T_EQ_INT(config_parse_duration(NULL, &v), -1);
}

static void
t_sizes(void)
{
	static const struct {
		const char	*s;
		int64_t		 want;	/* -1: must fail */
	} cases[] = {
		{ "0", 0 }, { "4096", 4096 }, { "1K", 1024 },
		{ "500M", 500LL << 20 }, { "1G", 1LL << 30 },
		{ "8589934591G", 8589934591LL << 30 },
		{ "8589934592G", -1 },
		{ "9223372036854775807", INT64_MAX },
		{ "9223372036854775808", -1 },
		{ "", -1 }, { "K", -1 }, { "1k", -1 }, { "1m", -1 },
		{ "1KB", -1 }, { "1T", -1 }, { "-1", -1 }, { "1.5G", -1 },
		{ " 1K", -1 }, { "1K ", -1 },
	};
	size_t i;
	int64_t v;
	int rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v = -7;
		rc = config_parse_size(cases[i].s, &v);
		if (cases[i].want == -1) {
			T_EQ_INT(rc, -1);
			T_EQ_INT(v, -7);
		} else {
			T_EQ_INT(rc, 0);
			T_EQ_INT(v, cases[i].want);
		}
	}
}

#define DUR	"a duration such as 90s, 30m, 12h, 7d or 1h30m"
#define ROT	"a duration of at least 1m (such as 1h), daily, a size " \
		"(such as 500M) or off"
#define REO	"\"signal NAME PIDFILE\" or \"command PATH [ARG...]\""

static void
t_bad_values(void)
{
	static const struct msg_case cases[] = {
		{ "[global]\nstate_dir = var/lib\n" SET, {
		    "t.conf:2: bad state_dir \"var/lib\": expected an "
		    "absolute path", NULL } },
		{ "[global]\nsweep = 0\n" SET, {
		    "t.conf:2: bad sweep \"0\": expected a duration from 1s "
		    "to 1h", NULL } },
		{ "[global]\nsweep = 61m\n" SET, {
		    "t.conf:2: bad sweep \"61m\": expected a duration from 1s "
		    "to 1h", NULL } },
		{ "[global]\nthreads = 0\n" SET, {
		    "t.conf:2: bad threads \"0\": expected auto or a number "
		    "of threads from 1 to 64", NULL } },
		{ "[global]\nthreads = 65\n" SET, {
		    "t.conf:2: bad threads \"65\": expected auto or a number "
		    "of threads from 1 to 64", NULL } },
		{ "[global]\nthreads = two\n" SET, {
		    "t.conf:2: bad threads \"two\": expected auto or a "
		    "number of threads from 1 to 64", NULL } },
		{ "[s]\nlogs = /a.log relative.log\nformat = combined\n"
		    "rotate = off\n", {
		    "t.conf:2: bad logs \"/a.log relative.log\": expected "
		    "absolute paths or globs separated by spaces", NULL } },
		{ "[s]\nlogs = /a.log\nformat = apache\nrotate = off\n", {
		    "t.conf:3: bad format \"apache\": expected one of combined,"
		    " common, main, vhost_combined, nginx_error, apache_error,"
		    " json, regex or w3c", NULL } },
		{ SET "addresses = , ,\n", {
		    "t.conf:5: bad addresses \", ,\": expected field names "
		    "separated by commas or spaces", NULL } },
		{ SET "window = 7x\n", {
		    "t.conf:5: bad window \"7x\": expected " DUR, NULL } },
		{ SET "window = 36501d\n", {
		    "t.conf:5: bad window \"36501d\": expected a duration of "
		    "at most 36500d", NULL } },
		{ SET "retain = -1d\n", {
		    "t.conf:5: bad retain \"-1d\": expected " DUR, NULL } },
		{ SET "settle = soon\n", {
		    "t.conf:5: bad settle \"soon\": expected " DUR, NULL } },
		{ SET "mask_early = off\n", {
		    "t.conf:5: bad mask_early \"off\": expected " DUR, NULL } },
		{ SET "compress_after = never\n", {
		    "t.conf:5: bad compress_after \"never\": expected " DUR
		    " or off", NULL } },
		{ SET "ipv4_prefix = 33\n", {
		    "t.conf:5: bad ipv4_prefix \"33\": expected a number of "
		    "bits from 0 to 32", NULL } },
		{ SET "ipv4_prefix = -1\n", {
		    "t.conf:5: bad ipv4_prefix \"-1\": expected a number of "
		    "bits from 0 to 32", NULL } },
		{ SET "ipv4_prefix = 1x\n", {
		    "t.conf:5: bad ipv4_prefix \"1x\": expected a number of "
		    "bits from 0 to 32", NULL } },
		{ SET "ipv4_prefix = +8\n", {
		    "t.conf:5: bad ipv4_prefix \"+8\": expected a number of "
		    "bits from 0 to 32", NULL } },
		{ SET "ipv6_prefix = 129\n", {
		    "t.conf:5: bad ipv6_prefix \"129\": expected a number of "
		    "bits from 0 to 128", NULL } },
		{ SET "rotate = 30s\n", {
		    "t.conf:5: bad rotate \"30s\": expected " ROT, NULL } },
		{ SET "rotate = 3600\n", {
		    "t.conf:5: bad rotate \"3600\": expected " ROT, NULL } },
		{ SET "rotate = 0M\n", {
		    "t.conf:5: bad rotate \"0M\": expected " ROT, NULL } },
		{ SET "rotate = weekly\n", {
		    "t.conf:5: bad rotate \"weekly\": expected " ROT, NULL } },
		{ SET3 "reopen = kill nginx\n", {
		    "t.conf:4: bad reopen \"kill nginx\": expected " REO,
		    NULL } },
		{ SET3 "reopen = signal USR1\n", {
		    "t.conf:4: bad reopen \"signal USR1\": expected " REO,
		    NULL } },
		{ SET3 "reopen = signal USR1 /run/a.pid extra\n", {
		    "t.conf:4: bad reopen \"signal USR1 /run/a.pid extra\": "
		    "expected " REO, NULL } },
		{ SET3 "reopen = signal KILL /run/a.pid\n", {
		    "t.conf:4: bad reopen \"signal KILL /run/a.pid\": expected"
		    " a signal HUP, USR1, USR2, TERM or INT (SIG prefix "
		    "optional)", NULL } },
		{ SET3 "reopen = signal usr1 /run/a.pid\n", {
		    "t.conf:4: bad reopen \"signal usr1 /run/a.pid\": expected"
		    " a signal HUP, USR1, USR2, TERM or INT (SIG prefix "
		    "optional)", NULL } },
		{ SET3 "reopen = signal HUP run/a.pid\n", {
		    "t.conf:4: bad reopen \"signal HUP run/a.pid\": expected "
		    "an absolute path for the pid file", NULL } },
		{ SET3 "reopen = command\n", {
		    "t.conf:4: bad reopen \"command\": expected " REO, NULL } },
		{ SET3 "reopen = command nginx -s reopen\n", {
		    "t.conf:4: bad reopen \"command nginx -s reopen\": expected"
		    " an absolute path for the command", NULL } },
		{ SET3 "reopen = command \"/usr/bin/x\" \"open\n", {
		    "t.conf:4: bad reopen \"command \"/usr/bin/x\" \"open\": "
		    "expected a closing double quote", NULL } },
		{ SET "window =\n", {
		    "t.conf:5: missing value for \"window\": expected " DUR,
		    NULL } },
		{ SET "regex = # only a comment\n", {
		    "t.conf:5: missing value for \"regex\": expected a PCRE2 "
		    "pattern", NULL } },
	};

	run_msg_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void
t_errors(void)
{
	static const struct msg_case cases[] = {
		{ "sweep = 1m\n" SET, {
		    "t.conf:1: key \"sweep\" before any section: put it under "
		    "[global] or a log set such as [nginx]", NULL } },
		{ "[global]\nfoo = 1\n" SET, {
		    "t.conf:2: unknown key \"foo\" in [global]", NULL } },
		{ "[global]\nwindow = 1d\n" SET, {
		    "t.conf:2: unknown key \"window\" in [global] (it belongs "
		    "in a log set)", NULL } },
		{ SET "sweep = 1m\n", {
		    "t.conf:5: unknown key \"sweep\" in [s] (it belongs in "
		    "[global])", NULL } },
		{ SET "Window = 1d\n", {
		    "t.conf:5: unknown key \"Window\" in [s]", NULL } },
		{ SET "window = 1d\nwindow = 2d\n", {
		    "t.conf:6: duplicate key \"window\" in [s] (first on line "
		    "5)", NULL } },
		{ "[global]\nsweep = 1m\nsweep = 2m\n" SET, {
		    "t.conf:3: duplicate key \"sweep\" in [global] (first on "
		    "line 2)", NULL } },
		{ SET "[s]\nwindow = x\n", {
		    "t.conf:5: duplicate section [s] (first on line 1)",
		    NULL } },
		{ "[global]\n[global]\n" SET, {
		    "t.conf:2: duplicate section [global] (first on line 1)",
		    NULL } },
		{ SET "[a b]\nwindow = x\n", {
		    "t.conf:5: bad section name \"a b\": expected letters, "
		    "digits, \"_\", \".\" or \"-\"", NULL } },
		{ SET "[]\n", {
		    "t.conf:5: bad section name \"\": expected letters, "
		    "digits, \"_\", \".\" or \"-\"", NULL } },
		{ SET "[x\n", {
		    "t.conf:5: bad section header: expected \"[name]\"",
		    NULL } },
		{ SET "[x] y\n", {
		    "t.conf:5: bad section header: expected \"[name]\"",
		    NULL } },
		{ SET "just words\n", {
		    "t.conf:5: expected \"key = value\" or \"[section]\"",
		    NULL } },
		{ SET "= 5\n", {
		    "t.conf:5: missing key before \"=\"", NULL } },
		{ "[global]\n[s]\nformat = combined\nrotate = off\n", {
		    "t.conf:2: missing required key \"logs\" in [s]", NULL } },
		{ "\n[s]\nlogs = /a\nrotate = off\n", {
		    "t.conf:2: missing required key \"format\" (or \"log_format\") in [s]",
		    NULL } },
		{ "[s]\nlogs = /a\nformat = regex\naddresses = addr\n"
		    "rotate = off\n", {
		    "t.conf:1: missing required key \"regex\" in [s] "
		    "(format = regex)", NULL } },
		{ "[s]\nlogs = /a\nformat = json\nrotate = off\n", {
		    "t.conf:1: missing required key \"addresses\" in [s] "
		    "(format = json has no default)", NULL } },
		{ "[s]\nlogs = /a\nformat = regex\nrotate = off\n"
		    "regex = ^(?<addr>\\S+)\n", {
		    "t.conf:5: bad regex: regex has no named group time",
		    NULL } },
		{ SET "regex = ^(?<addr>\\S+)\n", {
		    "t.conf:5: regex is used only with format = regex, not "
		    "combined", NULL } },
		{ SET "window = 100d\n", {
		    "t.conf:5: window (100d) is longer than retain (90d)",
		    NULL } },
		{ SET "retain = 3d\n", {
		    "t.conf:5: window (7d) is longer than retain (3d)",
		    NULL } },
		{ SET "retain = 10d\nwindow = 20d\n", {
		    "t.conf:6: window (20d) is longer than retain (10d)",
		    NULL } },
		{ SET "window = 0\n", {
		    "t.conf:5: window must be longer than zero", NULL } },
		{ SET "retain = 0d\n", {
		    "t.conf:5: retain must be longer than zero", NULL } },
		/* Each mistake is reported, a zero retain hides none. */
		{ SET "rotate = daily\nwindow = 12h\nmask_early = 2d\n"
		    "retain = 0\n", {
		    "t.conf:6: warning: window = 12h is outside 1d..30d",
		    "t.conf:7: mask_early (2d) is longer than window (12h)",
		    "t.conf:8: retain must be longer than zero", NULL } },
		{ SET "mask_early = 8d\n", {
		    "t.conf:5: mask_early (8d) is longer than window (7d)",
		    NULL } },
		/* The default mask_early is at most half the window. */
		{ SET "rotate = daily\nwindow = 12h\n", {
		    "t.conf:6: warning: window = 12h is outside 1d..30d",
		    NULL } },
		/* Without reopen, rotate defaults to off, and check says so. */
		{ SET3, {
		    "t.conf:1: note: [s] has no reopen, so rotate = off: lethe "
		    "follows what others rotate", NULL } },
		{ SET3 "rotate = daily\n", {
		    "t.conf:4: rotate = daily needs reopen, or set rotate = "
		    "off",
		    NULL } },
		{ SET3 "rotate = 500M\n", {
		    "t.conf:4: rotate = 500M needs reopen, or set rotate = off",
		    NULL } },
		{ SET3 "rotate = 1h30m\n", {
		    "t.conf:4: rotate = 1h30m needs reopen, or set rotate = "
		    "off", NULL } },
		{ "", {
		    "t.conf:1: no log sets: add a section such as [nginx] with "
		    "logs and format", NULL } },
		{ "[global]\nsweep = 5m\n", {
		    "t.conf:1: no log sets: add a section such as [nginx] with "
		    "logs and format", NULL } },
	};

	run_msg_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void
t_nul_byte(void)
{
	static const char text[] = SET "window\0 = 1d\n";
	static const char *const want[] = { "t.conf:5: NUL byte in line" };
	struct config_msgs m;
	struct config *c;

	memset(&m, 0, sizeof(m));
	c = config_parse("t.conf", text, sizeof(text) - 1, &m, NULL);
	T_ASSERT(c == NULL);
	T_EQ_INT(m.n, 1);
	if (m.n == 1)
		T_EQ_STR(m.v[0], want[0]);
	config_msgs_release(&m);
}

static void
t_overlaps(void)
{
	static const struct msg_case cases[] = {
		{ "[a]\nlogs = /l/x.log\nformat = combined\nrotate = off\n"
		    "[b]\nformat = combined\nrotate = off\n"
		    "logs = /l/y.log /l/x.log\n", {
		    "t.conf:8: logs \"/l/x.log\" in [b] overlaps \"/l/x.log\" "
		    "in [a] (line 2)", NULL } },
		{ "[a]\nlogs = /l/*.log\nformat = combined\nrotate = off\n"
		    "[b]\nlogs = /l/access.log\nformat = combined\n"
		    "rotate = off\n", {
		    "t.conf:6: logs \"/l/access.log\" in [b] overlaps "
		    "\"/l/*.log\" in [a] (line 2)", NULL } },
		{ "[a]\nlogs = /l/access.log\nformat = combined\nrotate = off\n"
		    "[b]\nlogs = /l/*.log\nformat = combined\nrotate = off\n", {
		    "t.conf:6: logs \"/l/*.log\" in [b] overlaps "
		    "\"/l/access.log\" in [a] (line 2)", NULL } },
		/* Different files, different directories: no overlap. */
		{ "[a]\nlogs = /l/*.log\nformat = combined\nrotate = off\n"
		    "[b]\nlogs = /l/sub/x.log /m/*.log /l/.hidden.log\n"
		    "format = combined\nrotate = off\n", { NULL } },
		{ "[a]\nlogs = /l/a.log\nformat = combined\nrotate = off\n"
		    "logs = /l/b.log\n"
		    "[b]\nlogs = /l/c.log\nformat = combined\nrotate = off\n"
		    "[c]\nlogs = /l/[ab].log\nformat = combined\n"
		    "rotate = off\n", {
		    "t.conf:11: logs \"/l/[ab].log\" in [c] overlaps "
		    "\"/l/a.log\" in [a] (line 2)",
		    "t.conf:11: logs \"/l/[ab].log\" in [c] overlaps "
		    "\"/l/b.log\" in [a] (line 5)", NULL } },
	};

	run_msg_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void
t_warnings(void)
{
	static const struct msg_case cases[] = {
		{ SET "ipv4_prefix = 25\n", {
		    "t.conf:5: warning: ipv4_prefix = 25 keeps more than a /24 "
		    "of each address", NULL } },
		{ SET "ipv6_prefix = 49\n", {
		    "t.conf:5: warning: ipv6_prefix = 49 keeps more than a /48 "
		    "of each address, often one subscriber's whole allocation",
		    NULL } },
		{ SET "ipv4_prefix = 32\nipv6_prefix = 128\n", {
		    "t.conf:5: warning: ipv4_prefix = 32 keeps more than a /24 "
		    "of each address",
		    "t.conf:6: warning: ipv6_prefix = 128 keeps more than a "
		    "/48 of each address, often one subscriber's whole "
		    "allocation", NULL } },
		{ SET "window = 31d\n", {
		    "t.conf:5: warning: window = 31d is outside 1d..30d",
		    NULL } },
		{ SET "window = 23h59m\nmask_early = 0\n", {
		    "t.conf:5: warning: window = 23h59m is outside 1d..30d",
		    NULL } },
		{ SET "rotate = off\n", {
		    "t.conf:4: warning: with rotate = off, reopen is used only by "
		    "rotations asked for with SIGUSR1",
		    NULL } },
		/* A warning does not hide the errors of the same file. */
		{ SET "ipv4_prefix = 30\nwindow = 0\n", {
		    "t.conf:5: warning: ipv4_prefix = 30 keeps more than a /24 "
		    "of each address",
		    "t.conf:6: window must be longer than zero", NULL } },
	};

	run_msg_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void
t_many_errors(void)
{
	static const char text[] =
	    "oops = 1\n"			/* 1 */
	    "[global]\n"			/* 2 */
	    "sweep = 2h\n"			/* 3 */
	    "state_dir = rel\n"			/* 4 */
	    "[web]\n"				/* 5 */
	    "logs = /var/log/a.log\n"		/* 6 */
	    "format = combined\n"		/* 7 */
	    "window = 1w\n"			/* 8 */
	    "bogus = 1\n"			/* 9 */
	    "ipv4_prefix = 99\n"		/* 10 */
	    "reopen = signal HUP /run/a.pid\n"	/* 11 */
	    "window = 1d\n"			/* 12 */
	    "[web]\n"				/* 13 */
	    "[api]\n"				/* 14 */
	    "logs = /var/log/*.log\n"		/* 15 */
	    "rotate = daily\n";			/* 16 */
	static const char *const want[] = {
	    "t.conf:1: key \"oops\" before any section: put it under "
	    "[global] or a log set such as [nginx]",
	    "t.conf:3: bad sweep \"2h\": expected a duration from 1s to 1h",
	    "t.conf:4: bad state_dir \"rel\": expected an absolute path",
	    "t.conf:8: bad window \"1w\": expected " DUR,
	    "t.conf:9: unknown key \"bogus\" in [web]",
	    "t.conf:10: bad ipv4_prefix \"99\": expected a number of bits "
	    "from 0 to 32",
	    "t.conf:12: duplicate key \"window\" in [web] (first on line 8)",
	    "t.conf:13: duplicate section [web] (first on line 5)",
	    "t.conf:14: missing required key \"format\" (or \"log_format\") in [api]",
	    "t.conf:15: logs \"/var/log/*.log\" in [api] overlaps "
	    "\"/var/log/a.log\" in [web] (line 6)",
	    "t.conf:16: rotate = daily needs reopen, or set rotate = off",
	};
	struct config_msgs m;
	struct config *c;
	size_t i, n = sizeof(want) / sizeof(want[0]);

	c = expect(text, want, n);
	T_ASSERT(c == NULL);

	/* Messages are appended to what msgs already holds. */
	memset(&m, 0, sizeof(m));
	c = config_parse("a.conf", text, sizeof(text) - 1, &m, NULL);
	T_ASSERT(c == NULL);
	c = config_parse("b.conf", SET "ipv4_prefix = 28\n",
	    strlen(SET "ipv4_prefix = 28\n"), &m, NULL);
	T_ASSERT(c != NULL);
	config_free(c);
	T_EQ_INT(m.n, n + 1);
	T_EQ_INT(m.nerrors, n);
	T_EQ_INT(m.nwarnings, 1);
	for (i = 0; i < m.n; i++)
		T_ASSERT(strncmp(m.v[i], i < n ? "a.conf:" : "b.conf:",
		    7) == 0);
	config_msgs_release(&m);
	T_EQ_INT(m.n, 0);
	T_ASSERT(m.v == NULL);
}

static void
t_syntax(void)
{
	static const char text[] =
	    "  # indented comment\r\n"
	    "\t; semicolon comment\r\n"
	    "\r\n"
	    "[global]   # the daemon\r\n"
	    "state_dir=/x/y#not-a-comment\r\n"
	    "  sweep\t=\t10s\t# tab comment\r\n"
	    "[n] ; set\r\n"
	    "logs = /l/a.log # first\r\n"
	    "logs = /l/b#c.log\r\n"
	    "format = combined\r\n"
	    "rotate = off";			/* no final newline */
	struct config_msgs m;
	struct config *c;

	c = parse(text, &m);
	dump(&m);
	T_EQ_INT(m.n, 0);
	T_ASSERT(c != NULL);
	if (c == NULL)
		return;
	T_EQ_STR(c->state_dir, "/x/y#not-a-comment");
	T_EQ_INT(c->sweep, 10);
	T_EQ_INT(c->sets[0].line, 7);
	T_EQ_INT(c->sets[0].nglobs, 2);
	T_EQ_STR(c->sets[0].globs[1], "/l/b#c.log");
	T_EQ_INT(c->sets[0].rotate, ROTATE_OFF);
	T_EQ_INT(c->sets[0].mask_early, HOUR);
	config_free(c);
	config_msgs_release(&m);

	/* NULL msgs and empty text are fine; config_free(NULL) too. */
	T_ASSERT(config_parse("t.conf", NULL, 0, NULL, NULL) == NULL);
	T_ASSERT(config_parse("t.conf", "[", 1, NULL, NULL) == NULL);
	config_free(NULL);
	config_msgs_release(NULL);
}

static void
t_formats(void)
{
	static const char *const names[] = {
		"combined", "common", "main", "vhost_combined", "nginx_error",
		"apache_error", "json", "regex", "w3c",
	};
	struct config_msgs m;
	struct config *c;
	char text[512];
	size_t k;
	int json, regex;

	for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		json = strcmp(names[k], "json") == 0;
		regex = strcmp(names[k], "regex") == 0;
		(void)snprintf(text, sizeof(text), "[s]\nlogs = /l/a\n"
		    "rotate = off\nformat = %s\n%s%s%s", names[k],
		    json ? "addresses = addr\n" : "",
		    regex ? "regex = ^(?<addr>\\S+) \\S+ \\S+ "
		    "\\[(?<time>[^\\]]+)\\]" : "", regex ? "\n" : "");
		c = parse(text, &m);
		dump(&m);
		T_ASSERT(c != NULL);
		if (c != NULL) {
			T_EQ_STR(c->sets[0].spec.kind, names[k]);
			T_ASSERT(c->sets[0].format != NULL);
			T_ASSERT(c->sets[0].format != NULL &&
			    c->sets[0].format->nnames >= 1);
			if (regex)
				T_ASSERT(c->sets[0].spec.regex != NULL);
		}
		config_free(c);
		config_msgs_release(&m);
	}

	/* A regex that does not compile: format_new's words, its line. */
	c = parse("[s]\nlogs = /l/a\nrotate = off\nformat = regex\n"
	    "addresses = addr\nregex = ^(?<addr>\\S+\n", &m);
	T_ASSERT(c == NULL);
	T_EQ_INT(m.n, 1);
	if (m.n == 1)
		T_ASSERT(strncmp(m.v[0], "t.conf:6:21: bad regex: ", 24) == 0 &&
		    strstr(m.v[0], "at offset 12") != NULL);
	config_msgs_release(&m);
}

/*
 * log_format: what check says, at the line and column of the file, also
 * when the directive is pasted over several lines with its quotes.
 */
static void
t_log_format(void)
{
	static const struct msg_case lf[] = {
		{ LF3 "log_format = $remote_adr - [$time_local] \"$request\"\n",
		  { "t.conf:4:14: warning: $remote_adr is not a variable lethe "
		    "knows (a map or set variable? a typo?): read as client "
		    "text, never as an address or a time",
		    "t.conf:4: warning: log_format has no address field "
		    "($remote_addr, %h, %a, ...): the lines it describes keep "
		    "whatever address they hold", NULL } },
		{ LF3 "log_format = log_format x escape=json '$remote_addr "
		  "$a'\n   '[$time_local] $b $binary_remote_addr';\n",
		  { "t.conf:5:22: log_format: $binary_remote_addr is the "
		    "address in binary: lethe cannot mask it; log $remote_addr "
		    "instead", NULL } },
		{ LF3 "log_format = log_format x '$remote_addr $loggable'\n"
		  "     '[$time_local] $foo $bar';\n",
		  { "t.conf:4:41: warning: $loggable is not a variable lethe "
		    "knows (a map or set variable? a typo?): read as client "
		    "text, never as an address or a time",
		    "t.conf:4: warning: log_format has 3 variables lethe does "
		    "not know; the first is named above", NULL } },
		{ LF3 "log_format = LogFormat \"%h %l %u %t \\\"%r\\\" %Q\" x\n",
		  { "t.conf:4:44: log_format: unknown directive %Q (see "
		    "Apache's mod_log_config)", NULL } },
		{ LF3 "log_format = $remote_addr [$time_local] "
		  "$proxy_protocol_addr $http_x_y $upstream_addr\n", { NULL } },
	};
	struct config *c;

	run_msg_cases(lf, sizeof(lf) / sizeof(lf[0]));
	/* $proxy_protocol_addr is an address */
	c = expect(LF3 "log_format = $remote_addr [$time_local] "
	    "$proxy_protocol_addr\n", NULL, 0);
	T_ASSERT(c != NULL && c->sets[0].format->nnames == 2);
	config_free(c);
}

static void
t_reference_conf(void)
{
	struct config_msgs m;
	struct config *c;
	FILE *f;
	char *buf;
	long n;

	if ((f = fopen("conf/lethe.conf", "rb")) == NULL) {
		perror("conf/lethe.conf");
		T_ASSERT(f != NULL);
		return;
	}
	(void)fseek(f, 0, SEEK_END);
	n = ftell(f);
	(void)fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	T_ASSERT(buf != NULL && fread(buf, 1, (size_t)n, f) == (size_t)n);
	fclose(f);
	memset(&m, 0, sizeof(m));
	c = config_parse("conf/lethe.conf", buf, (size_t)n, &m, NULL);
	dump(&m);
	T_ASSERT(c != NULL);
	T_EQ_INT(m.n, 0);
	if (c != NULL) {
		T_EQ_INT(c->nsets, 1);
		T_EQ_STR(c->sets[0].name, "nginx");
		T_EQ_STR(c->sets[0].globs[0], "/var/log/nginx/*access.log");
		T_EQ_STR(c->sets[0].spec.kind, "combined");
		T_EQ_INT(c->sets[0].reopen, REOPEN_SIGNAL);
		T_EQ_INT(c->sets[0].reopen_signal, SIGUSR1);
		T_EQ_STR(c->sets[0].reopen_pidfile, "/run/nginx.pid");
		T_EQ_INT(c->sets[0].window, 7 * DAY);
		T_EQ_INT(c->sets[0].retain, 90 * DAY);
	}
	config_free(c);
	config_msgs_release(&m);
	free(buf);
}

/* forward: the three URL forms, and TLS's three keys together. */
static void
t_forward(void)
{
	static const struct msg_case cases[] = {
		{ SET "forward = relp://\n", {
		    "t.conf:5: bad forward \"relp://\": expected "
		    "relp://HOST:PORT, tcp://HOST:PORT or unix:PATH", NULL } },
		{ SET "forward = relp://h:0\n", {
		    "t.conf:5: bad forward \"relp://h:0\": expected "
		    "relp://HOST:PORT, tcp://HOST:PORT or unix:PATH", NULL } },
		{ SET "forward = unix:rel/sock\n", {
		    "t.conf:5: bad forward \"unix:rel/sock\": expected "
		    "relp://HOST:PORT, tcp://HOST:PORT or unix:PATH", NULL } },
		{ SET "forward = relp://h:2514\nforward_tls_ca = /ca.pem\n", {
		    "t.conf:6: forward_tls_ca, forward_tls_cert and "
		    "forward_tls_key go together (librelp's TLS without a "
		    "certificate of its own checks no receiver)", NULL } },
		{ SET "forward = relp://h:2514\nforward_tls_key = /k.pem\n"
		    "forward_tls_cert = /c.pem\n", {
		    "t.conf:7: forward_tls_ca, forward_tls_cert and "
		    "forward_tls_key go together (librelp's TLS without a "
		    "certificate of its own checks no receiver)", NULL } },
		{ SET "forward = tcp://h:514\nforward_tls_ca = /ca.pem\n"
		    "forward_tls_cert = /c.pem\nforward_tls_key = /k.pem\n", {
		    "t.conf:6: forward_tls_* need forward = relp://HOST:PORT "
		    "(TLS is offered over RELP only)", NULL } },
	};
	struct config_msgs m;
	struct config *c;

	run_msg_cases(cases, sizeof(cases) / sizeof(cases[0]));
	c = parse(SET "forward = relp://[2001:db8::1]:2514\n"
	    "forward_tls_ca = /ca.pem\nforward_tls_cert = /c.pem\n"
	    "forward_tls_key = /k.pem\n", &m);
	dump(&m);
	T_ASSERT(c != NULL);
	if (c != NULL) {
		T_EQ_INT(c->sets[0].forward_kind, FORWARD_RELP);
		T_EQ_STR(c->sets[0].forward_host, "2001:db8::1");
		T_EQ_STR(c->sets[0].forward_port, "2514");
		T_EQ_STR(c->sets[0].forward_tls_key, "/k.pem");
	}
	config_free(c);
	config_msgs_release(&m);
	c = parse(SET "forward = unix:/run/rsyslog/lethe.sock\n", &m);
	T_ASSERT(c != NULL);
	if (c != NULL) {
		T_EQ_INT(c->sets[0].forward_kind, FORWARD_UNIX);
		T_EQ_STR(c->sets[0].forward_path, "/run/rsyslog/lethe.sock");
	}
	config_free(c);
	config_msgs_release(&m);
}

static const struct t_case cases[] = {
	{ "defaults", t_defaults },
	{ "every_key", t_every_key },
	{ "good_values", t_good_values },
	{ "signals", t_signals },
	{ "reopen_quoting", t_reopen_quoting },
	{ "durations", t_durations },
	{ "sizes", t_sizes },
	{ "bad_values", t_bad_values },
	{ "errors", t_errors },
	{ "nul_byte", t_nul_byte },
	{ "overlaps", t_overlaps },
	{ "warnings", t_warnings },
	{ "many_errors", t_many_errors },
	{ "syntax", t_syntax },
	{ "formats", t_formats },
	{ "log_format", t_log_format },
	{ "reference_conf", t_reference_conf },
	{ "forward", t_forward },
	{ NULL, NULL },
};

int
main(int argc, char **argv)
{
	return t_main(cases, argc, argv);
}
