/*
 * lethe hold: put an address (or network) on an incident hold until a
 * date, list the holds, release one.  The holds themselves (where they
 * are kept, how they act on masking) are holds.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lethe.h"

static int
hold_list(int hdfd, int64_t now)
{
	struct request **rq;
	char a[32], b[32];
	size_t i, n;

	(void)request_load_all(hdfd, &rq, &n);
	if (n == 0)
		printf("no holds\n");
	for (i = 0; i < n; i++) {
		printf("%s: %zu %s held (request %s) from %s until %s%s, set %s"
		    ", reason: %s\n", rq[i]->id, rq[i]->nnets,
		    rq[i]->nnets == 1 ? "address" : "addresses", rq[i]->hash,
		    iso_time(rq[i]->time, a, sizeof(a)),
		    iso_time(rq[i]->until, b, sizeof(b)),
		    rq[i]->until <= now ? " (ended)" : "",
		    rq[i]->set != NULL ? log_esc(rq[i]->set) : "(every set)",
		    rq[i]->reason != NULL ? log_esc(rq[i]->reason) : "-");
		request_free(rq[i]);
	}
	free(rq);
	return 0;
}

/* Release holds by id, or every hold of an address (with reason: only
   those made for it, as fail2ban's unban of its own ban): until = now. */
static int
hold_release(int hdfd, const char *what, const char *reason, int64_t now)
{
	struct request **rq;
	struct addr_net net;
	size_t i, j, n, done = 0;
	int byaddr = addr_net_parse(what, &net) == 0;

	(void)request_load_all(hdfd, &rq, &n);
	for (i = 0; i < n; i++) {
		if (byaddr) {
			for (j = 0; j < rq[i]->nnets; j++)
				if (memcmp(&rq[i]->nets[j], &net,
				    sizeof(net)) == 0)
					break;
			if (j == rq[i]->nnets)
				continue;
		} else if (strcmp(rq[i]->id, what) != 0)
			continue;
		if (reason != NULL && (rq[i]->reason == NULL ||
		    strcmp(rq[i]->reason, reason) != 0))
			continue;
		if (rq[i]->until > now) {
			rq[i]->until = now;
			if (request_save(hdfd, rq[i]) == -1) {
				log_warn("release hold %s", rq[i]->id);
				continue;
			}
		}
		printf("hold %s released (request %s): its lines are masked "
		    "as their age says\n", rq[i]->id, rq[i]->hash);
		done++;
	}
	for (i = 0; i < n; i++)
		request_free(rq[i]);
	free(rq);
	if (done == 0) {
		/* An address given is not echoed. */
		log_warnx("no hold %s", byaddr ? "of that address" :
		    log_esc(what));
		return 1;
	}
	return 0;
}

/* --until: a time, or +DURATION from --now. */
static int
until_time(const char *s, int64_t now, int64_t *t)
{
	int64_t d;

	if (s[0] == '+' && config_parse_duration(s + 1, &d) == 0) {
		*t = now + d;
		return 0;
	}
	return format_parse_time(s, strlen(s), t);
}

int
cmd_hold(const struct cmd_opts *o)
{
	struct config *conf;
	struct addr_net *nets;
	struct request *r;
	uint8_t key[REQUEST_KEY_LEN];
	char hash[REQUEST_HASH_LEN + 1], when[32];
	const char *why;
	int64_t until, max = INT64_MAX;
	size_t i, n;
	int sdfd, hdfd, rc = 0;

	if ((conf = load_config(o->conf, 1)) == NULL)
		return 2;
	if ((sdfd = store_open(conf, &why)) == -1 ||
	    (hdfd = request_dir(sdfd, HOLD_DIR, &why)) == -1) {
		log_warnx("state_dir \"%s\": %s", log_esc(conf->state_dir), why);
		return 2;
	}
	if (o->list) {
		rc = hold_list(hdfd, o->now);
		goto out;
	}
	if (o->release != NULL) {
		rc = hold_release(hdfd, o->release, o->reason, o->now);
		holds_wake_daemon(sdfd);
		goto out;
	}
	rc = 2;
	if (o->until_arg == NULL || o->reason == NULL) {
		log_warnx("hold needs --until DATE and --reason TEXT");
		goto out;
	}
	if (until_time(o->until_arg, o->now, &until) == -1 ||
	    until <= o->now) {
		log_warnx("--until \"%s\": not a time after now",
		    log_esc(o->until_arg));
		goto out;
	}
	for (i = 0; i < conf->nsets; i++)
		if ((o->set == NULL || strcmp(conf->sets[i].name, o->set) ==
		    0) && conf->sets[i].hold_max < max)
			max = conf->sets[i].hold_max;
	if (max == INT64_MAX) {
		log_warnx("--set %s: no such set", log_esc(o->set));
		goto out;
	}
	/* Against the real clock too: --now does not stretch the limit. */
	if (until - o->now > max || until - (int64_t)time(NULL) > max) {
		log_warnx("--until is more than hold_max (%llds) away: a hold "
		    "keeps full addresses, so it has a limit", (long long)max);
		goto out;
	}
	for (i = 0; i < conf->nsets; i++)
		if ((o->set == NULL || strcmp(conf->sets[i].name, o->set) ==
		    0) && until - o->now <= conf->sets[i].mask_early) {
			/* Masked by until, so that much before it by once. */
			log_warnx("[%s]: the hold ends within mask_early (%llds): "
			    "lethe once masks its lines mask_early before a hold "
			    "ends, so only the daemon keeps them for a while",
			    log_esc(conf->sets[i].name),
			    (long long)conf->sets[i].mask_early);
			break;
		}
	if (request_args(o->args, o->nargs, &nets, &n) == -1)
		goto out;
	if ((why = holds_too_wide(conf, o->set, nets, n)) != NULL) {
		log_warnx("%s", why);
		free(nets);
		goto out;
	}
	if (request_key(sdfd, key, &why) == -1) {
		log_warnx("state_dir \"%s\": %s", log_esc(conf->state_dir), why);
		goto out;
	}
	request_hash(key, nets, n, hash);
	explicit_bzero(key, sizeof(key));
	r = request_new(o->reason, o->set, nets, n, hash, o->now);
	r->until = until;
	explicit_bzero(nets, n * sizeof(*nets));
	free(nets);
	if (request_save(hdfd, r) == -1)
		log_warn("save the hold");
	else {
		printf("hold %s: %zu %s held (request %s) until %s\n", r->id, n,
		    n == 1 ? "address" : "addresses", r->hash,
		    iso_time(until, when, sizeof(when)));
		holds_wake_daemon(sdfd);
		rc = 0;
	}
	request_free(r);
out:
	fsio_close(hdfd);
	fsio_close(sdfd);
	config_free(conf);
	return rc;
}
