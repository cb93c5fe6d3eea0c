/*
 * lethe: the subcommands (check, once, audit, mask, run) and startup.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lethe.h"

struct opts {
	const char	*conf;
	const char	*cmd;
	int		 verbose;
	int64_t		 now;
	int		 have_now;
	int		 dry_run;
	int		 v4_prefix;
	int		 v6_prefix;
	const char	*format;
	const char	*addresses;
	const char	*regex;
	const char	*output;
};

enum {
	OPT_NOW = 256,
	OPT_DRY_RUN,
	OPT_V4,
	OPT_V6,
	OPT_FORMAT,
	OPT_ADDRESSES,
	OPT_REGEX,
	OPT_OUTPUT,
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
	{ NULL,		 0,		    NULL, 0 },
};

static void NORETURN
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: lethe [-v] [-c FILE] [--now TIME] COMMAND\n"
	    "  run                 the daemon (foreground)\n"
	    "  check               validate the config; errors as file:line\n"
	    "  once [--dry-run]    do every action due now, then exit\n"
	    "  audit               list full addresses past the window\n"
	    "  mask [--format F] [--ipv4-prefix N] [--ipv6-prefix N]\n"
	    "       [--addresses LIST] [--regex RE] [--output FILE]\n"
	    "                      mask stdin to stdout (or append to FILE)\n"
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

static void
parse_args(int argc, char **argv, struct opts *o)
{
	int ch;

	memset(o, 0, sizeof(*o));
	o->conf = LETHE_CONF;
	o->now = (int64_t)time(NULL);
	o->v4_prefix = 16;
	o->v6_prefix = 32;
	o->format = "combined";
	while ((ch = getopt_long(argc, argv, "c:vhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': o->conf = optarg; break;
		case 'v': o->verbose++; break;
		case 'h': usage(0);
		case 'V': printf("lethe %s\n", LETHE_VERSION); exit(0);
		case OPT_NOW:
			o->now = parse_now(optarg);
			o->have_now = 1;
			break;
		case OPT_DRY_RUN: o->dry_run = 1; break;
		case OPT_V4: o->v4_prefix = parse_prefix(optarg, 32); break;
		case OPT_V6: o->v6_prefix = parse_prefix(optarg, 128); break;
		case OPT_FORMAT: o->format = optarg; break;
		case OPT_ADDRESSES: o->addresses = optarg; break;
		case OPT_REGEX: o->regex = optarg; break;
		case OPT_OUTPUT: o->output = optarg; break;
		default: usage(1);
		}
	}
	if (optind != argc - 1)
		usage(1);
	o->cmd = argv[optind];
	if (o->dry_run && strcmp(o->cmd, "once") != 0)
		fatalx("--dry-run applies to once only");
}

static int
cmd_check(const struct opts *o)
{
	struct config *conf;
	struct catalog cat;
	int rc;

	if ((conf = daemon_load_config(o->conf, 1)) == NULL)
		return 1;
	rc = catalog_discover(&cat, conf);
	catalog_release(&cat);
	config_free(conf);
	if (rc == -1)
		return 1;
	printf("configuration OK\n");
	return 0;
}

static void
scan_opts(const struct mfile *f, int64_t now, struct rewrite_opts *ro)
{
	memset(ro, 0, sizeof(*ro));
	ro->format = f->set->format;
	ro->prefix = f->set->prefix;
	ro->mask_before = TIME_NONE;
	ro->start_time = TIME_NONE;
	ro->audit_before = now - f->set->window;
}

/*
 * Open and scan one managed file: its facts for policy, and the stats an
 * audit prints.  Returns 0, or -1 after logging why.
 */
static int
scan_file(const struct mfile *f, int64_t now, struct stat *st,
    struct file_facts *ff, struct rewrite_stats *rs)
{
	struct rewrite_opts ro;
	const char *why;
	int fd, rc;

	if ((fd = fsio_openat_file(f->dir->fd, f->name, st, &why)) == -1) {
		/* Gone since discovery (the daemon renamed it): no warning. */
		if (errno != ENOENT)
			log_warnx("\"%s\": %s", log_esc(f->path), why);
		else
			errno = ENOENT;
		return -1;
	}
	scan_opts(f, now, &ro);
	rc = rewrite_scan(fd, &ro, rs, &why);
	fsio_close(fd);
	if (rc == -1) {
		log_warnx("\"%s\": %s", log_esc(f->path), why);
		return -1;
	}
	ff->live = f->live;
	ff->gzip = rs->gzip_in;
	ff->first_time = rs->first_time;
	ff->last_time = rs->last_time;
	ff->oldest_full = rs->oldest_full;
	if (ff->first_time == TIME_NONE) {
		/* No line has a time: the file's mtime stands for all. */
		ff->first_time = ff->last_time = st->st_mtime;
		if (ff->oldest_full != TIME_NONE)
			ff->oldest_full = st->st_mtime;
		if (rs->lines > 0)
			log_info("\"%s\": no line has a time; using its "
			    "mtime", log_esc(f->path));
	}
	return 0;
}

