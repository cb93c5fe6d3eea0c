/*
 * The test seam, compiled into test builds only (make fault, which adds
 * -DLETHE_FAULT_SEAM); in a normal build FAULT() is the constant 0 and
 * this file holds nothing.  Every filesystem call of fsio.c counts here.
 * The environment says what happens:
 *
 *	LETHE_FAULT="OP:N:ERRNO"	the Nth call of OP fails with ERRNO
 *	LETHE_FAULT="OP:N+:ERRNO"	the Nth call and every later one
 *	LETHE_FAULT_COUNT=PATH		at exit, write "OP COUNT" per line
 *	LETHE_PAUSE="OP:N:PATH"		before the Nth call of OP, create
 *					PATH and wait until it is removed
 *					(120 s at most), then make the call
 *	LETHE_FAULT_WRITER=yes|no|unknown  what the writer check answers
 *
 * OP is one of fault_ops below, or any (calls of every kind counted
 * together); N counts from 1; ERRNO is EIO, ENOSPC, EINTR, EAGAIN, EACCES
 * or EROFS.  Where a wrapper retries (EINTR, EAGAIN on read or write) the
 * retry path is what a fault exercises.  Calls are counted atomically:
 * the daemon's worker thread counts too.  The pause lets a test rename
 * files under lethe's feet at an exact point of a run.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lethe.h"

#ifdef LETHE_FAULT_SEAM

#define PAUSE_LIMIT	120	/* seconds a pause waits at most */

static const char *const fault_ops[] = {
	"open", "read", "write", "fsync", "rename", "unlink", "link",
	"close", "stat", "dir", "attr", "lock", "any",
};

static const struct {
	const char	*name;
	int		 no;
} fault_errnos[] = {
	{ "EIO", EIO }, { "ENOSPC", ENOSPC }, { "EINTR", EINTR },
	{ "EAGAIN", EAGAIN }, { "EACCES", EACCES }, { "EROFS", EROFS },
};

struct trigger {
	int		 op;		/* -1: none armed */
	unsigned long	 nth;
	int		 sticky;	/* N+: and every later call */
};

static pthread_once_t	 fault_once = PTHREAD_ONCE_INIT;
static struct trigger	 fault_t = { -1, 0, 0 };
static int		 fault_errno;
static struct trigger	 pause_t = { -1, 0, 0 };
static const char	*pause_path;
static unsigned long	 fault_calls[FOP_ANY + 1];
static unsigned long	 fault_fired;
static const char	*fault_count_path;
static int		 writer_answer = -2;

static void
fault_report(void)
{
	FILE *fp;
	int i;

	if ((fp = fopen(fault_count_path, "w")) == NULL)
		return;
	for (i = 0; i <= FOP_ANY; i++)
		fprintf(fp, "%s %lu\n", fault_ops[i],
		    __atomic_load_n(&fault_calls[i], __ATOMIC_SEQ_CST));
	fprintf(fp, "fired %lu\n",
	    __atomic_load_n(&fault_fired, __ATOMIC_SEQ_CST));
	(void)fclose(fp);
}

/* "OP:N[+]:REST" into *t and rest. */
static void
parse_trigger(const char *var, const char *spec, struct trigger *t,
    char *rest, size_t restsz)
{
	const char *c1, *c2, *errstr;
	char n[32];
	size_t i, oplen, nlen;

	if ((c1 = strchr(spec, ':')) == NULL ||
	    (c2 = strchr(c1 + 1, ':')) == NULL ||
	    (nlen = (size_t)(c2 - c1 - 1)) == 0 || nlen >= sizeof(n) ||
	    strlcpy(rest, c2 + 1, restsz) >= restsz || *rest == '\0')
		fatalx("%s \"%s\": not OP:N:...", var, log_esc(spec));
	oplen = (size_t)(c1 - spec);
	for (i = 0; i <= FOP_ANY; i++)
		if (strlen(fault_ops[i]) == oplen &&
		    memcmp(spec, fault_ops[i], oplen) == 0)
			t->op = (int)i;
	memcpy(n, c1 + 1, nlen);
	n[nlen] = '\0';
	if (n[nlen - 1] == '+') {
		t->sticky = 1;
		n[nlen - 1] = '\0';
	}
	t->nth = (unsigned long)strtonum(n, 1, LONG_MAX, &errstr);
	if (t->op == -1 || errstr != NULL)
		fatalx("%s \"%s\": unknown operation or count", var,
		    log_esc(spec));
}

