/*
 * lethe: the command line.  getopt, the command table, the config load
 * every command shares; each command is its own file (cmd_*.c), the
 * daemon is daemon.c.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lethe.h"

enum {
	OPT_NOW = 256,
	OPT_DRY_RUN,
	OPT_V4,
	OPT_V6,
	OPT_FORMAT,
	OPT_ADDRESSES,
	OPT_REGEX,
	OPT_OUTPUT,
	OPT_LOG_FORMAT,
	OPT_TIME_KEY,
	OPT_TIME_FORMAT,
	OPT_TIMEZONE,
	OPT_MASK_HOSTNAMES,
	OPT_SINCE,
	OPT_UNTIL,
	OPT_SET,
	OPT_JSON,
	OPT_EXPORT,
	OPT_REASON,
	OPT_RECEIPT,
	OPT_WAIT,
	OPT_LIST,
	OPT_RELEASE,
	OPT_HTML,
	OPT_DATE,
	OPT_PSEUDONYM,
	OPT_THREADS,
};

static const struct option longopts[] = {
	{ "config",	 required_argument, NULL, 'c' },
	{ "verbose",	 no_argument,	    NULL, 'v' },
	{ "help",	 no_argument,	    NULL, 'h' },
	{ "version",	 no_argument,	    NULL, 'V' },
	{ "now",	 required_argument, NULL, OPT_NOW },
	{ "dry-run",	 no_argument,	    NULL, OPT_DRY_RUN },
	{ "ipv4-prefix", required_argument, NULL, OPT_V4 },
	{ "ipv6-prefix", required_argument, NULL, OPT_V6 },
	{ "format",	 required_argument, NULL, OPT_FORMAT },
	{ "addresses",	 required_argument, NULL, OPT_ADDRESSES },
	{ "regex",	 required_argument, NULL, OPT_REGEX },
	{ "output",	 required_argument, NULL, OPT_OUTPUT },
	{ "log-format",	 required_argument, NULL, OPT_LOG_FORMAT },
	{ "time-key",	 required_argument, NULL, OPT_TIME_KEY },
	{ "time-format", required_argument, NULL, OPT_TIME_FORMAT },
	{ "timezone",	 required_argument, NULL, OPT_TIMEZONE },
	{ "mask-hostnames", no_argument,    NULL, OPT_MASK_HOSTNAMES },
	{ "since",	 required_argument, NULL, OPT_SINCE },
	{ "until",	 required_argument, NULL, OPT_UNTIL },
	{ "set",	 required_argument, NULL, OPT_SET },
	{ "json",	 no_argument,	    NULL, OPT_JSON },
	{ "export",	 required_argument, NULL, OPT_EXPORT },
	{ "reason",	 required_argument, NULL, OPT_REASON },
	{ "receipt",	 required_argument, NULL, OPT_RECEIPT },
	{ "wait",	 required_argument, NULL, OPT_WAIT },
	{ "list",	 no_argument,	    NULL, OPT_LIST },
	{ "release",	 required_argument, NULL, OPT_RELEASE },
	{ "html",	 required_argument, NULL, OPT_HTML },
	{ "date",	 required_argument, NULL, OPT_DATE },
	{ "pseudonym",	 no_argument,	    NULL, OPT_PSEUDONYM },
	{ "threads",	 required_argument, NULL, OPT_THREADS },
	{ NULL,		 0,		    NULL, 0 },
};

static int	cmd_run(const struct cmd_opts *);

static const struct cmd {
	const char	*name;
	int		(*fn)(const struct cmd_opts *);
	int		 opts;		/* enum cmd_flags it takes */
} cmds[] = {
	{ "check", cmd_check, 0 },
	{ "once", cmd_once, CMD_DRY_RUN | CMD_THREADS },
	{ "audit", cmd_audit, 0 },
	{ "mask", cmd_mask, CMD_MASK_OPTS | CMD_SET_OPT | CMD_THREADS },
	{ "run", cmd_run, 0 },
	{ "find", cmd_find, CMD_ARGS | CMD_FIND_OPTS | CMD_SET_OPT },
	{ "erase", cmd_erase, CMD_ARGS | CMD_ERASE_OPTS | CMD_SET_OPT },
	{ "hold", cmd_hold, CMD_ARGS | CMD_HOLD_OPTS | CMD_SET_OPT },
	{ "report", cmd_report, CMD_REPORT_OPTS },
	{ "reveal", cmd_reveal, CMD_ONE_ARG | CMD_REVEAL_OPTS | CMD_SET_OPT },
};

