/*
 * lethe erase: mask one person's addresses on every line of every
 * managed file now, inside the window too.  The request is saved in
 * state_dir/requests first, so that nothing a crash interrupts is
 * forgotten; then whoever holds the lock carries it out: this command
 * itself when it can take the lock (it then does what `once` does, and
 * every pending request), or the daemon, woken by SIGUSR2, while the
 * command waits for the receipt.  The live file is never rewritten: it
 * is rotated first where its set may rotate; where not, the request
 * stays pending (exit 3) until someone else rotates it.
 * Exit 0: done (the receipt's verifying find saw 0 lines), 3: pending,
 * 2: an error.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lethe.h"

#define POLL_MS		200

/* dfd/name whole into a malloc'd buffer; NULL when it is not there. */
static char *
slurp(int dfd, const char *name, size_t *len)
{
	char *buf;
	ssize_t n;
	size_t cap = 65536;
	int fd;

	if ((fd = fsio_openat(dfd, name, O_RDONLY | O_NOFOLLOW, 0)) == -1)
		return NULL;
	buf = xmalloc(cap + 1);
	*len = 0;
	while ((n = fsio_read(fd, buf + *len, cap - *len)) > 0) {
		*len += (size_t)n;
		if (*len == cap) {
			cap *= 2;
			buf = xreallocarray(buf, cap + 1, 1);
		}
	}
	fsio_close(fd);
	buf[*len] = '\0';
	return buf;
}

/* The receipt, done or pending: 0 done, 3 pending, -1 none yet. */
static int
outcome(int rdfd, const struct request *r, int final, const char *receipt)
{
	char name[sizeof(r->id) + 16], *buf, *p, *q;
	size_t len;
	int rc = 0, fd;

	(void)snprintf(name, sizeof(name), "%s.json", r->id);
	if ((buf = slurp(rdfd, name, &len)) == NULL) {
		(void)snprintf(name, sizeof(name), "%s.pending.json", r->id);
		if ((buf = slurp(rdfd, name, &len)) == NULL)
			return -1;
		/* Pending for a rotation lethe does not make: said now. */
		if (!final && strstr(buf, "\"blocked\": true") == NULL) {
			free(buf);
			return -1;
		}
		rc = 3;
	}
	if (receipt != NULL) {
		fd = open(receipt, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		if (fd == -1 || fsio_write_all(fd, buf, len) == -1 ||
		    fsio_close(fd) == -1)
			log_warn("receipt \"%s\"", log_esc(receipt));
	}
	if (rc == 3) {
		p = strstr(buf, "\"pending\": \"");
		q = p != NULL ? strstr(p + 12, "\", \"") : NULL;
		printf("erase %s: pending (request %s): %.*s\n", r->id,
		    r->hash, p != NULL && q != NULL ? (int)(q - p - 12) : 0,
		    p != NULL ? p + 12 : "");
	} else
		printf("erase %s: done (request %s)\n", r->id, r->hash);
	free(buf);
	return rc;
}

static void
pause_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

int
cmd_erase(const struct cmd_opts *o)
{
	struct config *conf;
	struct addr_net *nets;
	struct request *r;
	uint8_t key[REQUEST_KEY_LEN];
	char hash[REQUEST_HASH_LEN + 1], holder[128];
	const char *why;
	time_t deadline;
	size_t n, i;
	long pid;
	int sdfd, rdfd, rc = 2, woke = 0;

	if ((conf = load_config(o->conf, 1)) == NULL)
		return 2;
	sdfd = rdfd = -1;
	r = NULL;
	if (o->set != NULL) {
		for (i = 0; i < conf->nsets; i++)
			if (strcmp(conf->sets[i].name, o->set) == 0)
				break;
		if (i == conf->nsets) {
			log_warnx("--set %s: no such set", log_esc(o->set));
			goto out;
		}
	}
	if (request_args(o->args, o->nargs, &nets, &n) == -1)
		goto out;
	if ((sdfd = store_open(conf, &why)) == -1 ||
	    request_key(sdfd, key, &why) == -1 ||
	    (rdfd = request_dir(sdfd, REQUEST_DIR, &why)) == -1) {
		log_warnx("state_dir \"%s\": %s", log_esc(conf->state_dir), why);
		free(nets);
		goto out;
	}
	request_hash(key, nets, n, hash);
	explicit_bzero(key, sizeof(key));
	r = request_new(o->reason, o->set, nets, n, hash, o->now);
	explicit_bzero(nets, n * sizeof(*nets));
	free(nets);
	if (request_save(rdfd, r) == -1) {
		log_warn("save the request in \"%s/requests\"",
		    log_esc(conf->state_dir));
		goto out;
	}
	printf("erase %s: request %s saved\n", r->id, r->hash);
	fflush(stdout);
	deadline = time(NULL) + (time_t)o->wait;
	for (;;) {
		switch (fsio_lock(sdfd, "erase", holder, sizeof(holder))) {
		case 0:
			/* Ours to do, with whatever else is due or pending. */
			if (once_run(o, conf, sdfd) != 0)
				log_warnx("erase: some actions failed (see "
				    "above)");
			rc = outcome(rdfd, r, 1, o->receipt);
			if (rc == -1) {
				log_warnx("erase %s: no receipt was written",
				    r->id);
				rc = 2;
			}
			goto out;
		case 1:
			if (!woke && strstr(holder, " run") != NULL &&
			    (pid = strtol(holder, NULL, 10)) > 1) {
				/* The daemon: it looks at its requests now. */
				if (kill((pid_t)pid, SIGUSR2) == -1)
					log_warn("wake the daemon (pid %ld)",
					    pid);
				else
					printf("erase %s: handed to the daemon "
					    "(pid %ld); waiting up to %llds\n",
					    r->id, pid, (long long)o->wait);
				fflush(stdout);
				woke = 1;
			}
			break;
		default:
			log_warn("lock in \"%s\"", log_esc(conf->state_dir));
			goto out;
		}
		if ((rc = outcome(rdfd, r, 0, o->receipt)) != -1)
			goto out;
		if (time(NULL) >= deadline) {
			rc = outcome(rdfd, r, 1, o->receipt);
			if (rc == -1) {
				printf("erase %s: pending (request %s): not "
				    "finished within %llds; lethe finishes it "
				    "(the daemon, or the next once)\n", r->id,
				    r->hash, (long long)o->wait);
				rc = 3;
			}
			goto out;
		}
		pause_ms(POLL_MS);
	}
out:
	request_free(r);
	if (rdfd != -1)
		fsio_close(rdfd);
	if (sdfd != -1)
		fsio_close(sdfd);
	config_free(conf);
	return rc;
}