static void
fault_init(void)
{
	static char pause_buf[PATH_MAX];
	const char *spec, *w;
	char en[16];
	size_t i;

	fault_count_path = getenv("LETHE_FAULT_COUNT");
	if (fault_count_path != NULL && *fault_count_path != '\0')
		atexit(fault_report);
	if ((spec = getenv("LETHE_FAULT")) != NULL && *spec != '\0') {
		parse_trigger("LETHE_FAULT", spec, &fault_t, en, sizeof(en));
		for (i = 0; i < sizeof(fault_errnos) / sizeof(fault_errnos[0]);
		    i++)
			if (strcmp(en, fault_errnos[i].name) == 0)
				fault_errno = fault_errnos[i].no;
		if (fault_errno == 0)
			fatalx("LETHE_FAULT \"%s\": unknown errno",
			    log_esc(spec));
	}
	if ((spec = getenv("LETHE_PAUSE")) != NULL && *spec != '\0') {
		parse_trigger("LETHE_PAUSE", spec, &pause_t, pause_buf,
		    sizeof(pause_buf));
		pause_path = pause_buf;
	}
	if ((w = getenv("LETHE_FAULT_WRITER")) != NULL) {
		if (strcmp(w, "yes") == 0)
			writer_answer = 1;
		else if (strcmp(w, "no") == 0)
			writer_answer = 0;
		else if (strcmp(w, "unknown") == 0)
			writer_answer = -1;
		else
			fatalx("LETHE_FAULT_WRITER: yes, no or unknown");
	}
}

static int
triggered(const struct trigger *t, int op, unsigned long k,
    unsigned long all)
{
	if (t->op == -1)
		return 0;
	if (t->op == FOP_ANY)
		k = all;
	else if (t->op != op)
		return 0;
	return k == t->nth || (t->sticky && k > t->nth);
}

/* Create pause_path and wait, a millisecond at a time, for its removal. */
static void
pause_here(int op, unsigned long k)
{
	struct timespec ms = { 0, 1000000 };
	char text[64];
	long i;
	int fd, n;

	fd = open(pause_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1)
		fatal("LETHE_PAUSE: create \"%s\"", log_esc(pause_path));
	n = snprintf(text, sizeof(text), "%s %lu\n", fault_ops[op], k);
	if (write(fd, text, (size_t)n) != n || close(fd) == -1)
		fatal("LETHE_PAUSE: write \"%s\"", log_esc(pause_path));
	log_warnx("pause seam: waiting before %s call %lu", fault_ops[op], k);
	for (i = 0; i < PAUSE_LIMIT * 1000L; i++) {
		if (access(pause_path, F_OK) == -1 && errno == ENOENT)
			return;
		nanosleep(&ms, NULL);
	}
	fatalx("LETHE_PAUSE: \"%s\" was not removed in %d s",
	    log_esc(pause_path), PAUSE_LIMIT);
}

int
fault_hit(int op)
{
	unsigned long k, all;
	int saved = errno;

	(void)pthread_once(&fault_once, fault_init);
	k = __atomic_add_fetch(&fault_calls[op], 1, __ATOMIC_SEQ_CST);
	all = __atomic_add_fetch(&fault_calls[FOP_ANY], 1, __ATOMIC_SEQ_CST);
	if (triggered(&pause_t, op, k, all))
		pause_here(op, pause_t.op == FOP_ANY ? all : k);
	errno = saved;
	if (!triggered(&fault_t, op, k, all))
		return 0;
	if (__atomic_add_fetch(&fault_fired, 1, __ATOMIC_SEQ_CST) == 1)
		log_warnx("fault seam: %s call %lu fails with %s",
		    fault_ops[op], fault_t.op == FOP_ANY ? all : k,
		    strerror(fault_errno));
	errno = fault_errno;
	return 1;
}

int
fault_writer(void)
{
	(void)pthread_once(&fault_once, fault_init);
	return writer_answer;
}

#endif /* LETHE_FAULT_SEAM */
