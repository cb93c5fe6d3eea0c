/*
 * Incident holds: an address (or network) whose lines keep their full
 * form past the window until a date, for the investigation the security
 * purpose exists for (lethe hold; fail2ban's lethe-hold action).  Each
 * hold is a request file (requests.c) in state_dir/holds with an "until"
 * line.  The commands that mask attach the holds in force to each set
 * (logset->holds); the line engine and the truncation then count and
 * keep them (xform.c's holds_time).
 */
#include <sys/stat.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lethe.h"

struct holds *
holds_attach(int state_dfd, struct config *conf, int64_t now, int prune)
{
	struct holds *hs = xcalloc(conf->nsets + 1, sizeof(*hs));
	struct request **rq = NULL;
	struct logset *set;
	const char *why;
	size_t i, j, k, n = 0;
	int hdfd;

	for (i = 0; i < conf->nsets; i++) {
		hs[i].window = conf->sets[i].window;
		conf->sets[i].holds = &hs[i];
	}
	if (state_dfd == -1)
		return hs;
	if ((hdfd = request_dir(state_dfd, HOLD_DIR, &why)) == -1) {
		log_warnx("holds: %s", why);
		return hs;
	}
	(void)request_load_all(hdfd, &rq, &n);
	for (k = 0; k < n; k++) {
		if (prune && rq[k]->until <= now) {
			/* Ended: its lines count at their own times again. */
			if (fsio_unlinkat(hdfd, rq[k]->id) == 0)
				log_info("hold %s ended at %s", rq[k]->id,
				    daemon_iso(rq[k]->until));
			continue;
		}
		for (i = 0; i < conf->nsets; i++) {
			set = &conf->sets[i];
			if (rq[k]->set != NULL && strcmp(rq[k]->set,
			    set->name) != 0)
				continue;
			hs[i].v = xreallocarray(hs[i].v, hs[i].n +
			    rq[k]->nnets, sizeof(*hs[i].v));
			for (j = 0; j < rq[k]->nnets; j++) {
				hs[i].v[hs[i].n].net = rq[k]->nets[j];
				hs[i].v[hs[i].n++].until = rq[k]->until;
			}
		}
	}
	for (k = 0; k < n; k++)
		request_free(rq[k]);
	free(rq);
	fsio_close(hdfd);
	return hs;
}

void
holds_free(struct holds *hs, size_t nsets)
{
	size_t i;

	if (hs == NULL)
		return;
	for (i = 0; i < nsets; i++) {
		if (hs[i].v != NULL)
			explicit_bzero(hs[i].v, hs[i].n * sizeof(*hs[i].v));
		free(hs[i].v);
	}
	free(hs);
}

void
holds_copy(struct holds *dst, const struct holds *src)
{
	memset(dst, 0, sizeof(*dst));
	if (src == NULL)
		return;
	dst->window = src->window;
	dst->n = src->n;
	dst->v = xcalloc(src->n + 1, sizeof(*dst->v));
	if (src->n > 0)
		memcpy(dst->v, src->v, src->n * sizeof(*src->v));
}

int64_t
holds_shrunk(const struct holds *old, const struct holds *new)
{
	int64_t latest = TIME_NONE, u;
	size_t i, j;

	for (i = 0; old != NULL && i < old->n; i++) {
		u = TIME_NONE;
		for (j = 0; new != NULL && j < new->n; j++)
			if (memcmp(&old->v[i].net, &new->v[j].net,
			    sizeof(old->v[i].net)) == 0 && new->v[j].until > u)
				u = new->v[j].until;
		if (u < old->v[i].until && old->v[i].until > latest)
			latest = old->v[i].until;
	}
	return latest;
}

/* Tell the daemon, when it holds the lock, to look again. */
void
holds_wake_daemon(int state_dfd)
{
	char holder[128];
	long pid;

	if (fsio_lock_holder(state_dfd, holder, sizeof(holder)) != 1 ||
	    strstr(holder, " run") == NULL ||
	    (pid = strtol(holder, NULL, 10)) <= 1)
		return;
	if (kill((pid_t)pid, SIGUSR2) == -1)
		log_warn("wake the daemon (pid %ld)", pid);
}