static void
print_action(const char *verb, const struct mfile *f, const char *newname)
{
	if (newname != NULL)
		printf("%s %s -> %s/%s\n", verb, log_esc(f->path),
		    log_esc(f->dir->path), log_esc(newname));
	else
		printf("%s %s\n", verb, log_esc(f->path));
	fflush(stdout);
}

static int
once_delete(const struct mfile *f, int dry_run)
{
	if (dry_run) {
		print_action("would delete", f, NULL);
		return 0;
	}
	if (fsio_unlinkat(f->dir->fd, f->name) == -1 ||
	    fsio_fsync(f->dir->fd) == -1) {
		log_warn("delete \"%s\"", log_esc(f->path));
		return -1;
	}
	print_action("delete", f, NULL);
	return 0;
}

static int
once_rewrite(const struct mfile *f, const struct stat *st,
    const struct policy_plan *pl, int dry_run)
{
	struct rewrite_opts ro;
	struct rewrite_stats rs;
	struct stat tst;
	char newbuf[NAME_MAX + 1], verb[64];
	const char *newname = NULL, *why;
	int compress = (pl->actions & ACT_COMPRESS) != 0;

	if (compress && (newname = catalog_gz_name(f->name, newbuf,
	    sizeof(newbuf))) != NULL) {
		if (*newname == '\0') {
			log_warnx("\"%s\": name too long to compress",
			    log_esc(f->path));
			return -1;
		}
		if (fstatat(f->dir->fd, newname, &tst,
		    AT_SYMLINK_NOFOLLOW) == 0) {
			log_warnx("not compressing \"%s\": \"%s\" exists",
			    log_esc(f->path), log_esc(newname));
			return -1;
		}
	}
	snprintf(verb, sizeof(verb), "%s%s", dry_run ? "would " : "",
	    policy_actions_str(pl->actions & (ACT_MASK | ACT_COMPRESS)));
	if (dry_run) {
		print_action(verb, f, newname);
		return 0;
	}
	memset(&ro, 0, sizeof(ro));
	ro.format = f->set->format;
	ro.prefix = f->set->prefix;
	ro.mask_before = (pl->actions & ACT_MASK) ? pl->mask_before :
	    TIME_NONE;
	/* As in the scan: lines before the first time count as oldest. */
	ro.start_time = TIME_NONE;
	ro.audit_before = TIME_NONE;
	ro.compress = compress;
	if (rewrite_file(f->dir->fd, f->name, newname, st, &ro, &rs,
	    &why) == -1) {
		log_warnx("rewrite \"%s\": %s", log_esc(f->path), why);
		return -1;
	}
	print_action(verb, f, newname);
	return 0;
}

/*
 * A rotated file that a process still holds open for writing (a server
 * that has not reopened yet) is left for a later run.
 */
static int
still_written(const struct mfile *f)
{
	if (rotate_has_writer(f->dir->fd, f->name, f->st.st_dev,
	    f->st.st_ino) == 1) {
		log_info("\"%s\": a process still writes to it; next time",
		    log_esc(f->path));
		return 1;
	}
	return 0;
}

static int
once_file(const struct mfile *f, int64_t now, int dry_run)
{
	struct file_facts ff;
	struct rewrite_stats rs;
	struct policy_plan pl;
	struct stat st;

	if (!f->live && still_written(f))
		return 0;
	if (scan_file(f, now, &st, &ff, &rs) == -1)
		return -1;
	policy_plan(f->set, &ff, now, &pl);
	log_debug("\"%s\": %s", log_esc(f->path),
	    policy_actions_str(pl.actions));
	if (pl.actions & ACT_WARN_LIVE)
		log_warnx("\"%s\": the live file holds full addresses past "
		    "the window and [%s] does not rotate it (rotate = off or "
		    "no reopen hook)", log_esc(f->path), f->set->name);
	if (pl.actions & ACT_DELETE)
		return once_delete(f, dry_run);
	if (pl.actions & (ACT_MASK | ACT_COMPRESS))
		return once_rewrite(f, &st, &pl, dry_run);
	return 0;
}

