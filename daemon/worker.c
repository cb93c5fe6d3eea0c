/*
 * One worker thread for the long jobs (scan, mask, compress of a whole
 * file), so that the event loop never blocks on them.  The loop hands over
 * one job at a time; the worker reports back through a pipe that the loop
 * watches.  Each job compiles its own format: PCRE2 match data is not
 * shared across threads.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "lethe.h"

static pthread_t	 worker_thread;
static pthread_mutex_t	 worker_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 worker_cv = PTHREAD_COND_INITIALIZER;
static struct job	*worker_todo;	/* handed over, not yet taken */
static struct job	*worker_current; /* owned by the loop until done */
static int		 worker_quit;
static volatile int	 worker_cancel_flag;
static int		 worker_pipe[2] = { -1, -1 };
static struct event	*worker_ev;
static void		(*worker_done)(struct job *, void *);
static void		*worker_arg;
static int		 worker_running;

static void
job_run(struct job *j)
{
	struct stat st;
	const char *err = NULL;
	int fd;

	j->opts.format = format_new(j->fkind, j->regex, j->fields, j->nfields,
	    &err);
	if (j->opts.format == NULL) {
		j->rc = -1;
		j->err = xstrdup(err);
		return;
	}
	j->opts.cancel = &worker_cancel_flag;
	if (j->kind == JOB_SCAN) {
		fd = fsio_openat_file(j->dfd, j->name, &st, &err);
		if (fd == -1)
			j->rc = -1;
		else {
			j->rc = rewrite_scan(fd, &j->opts, &j->stats, &err);
			j->after = st;
			fsio_close(fd);
		}
	} else {
		j->rc = rewrite_file(j->dfd, j->name, j->newname, &j->expect,
		    &j->opts, &j->stats, &err);
		if (j->rc == 0 && fstatat(j->dfd, j->newname ? j->newname :
		    j->name, &j->after, AT_SYMLINK_NOFOLLOW) == -1)
			memset(&j->after, 0, sizeof(j->after));
	}
	if (j->rc == -1)
		j->err = xstrdup(err != NULL ? err : "failed");
	format_free(j->opts.format);
	j->opts.format = NULL;
}

static void *
worker_main(void *arg)
{
	struct job *j;
	char c = 'j';

	(void)arg;
	pthread_mutex_lock(&worker_mtx);
	for (;;) {
		while (worker_todo == NULL && !worker_quit)
			pthread_cond_wait(&worker_cv, &worker_mtx);
		if (worker_todo == NULL)
			break;
		j = worker_todo;
		worker_todo = NULL;
		pthread_mutex_unlock(&worker_mtx);
		job_run(j);
		while (write(worker_pipe[1], &c, 1) == -1 && errno == EINTR)
			;
		pthread_mutex_lock(&worker_mtx);
	}
	pthread_mutex_unlock(&worker_mtx);
	return NULL;
}

static void
worker_pipe_cb(evutil_socket_t fd, short what, void *arg)
{
	struct job *j;
	char buf[16];

	(void)what;
	(void)arg;
	if (read(fd, buf, sizeof(buf)) <= 0)
		return;
	if ((j = worker_current) == NULL)
		return;
	worker_current = NULL;
	worker_done(j, worker_arg);
}

void
worker_start(struct event_base *base, void (*done)(struct job *, void *),
    void *arg)
{
	if (pipe2(worker_pipe, O_CLOEXEC | O_NONBLOCK) == -1)
		fatal("pipe");
	worker_done = done;
	worker_arg = arg;
	worker_ev = event_new(base, worker_pipe[0], EV_READ | EV_PERSIST,
	    worker_pipe_cb, NULL);
	if (worker_ev == NULL || event_add(worker_ev, NULL) == -1)
		fatalx("worker: event_new");
	if (pthread_create(&worker_thread, NULL, worker_main, NULL) != 0)
		fatalx("worker: pthread_create");
	worker_running = 1;
}

int
worker_busy(void)
{
	return worker_current != NULL;
}

/* Hand j to the worker; the loop owns it again when done is called. */
int
worker_submit(struct job *j)
{
	if (worker_current != NULL)
		return -1;
	worker_current = j;
	worker_cancel_flag = 0;
	pthread_mutex_lock(&worker_mtx);
	worker_todo = j;
	pthread_cond_signal(&worker_cv);
	pthread_mutex_unlock(&worker_mtx);
	return 0;
}

/*
 * Stop: abandon the current job (rewrite_file then removes its temp file
 * and leaves the original as it was), wait for the thread, and report the
 * job as done so the caller can free it.
 */
void
worker_stop(void)
{
	struct job *j;

	if (!worker_running)
		return;
	worker_cancel_flag = 1;
	pthread_mutex_lock(&worker_mtx);
	worker_quit = 1;
	pthread_cond_signal(&worker_cv);
	pthread_mutex_unlock(&worker_mtx);
	pthread_join(worker_thread, NULL);
	worker_running = 0;
	if ((j = worker_current) != NULL) {
		worker_current = NULL;
		worker_done(j, worker_arg);
	}
	event_free(worker_ev);
	close(worker_pipe[0]);
	close(worker_pipe[1]);
}

void
job_free(struct job *j)
{
	size_t i;

	if (j == NULL)
		return;
	if (j->dfd != -1)
		close(j->dfd);
	free(j->name);
	free(j->newname);
	free(j->path);
	free(j->regex);
	for (i = 0; i < j->nfields; i++)
		free(j->fields[i]);
	free(j->fields);
	free(j->err);
	free(j);
}