static void NORETURN
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: lethe [-v] [-c FILE] [--now TIME] COMMAND\n"
	    "  run                 the daemon (foreground)\n"
	    "  check               validate the config; errors as file:line\n"
	    "  once [--dry-run] [--threads N]\n"
	    "                      do every action due now, then exit\n"
	    "  audit               list full addresses past the window\n"
	    "  find [--since TIME] [--until TIME] [--set NAME] [--json]\n"
	    "       [--export FILE] ADDR|CIDR...\n"
	    "                      one person's lines in every managed file\n"
	    "  erase [--reason TEXT] [--receipt FILE] [--set NAME]\n"
	    "       [--wait DURATION] ADDR|CIDR...\n"
	    "                      mask one person's addresses everywhere now\n"
	    "  hold ADDR|CIDR... --until TIME --reason TEXT [--set NAME]\n"
	    "  hold --list | --release ID|ADDR\n"
	    "                      keep an address full past the window\n"
	    "  report [--json] [--html FILE]\n"
	    "                      what lethe holds and when each thing happens\n"
	    "  reveal [--date DAY] [--set NAME] PSEUDONYM\n"
	    "                      the address a pseudonym stands for, while\n"
	    "                      its day's key exists\n"
	    "  mask [--format F | --log-format STR] [--addresses LIST]\n"
	    "       [--regex RE] [--time-key K] [--time-format F]\n"
	    "       [--timezone Z] [--ipv4-prefix N] [--ipv6-prefix N]\n"
	    "       [--mask-hostnames] [--output FILE] [--threads N]\n"
	    "                      mask stdin to stdout (or append to FILE)\n"
	    "  mask --pseudonym [--set NAME] [--output FILE]\n"
	    "                      the same with a set's format and pseudonyms\n"
	    "TIME: ISO 8601 (2026-11-29T12:00:00Z), epoch seconds, or\n"
	    "+DURATION / -DURATION from the real clock (+8d)\n"
	    "default config: %s\n", LETHE_CONF);
	exit(status);
}

/* --now: ISO 8601, epoch seconds, or a signed duration from now. */
static int64_t
parse_now(const char *s)
{
	int64_t t, d;

	if ((s[0] == '+' || s[0] == '-') && config_parse_duration(s + 1,
	    &d) == 0)
		return (int64_t)time(NULL) + (s[0] == '+' ? d : -d);
	if (format_parse_time(s, strlen(s), &t) == 0)
		return t;
	fatalx("--now \"%s\": not a time (ISO 8601, epoch seconds or "
	    "+DURATION)", log_esc(s));
}

/* --since, --until: +DURATION and -DURATION count from --now. */
static int64_t
rel_time(const char *opt, const char *s, int64_t now, int status)
{
	int64_t d, t;

	if ((s[0] == '+' || s[0] == '-') && config_parse_duration(s + 1,
	    &d) == 0)
		return now + (s[0] == '+' ? d : -d);
	if (format_parse_time(s, strlen(s), &t) == 0)
		return t;
	log_warnx("%s \"%s\": not a time (ISO 8601, epoch seconds or "
	    "+DURATION)", opt, log_esc(s));
	exit(status);
}

static int
parse_prefix(const char *s, int max)
{
	const char *errstr;
	long long v;

	v = strtonum(s, 0, max, &errstr);
	if (errstr != NULL)
		fatalx("prefix \"%s\" is %s (0..%d)", log_esc(s), errstr, max);
	return (int)v;
}

/* --threads N: 1 .. THREADS_MAX. */
static int
parse_threads(const char *s)
{
	const char *errstr;
	long long v;

	v = strtonum(s, 1, THREADS_MAX, &errstr);
	if (errstr != NULL)
		fatalx("--threads \"%s\" is %s (1..%d)", log_esc(s), errstr,
		    THREADS_MAX);
	return (int)v;
}

/* One option into o; returns the flag it needs, or -1 (unknown). */
static int
parse_opt(int ch, struct cmd_opts *o)
{
	switch (ch) {
	case 'c': o->conf = optarg; return 0;
	case 'v': o->verbose++; return 0;
	case 'h': usage(0);
	case 'V': printf("lethe %s\n", LETHE_VERSION); exit(0);
	case OPT_NOW:
		o->now = parse_now(optarg);
		o->have_now = 1;
		return 0;
	case OPT_DRY_RUN: o->dry_run = 1; return CMD_DRY_RUN;
	case OPT_V4: o->v4_prefix = parse_prefix(optarg, 32);
		return CMD_MASK_OPTS;
	case OPT_V6: o->v6_prefix = parse_prefix(optarg, 128);
		return CMD_MASK_OPTS;
	case OPT_FORMAT: o->format = optarg; return CMD_MASK_OPTS;
	case OPT_ADDRESSES: o->addresses = optarg; return CMD_MASK_OPTS;
	case OPT_REGEX: o->regex = optarg; return CMD_MASK_OPTS;
	case OPT_OUTPUT: o->output = optarg; return CMD_MASK_OPTS;
	case OPT_LOG_FORMAT: o->log_format = optarg; return CMD_MASK_OPTS;
	case OPT_TIME_KEY: o->time_key = optarg; return CMD_MASK_OPTS;
	case OPT_TIME_FORMAT: o->time_format = optarg; return CMD_MASK_OPTS;
	case OPT_TIMEZONE: o->timezone = optarg; return CMD_MASK_OPTS;
	case OPT_MASK_HOSTNAMES: o->mask_hostnames = 1; return CMD_MASK_OPTS;
	case OPT_SINCE: o->since_arg = optarg; return CMD_FIND_OPTS;
	case OPT_UNTIL: o->until_arg = optarg;
		return CMD_FIND_OPTS | CMD_HOLD_OPTS;
	case OPT_JSON: o->json = 1; return CMD_FIND_OPTS | CMD_REPORT_OPTS;
	case OPT_HTML: o->html = optarg; return CMD_REPORT_OPTS;
	case OPT_DATE: o->date = optarg; return CMD_REVEAL_OPTS;
	case OPT_PSEUDONYM: o->pseudonym = 1; return CMD_MASK_OPTS;
	case OPT_EXPORT: o->export = optarg; return CMD_FIND_OPTS;
	case OPT_SET: o->set = optarg; return CMD_SET_OPT;
	case OPT_REASON: o->reason = optarg;
		return CMD_ERASE_OPTS | CMD_HOLD_OPTS;
	case OPT_LIST: o->list = 1; return CMD_HOLD_OPTS;
	case OPT_RELEASE: o->release = optarg; return CMD_HOLD_OPTS;
	case OPT_RECEIPT: o->receipt = optarg; return CMD_ERASE_OPTS;
	case OPT_WAIT: o->wait_arg = optarg; return CMD_ERASE_OPTS;
	case OPT_THREADS: o->threads = parse_threads(optarg);
		return CMD_THREADS;
	default: return -1;
	}
}