/* Run the set's reopen hook and wait for it (a command: 30 s at most). */
static int
once_hook(const struct logset *set)
{
	const char *why = NULL;
	pid_t pid;
	int st, i;

	if (set->reopen == REOPEN_SIGNAL) {
		if (rotate_hook_signal(set, &why) == 0)
			return 0;
		log_warnx("[%s]: reopen hook failed: %s", set->name, why);
		return -1;
	}
	if ((pid = rotate_hook_command(set, &why)) == -1) {
		log_warnx("[%s]: reopen hook failed: %s", set->name, why);
		return -1;
	}
	for (i = 0; i < 300; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid) {
			if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
				return 0;
			log_warnx("[%s]: reopen command failed (status %d)",
			    set->name, st);
			return -1;
		}
		usleep(100000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	log_warnx("[%s]: reopen command timed out", set->name);
	return -1;
}

/* Should this live file be rotated now?  Sets *stamp for its name. */
static int
rotation_due(const struct mfile *f, int64_t now, int64_t *stamp)
{
	const struct logset *set = f->set;
	struct file_facts ff;
	struct rewrite_stats rs;
	struct policy_plan pl;
	struct stat st;
	int64_t prev;

	*stamp = now;
	if (set->reopen == REOPEN_NONE || f->st.st_size == 0)
		return 0;
	if (set->rotate == ROTATE_SIZE && f->st.st_size >= set->rotate_size)
		return 1;
	if (scan_file(f, now, &st, &ff, &rs) == -1)
		return 0;
	prev = rotate_prev(set, now);
	if (ff.first_time != TIME_NONE && prev != INT64_MIN &&
	    ff.first_time < prev) {
		*stamp = prev;
		return 1;
	}
	policy_plan(set, &ff, now, &pl);
	return (pl.actions & ACT_ROTATE) != 0;
}

/*
 * once rotates as the daemon would: a live file that spans a rotation
 * boundary, has grown past its size, or nears the window.  The segment
 * is left for a later run, after the server has reopened.
 */
static int
once_rotate(struct catalog *cat, struct config *conf, int64_t now,
    int dry_run)
{
	char seg[NAME_MAX + 1];
	const char *why;
	struct mfile *f;
	int64_t stamp;
	size_t s, i, n;
	int failed = 0;

	for (s = 0; s < conf->nsets; s++) {
		for (i = 0, n = 0; i < cat->nfiles; i++) {
			f = cat->files[i];
			if (f->set != &conf->sets[s] || !f->live ||
			    f->refused != NULL || !rotation_due(f, now, &stamp))
				continue;
			if (rotate_segment_name(f->dir->fd, f->name, stamp, seg,
			    sizeof(seg)) == -1) {
				failed++;
				continue;
			}
			if (dry_run) {
				printf("would rotate %s -> %s\n",
				    log_esc(f->path), log_esc(seg));
				continue;
			}
			if (rotate_file(f->dir->fd, f->name, seg, &why) == -1) {
				log_warn("rotate \"%s\": %s", log_esc(f->path),
				    why);
				failed++;
				continue;
			}
			printf("rotate %s -> %s/%s\n", log_esc(f->path),
			    log_esc(f->dir->path), log_esc(seg));
			f->refused = "rotated";
			n++;
		}
		if (n > 0 && once_hook(&conf->sets[s]) == -1)
			failed++;
	}
	return failed;
}

static int
cmd_once(const struct opts *o)
{
	struct config *conf;
	struct catalog cat;
	size_t i, failed = 0;

	if ((conf = daemon_load_config(o->conf, 1)) == NULL)
		return 1;
	if (catalog_discover(&cat, conf) == -1)
		failed++;
	if (!o->dry_run) {
		catalog_clean_tmp(&cat);
		catalog_recover_pairs(&cat);
	}
	failed += (size_t)once_rotate(&cat, conf, o->now, o->dry_run);
	for (i = 0; i < cat.nfiles; i++)
		if (cat.files[i]->refused == NULL &&
		    once_file(cat.files[i], o->now, o->dry_run) == -1)
			failed++;
	catalog_release(&cat);
	config_free(conf);
	return failed ? 1 : 0;
}

static int
audit_file(const struct mfile *f, int64_t now)
{
	struct file_facts ff;
	struct rewrite_stats rs;
	struct stat st;

	if (f->refused != NULL) {
		if (strcmp(f->refused, "removed") == 0)
			return 0;
		printf("%s: refused: %s\n", log_esc(f->path), f->refused);
		return -1;
	}
	if (scan_file(f, now, &st, &ff, &rs) == -1) {
		if (errno == ENOENT)
			return -2;	/* gone: the caller looks again */
		printf("%s: unreadable or corrupt (see the log)\n",
		    log_esc(f->path));
		return -1;
	}
	if (rs.full_past == 0)
		return 0;
	printf("%s: %llu full addresses past the window, first at line "
	    "%llu\n", log_esc(f->path), (unsigned long long)rs.full_past,
	    (unsigned long long)rs.full_past_line);
	return -1;
}

struct seen {
	dev_t		 dev;
	ino_t		 ino;
};

static int
seen_before(const struct seen *v, size_t n, const struct stat *st)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].dev == st->st_dev && v[i].ino == st->st_ino)
			return 1;
	return 0;
}

