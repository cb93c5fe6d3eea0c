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

/* Why a hold of net in set would keep more than one person's lines:
   a network wider than the prefix the set masks to. */
static int
net_too_wide(const struct logset *set, const struct addr_net *net)
{
	return net->bits < addr_prefix_bits(&set->prefix, net->v);
}

const char *
holds_too_wide(const struct config *conf, const char *setname,
    const struct addr_net *nets, size_t n)
{
	static char buf[160];
	size_t i, k;

	for (i = 0; i < conf->nsets; i++) {
		if (setname != NULL && strcmp(conf->sets[i].name, setname) != 0)
			continue;
		for (k = 0; k < n; k++)
			if (net_too_wide(&conf->sets[i], &nets[k])) {
				(void)snprintf(buf, sizeof(buf), "argument %zu is "
				    "a network wider than [%s] masks to: a hold "
				    "would keep everyone's addresses in it", k + 1,
				    log_esc(conf->sets[i].name));
				return buf;
			}
	}
	return NULL;
}

/* A hold lethe would not have made: too long, too wide. */
static const char *
hold_refused(const struct request *r, const struct logset *set)
{
	size_t j;

	if (r->until - (int64_t)time(NULL) > set->hold_max)
		return "it ends more than hold_max from now";
	for (j = 0; j < r->nnets; j++)
		if (net_too_wide(set, &r->nets[j]))
			return "a network wider than the set masks to";
	return NULL;
}

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
	/* The lock is held: a temp file is a write a kill interrupted. */
	if (prune && fsio_clean_tmp(hdfd, NULL, NULL) == -1)
		log_warn("clean temp files in state_dir/%s", HOLD_DIR);
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
			if ((why = hold_refused(rq[k], set)) != NULL) {
				log_warnx("hold %s: %s: not in force in [%s]",
				    rq[k]->id, why, log_esc(set->name));
				continue;
			}
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