static const struct cmd *
parse_args(int argc, char **argv, struct cmd_opts *o)
{
	const struct cmd *c = NULL;
	size_t i, nkinds = 0;
	int ch, used = 0, r, kinds[64], ust;

	memset(o, 0, sizeof(*o));
	o->conf = LETHE_CONF;
	o->now = (int64_t)time(NULL);
	o->v4_prefix = 16;
	o->v6_prefix = 32;
	o->format = "combined";
	o->since = o->until = TIME_NONE;
	o->wait = 300;
	while ((ch = getopt_long(argc, argv, "c:vhV", longopts, NULL)) != -1) {
		if ((r = parse_opt(ch, o)) == -1)
			usage(1);
		used |= r;
		/* the commands each option applies to (0: all) */
		if ((r & ~CMD_DRY_RUN) != 0 && nkinds < sizeof(kinds) /
		    sizeof(kinds[0]))
			kinds[nkinds++] = r;
	}
	if (optind >= argc)
		usage(1);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[optind], cmds[i].name) == 0)
			c = &cmds[i];
	if (c == NULL) {
		log_warnx("unknown command \"%s\"", log_esc(argv[optind]));
		usage(1);
	}
	/* find, erase, hold, reveal: grep's convention, 2 for a usage
	   error. */
	ust = (c->opts & (CMD_ARGS | CMD_ONE_ARG)) ? 2 : 1;
	/* getopt moved every option first: the command's arguments follow. */
	o->args = argv + optind + 1;
	o->nargs = (size_t)(argc - optind - 1);
	if ((c->opts & CMD_HOLD_OPTS) && (o->list || o->release != NULL)) {
		if (o->nargs != 0 || (o->list && o->release != NULL))
			usage(ust);
	} else if (c->opts & CMD_ONE_ARG) {
		if (o->nargs != 1) {
			log_warnx("%s takes one argument", c->name);
			usage(ust);
		}
	} else if ((c->opts & CMD_ARGS) ? o->nargs == 0 : o->nargs != 0) {
		if (c->opts & CMD_ARGS)
			log_warnx("%s needs at least one address or network",
			    c->name);
		usage(ust);
	}
	if ((used & CMD_DRY_RUN) && !(c->opts & CMD_DRY_RUN))
		fatalx("--dry-run applies to once only");
	for (i = 0; i < nkinds; i++)
		if (!(kinds[i] & c->opts)) {
			log_warnx("an option given does not apply to %s",
			    c->name);
			exit(ust);
		}
	if (o->since_arg != NULL)
		o->since = rel_time("--since", o->since_arg, o->now, ust);
	if (o->until_arg != NULL && c->fn != cmd_hold)
		o->until = rel_time("--until", o->until_arg, o->now, ust);
	if (o->reason != NULL && strlen(o->reason) > REQUEST_TEXT_MAX) {
		log_warnx("--reason: longer than %d bytes", REQUEST_TEXT_MAX);
		exit(ust);
	}
	if (o->wait_arg != NULL &&
	    config_parse_duration(o->wait_arg, &o->wait) == -1) {
		log_warnx("--wait \"%s\": not a duration", log_esc(o->wait_arg));
		exit(ust);
	}
	return c;
}

static int
cmd_run(const struct cmd_opts *o)
{
	return daemon_run(o->conf, o->have_now, o->now);
}

int
main(int argc, char **argv)
{
	const struct cmd *c;
	struct cmd_opts o;

	signal(SIGPIPE, SIG_IGN);
	c = parse_args(argc, argv, &o);
	log_init(o.verbose);
	return c->fn(&o);
}