/*
 * audit, while the daemon may rename (compress) or delete files under it:
 * a file gone since discovery makes it look again, up to three passes,
 * and audit the files it has not seen yet (by device and inode).
 */
static int
cmd_audit(const struct opts *o)
{
	struct config *conf;
	struct catalog cat;
	struct seen *seen = NULL;
	size_t i, nseen = 0, bad = 0, clean = 0, gone;
	int pass, r;

	if ((conf = daemon_load_config(o->conf, 1)) == NULL)
		return 1;
	for (pass = 0; pass < 3; pass++) {
		if (catalog_discover(&cat, conf) == -1 && pass == 0)
			bad++;
		for (i = 0, gone = 0; i < cat.nfiles; i++) {
			if (seen_before(seen, nseen, &cat.files[i]->st))
				continue;
			if ((r = audit_file(cat.files[i], o->now)) == -2) {
				gone++;
				continue;
			}
			seen = xreallocarray(seen, nseen + 1, sizeof(*seen));
			seen[nseen].dev = cat.files[i]->st.st_dev;
			seen[nseen++].ino = cat.files[i]->st.st_ino;
			if (r == -1)
				bad++;
			else
				clean++;
		}
		catalog_release(&cat);
		if (gone == 0)
			break;
	}
	if (pass == 3) {
		printf("audit: files kept changing during the audit\n");
		bad++;
	}
	free(seen);
	config_free(conf);
	if (bad == 0)
		printf("audit: %zu files clean\n", clean);
	return bad ? 1 : 0;
}

/*
 * Where mask writes: standard output, or --output FILE, appended to (the
 * Apache piped-log set-up, where the logger's own stdout goes nowhere).
 */
static int
mask_output(const char *path)
{
	int fd;

	if (path == NULL)
		return STDOUT_FILENO;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC | O_NOCTTY, 0640);
	if (fd == -1)
		fatal("open \"%s\"", log_esc(path));
	return fd;
}

static int
cmd_mask(const struct opts *o)
{
	struct addr_prefix prefix;
	struct format *fmt;
	enum format_kind kind;
	char *fields[64], *list = NULL, *tok, *save;
	size_t nfields = 0;
	const char *errstr;
	struct stat st;
	int rc, flush, out;

	if (format_kind_parse(o->format, &kind) == -1)
		fatalx("unknown format \"%s\"", log_esc(o->format));
	if (o->addresses != NULL) {
		list = xstrdup(o->addresses);
		for (tok = strtok_r(list, ", ", &save); tok != NULL &&
		    nfields < 64; tok = strtok_r(NULL, ", ", &save))
			fields[nfields++] = tok;
	}
	if ((fmt = format_new(kind, o->regex, fields, nfields,
	    &errstr)) == NULL)
		fatalx("format %s: %s", o->format, errstr);
	prefix.v4 = o->v4_prefix;
	prefix.v6 = o->v6_prefix;
	out = mask_output(o->output);
	/*
	 * Fed by a pipe (a web server's piped log), every line goes out as
	 * soon as it is complete, and TERM and HUP do not stop us: Apache
	 * sends TERM to its loggers at every restart while its old children
	 * still write, so we read on to the end of the pipe.
	 */
	flush = o->output != NULL ||
	    fstat(STDIN_FILENO, &st) == -1 || !S_ISREG(st.st_mode) ||
	    fstat(out, &st) == -1 || !S_ISREG(st.st_mode);
	if (fstat(STDIN_FILENO, &st) == 0 && (S_ISFIFO(st.st_mode) ||
	    S_ISSOCK(st.st_mode))) {
		signal(SIGTERM, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
	}
	rc = rewrite_stream(STDIN_FILENO, out, fmt, &prefix, flush, &errstr);
	if (rc == -1)
		log_warnx("mask: %s", errstr);
	if (out != STDOUT_FILENO && close(out) == -1 && rc == 0) {
		log_warn("close \"%s\"", log_esc(o->output));
		rc = -1;
	}
	format_free(fmt);
	free(list);
	return rc == -1 ? 1 : 0;
}

static int
cmd_run(const struct opts *o)
{
	return daemon_run(o->conf, o->have_now, o->now);
}

int
main(int argc, char **argv)
{
	static const struct {
		const char	*name;
		int		(*fn)(const struct opts *);
	} cmds[] = {
		{ "check", cmd_check },
		{ "once", cmd_once },
		{ "audit", cmd_audit },
		{ "mask", cmd_mask },
		{ "run", cmd_run },
	};
	struct opts o;
	size_t i;

	signal(SIGPIPE, SIG_IGN);
	parse_args(argc, argv, &o);
	log_init(o.verbose);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(o.cmd, cmds[i].name) == 0)
			return cmds[i].fn(&o);
	log_warnx("unknown command \"%s\"", log_esc(o.cmd));
	usage(1);
}
