/*
 * The forwarded stream: each line of a set's live files (and of what
 * they become when rotated) goes out as one RFC 5424 message, its
 * addresses transformed at once, to the set's receiver (sender.c: RELP,
 * TCP or a unix socket).
 *
 * One thread per set does all of it, so the event loop never waits on a
 * receiver.  Its queue is the files themselves: the thread holds a
 * descriptor of each file it still has to send (a duplicate of the
 * daemon's, so a rename or a compression does not take it away), reads
 * from the last line it sent, and keeps per file the position up to
 * which every message is acknowledged: sent minus sender_unacked().
 * That position is what the catalog saves, so after a kill -9 at most the
 * messages in flight are sent again; after a broken connection the same
 * ones are.  Only one file has messages in flight at a time (the stream
 * is flushed before it moves to another file), so a break rewinds one.
 *
 * Memory stays bounded whatever the receiver does: a chunk of a file
 * read, its lines transformed, one message at a time; a line longer than
 * FWD_MSG_MAX is cut (and counted).  While the receiver is away the
 * thread retries with a backoff capped at FWD_BACKOFF_MAX; the daemon
 * keeps a sealed segment uncompressed until it is forwarded, or until
 * forward_max_lag has passed over its newest line: then what is left of
 * it is dropped, counted and logged.
 *
 * Each message carries [lethe@32473 file="NAME" seq="N"]: NAME the live
 * file's name the lines were written under and a random identity the
 * file got when lethe first followed it ("access.log#1a2b3c4d", so a
 * rotated file and its successor differ), N counting that file's lines
 * from 1, so a receiver can tell a line lost or doubled.
 */
#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "lethe.h"

#define FWD_CHUNK	(64 * 1024)	/* bytes read from a file at once */
#define FWD_MSG_MAX	(64 * 1024)	/* a message's bytes at most */
#define FWD_BACKOFF_MIN	1		/* seconds (real) */
#define FWD_BACKOFF_MAX	30
#define FWD_IDLE_FLUSH	1		/* seconds without lines: flush */
#define FWD_LINES	4096		/* lines of a chunk at most */
#define FWD_ADVANCE	128		/* messages between looks at the acks */
#define FWD_SAVE_MS	20		/* the positions are saved this often, */
#define FWD_SAVE_ACKS	1024		/* ... or after this many acks */
#define FWD_RING	(8192 + 2)	/* message ends remembered: more than
					   sender_unacked can say */

struct fwd_file {
	struct fwd_file	*next;
	int		 tracked;	/* the daemon still knows it */
	int		 fd;
	dev_t		 dev;
	ino_t		 ino;
	uint32_t	 id;
	char		*file;		/* SD-PARAM file */
	/* The thread's; read by the daemon under the lock. */
	uint64_t	 acked_off;	/* every line before is acknowledged */
	uint64_t	 acked_seq;
	int		 sealed;	/* the daemon says it will not grow */
	int		 drop;		/* the daemon gave up on it */
	int		 done;		/* sealed and all acknowledged */
	int		 trunc;		/* the daemon saw it cut short */
	uint64_t	 idle_size;	/* caught up at this size (UINT64_MAX:
					   not) */
	int64_t		 oldest;	/* time of the oldest line not acked */
	/* The thread's alone. */
	uint64_t	 read_off;	/* fed to the engine */
	uint64_t	 sent_off;	/* end of the last line sent */
	uint64_t	 seq;		/* of the last line sent */
	uint64_t	*ring_off;	/* FWD_RING: end of message seq */
	int64_t		*ring_time;	/* ... and its time */
	struct line_engine *eng;
	struct line_stats ls;
	size_t		 lines_at;	/* lines consumed of the engine's */
};

struct forward {
	char		*set;		/* the set's name, for messages */
	const struct logset *ls;	/* its config: format, transform */
	struct format	*format;	/* our own: a format is one thread's */
	struct keyring	*kr;		/* transform = pseudonym */
	int		 pos_fd;	/* state_dir/forward-SET */
	uint64_t	 saved_gen;	/* positions saved ... */
	uint64_t	 gen;		/* ... and changed */
	uint64_t	 saved_acked;
	int64_t		 saved_ms;
	int64_t		 synced_ms;
	int		 pos_failing;
	pthread_t	 th;
	int		 started;
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cv;
	int		 stop;
	int		 kicked;
	int64_t		 now;		/* the daemon's clock */
	struct fwd_file	*files;		/* in the order to send them */
	struct fwd_stats st;

	/* The thread's alone. */
	struct sender	*snd;
	int		 up;
	struct fwd_file	*inflight;	/* the file messages are in flight of */
	int64_t		 retry_at;	/* real seconds */
	int		 backoff;
	struct xform	*xf;		/* the transform, wrapped */
	struct xform	 tap;
	struct xform_truncate xt;
	struct xform	 trunc;
	struct sink	*sink;
	int64_t		*times;		/* of the lines in the sink */
	size_t		 ntimes;
	size_t		 ctimes;
	char		*msg;
	char		*rbuf;		/* FWD_CHUNK read from a file */
	char		 host[256];
	uint64_t	 cut;		/* lines cut at FWD_MSG_MAX */
};

static int64_t
real_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void	save_positions(struct forward *, int);
static void	advance(struct forward *, struct fwd_file *);

/* ---- the transform, with each line's time noted ----------------------- */

static int
tap_line(void *arg, int64_t t)
{
	struct forward *fw = arg;

	return fw->xf->ops->line(fw->xf->arg, t);
}

static int
tap_addr(void *arg, const char *line, const struct span *sp,
    const char *masked, char *out, size_t *outlen, int *full)
{
	struct forward *fw = arg;

	return fw->xf->ops->addr(fw->xf->arg, line, sp, masked, out, outlen,
	    full);
}

static int
tap_end(void *arg, const char *line, size_t len, const struct spans *sp,
    int64_t t, int more)
{
	struct forward *fw = arg;

	(void)line;
	(void)len;
	(void)sp;
	if (more)
		return 0;
	if (fw->ntimes == fw->ctimes) {
		fw->ctimes = fw->ctimes ? fw->ctimes * 2 : 256;
		fw->times = xreallocarray(fw->times, fw->ctimes,
		    sizeof(*fw->times));
	}
	fw->times[fw->ntimes++] = t;
	return 0;
}

static const struct xform_ops tap_ops = {
	"forward", tap_line, tap_addr, tap_end,
};

/* ---- files ------------------------------------------------------------------ */

static void
engine_at(struct forward *fw, struct fwd_file *ff, uint64_t off)
{
	struct line_opts lo;

	line_free(ff->eng);
	memset(&lo, 0, sizeof(lo));
	lo.format = fw->format;
	lo.xform = &fw->tap;
	lo.sink = fw->sink;
	lo.now = TIME_NONE;
	lo.start_time = TIME_NONE;
	lo.audit_before = TIME_NONE;
	line_stats_init(&ff->ls);
	ff->eng = line_new(&lo, &ff->ls);
	ff->read_off = ff->sent_off = off;
	sink_mem_reset(fw->sink);
}

static void
file_free(struct fwd_file *ff)
{
	line_free(ff->eng);
	if (ff->fd != -1)
		fsio_close(ff->fd);
	free(ff->ring_off);
	free(ff->ring_time);
	free(ff->file);
	free(ff);
}

/* ---- the thread ------------------------------------------------------------- */

static void
say_down(struct forward *fw, const char *err)
{
	if (fw->backoff == 0 || fw->backoff >= FWD_BACKOFF_MAX)
		log_warnx("[%s]: forward to %s: %s; retrying", fw->set,
		    sender_name(fw->snd), err);
	fw->backoff = fw->backoff == 0 ? FWD_BACKOFF_MIN :
	    fw->backoff * 2 > FWD_BACKOFF_MAX ? FWD_BACKOFF_MAX :
	    fw->backoff * 2;
	fw->retry_at = real_now() + fw->backoff;
}

/*
 * A broken connection: the messages that may be lost go again, and so
 * do the lines read but not sent of cur, the file being sent (it is the
 * one in flight, or none is: a first message failed).
 */
static void
broken(struct forward *fw, struct fwd_file *cur, const char *err)
{
	struct fwd_file *ff = fw->inflight != NULL ? fw->inflight : cur;
	unsigned u = fw->inflight != NULL ? sender_unacked(fw->snd) : 0;

	sender_close(fw->snd);
	fw->up = 0;
	pthread_mutex_lock(&fw->mtx);
	fw->st.breaks++;
	fw->st.connected = 0;
	if (ff != NULL) {
		if (u > ff->seq - ff->acked_seq)
			u = (unsigned)(ff->seq - ff->acked_seq);
		fw->st.resent += u;
		ff->seq -= u;
		ff->sent_off = ff->ring_off[ff->seq % FWD_RING];
		if (ff->seq == ff->acked_seq)
			ff->sent_off = ff->acked_off;
	}
	pthread_mutex_unlock(&fw->mtx);
	if (ff != NULL)
		engine_at(fw, ff, ff->sent_off);
	fw->inflight = NULL;
	say_down(fw, err);
}

static int
connect_now(struct forward *fw)
{
	const char *err;

	if (fw->up)
		return 0;
	if (real_now() < fw->retry_at)
		return -1;
	if (sender_connect(fw->snd, &err) == -1) {
		sender_close(fw->snd);
		say_down(fw, err);
		return -1;
	}
	if (fw->backoff != 0)
		log_info("[%s]: forwarding to %s again", fw->set,
		    sender_name(fw->snd));
	else
		log_info("[%s]: forwarding to %s", fw->set,
		    sender_name(fw->snd));
	fw->up = 1;
	fw->backoff = 0;
	pthread_mutex_lock(&fw->mtx);
	fw->st.connected = 1;
	fw->st.connects++;
	pthread_mutex_unlock(&fw->mtx);
	return 0;
}

/* Every message sent is acknowledged: the positions are exact. */
static int
flush(struct forward *fw)
{
	struct fwd_file *ff = fw->inflight;
	const char *err;

	if (!fw->up || ff == NULL)
		return 0;
	if (sender_flush(fw->snd, &err) == -1) {
		broken(fw, NULL, err);
		return -1;
	}
	/* RELP: all of it; tcp and unix: what the receiver took. */
	advance(fw, ff);
	if (ff->acked_seq != ff->seq)
		return -1;	/* still in flight: flushed again later */
	pthread_mutex_lock(&fw->mtx);
	ff->acked_off = ff->sent_off;	/* past empty lines too */
	ff->oldest = TIME_NONE;
	fw->gen++;
	pthread_mutex_unlock(&fw->mtx);
	fw->inflight = NULL;
	return 0;
}

#define RING(ff, s)	((void)(ff), (s) % FWD_RING)

/* After a send: what sender_unacked leaves out is acknowledged. */
static void
advance(struct forward *fw, struct fwd_file *ff)
{
	unsigned u = sender_unacked(fw->snd);
	uint64_t a;

	if (u > ff->seq - ff->acked_seq)
		u = (unsigned)(ff->seq - ff->acked_seq);
	a = ff->seq - u;
	if (a == ff->acked_seq)
		return;
	pthread_mutex_lock(&fw->mtx);
	fw->st.acked += a - ff->acked_seq;
	fw->gen++;
	ff->acked_seq = a;
	ff->acked_off = ff->ring_off[RING(ff, a)];
	ff->oldest = a < ff->seq ? ff->ring_time[RING(ff, a + 1)] : TIME_NONE;
	pthread_mutex_unlock(&fw->mtx);
}

/*
 * Send the lines in the sink, p[0..len): the k-th ends in the source at
 * ends[k].  An empty line is not sent (nothing to say; the engine gives
 * it no time either) but is passed over.  Returns the lines gone through,
 * or -1 when the connection broke.
 */
static int
send_lines(struct forward *fw, struct fwd_file *ff, const char *p,
    size_t len, const uint64_t *ends, size_t n, int64_t now)
{
	struct syslog_rec r;
	const char *q, *err;
	size_t i, j = 0, mlen, llen, since = 0;

	for (i = 0; i < n && len > 0; i++) {
		q = memchr(p, '\n', len);
		llen = q != NULL ? (size_t)(q - p) : len;
		if (llen == 0 || (llen == 1 && p[0] == '\r')) {
			ff->sent_off = ends[i];
			goto next;
		}
		syslog_rec_init(&r);
		r.sec = j < fw->ntimes && fw->times[j] != TIME_NONE ?
		    fw->times[j] : now;
		j++;
		r.usec = -1;
		r.hostname = fw->host;
		r.msgid = fw->set;
		r.file = ff->file;
		r.seq = ff->seq + 1;
		r.msg = p;
		r.msglen = llen > FWD_MSG_MAX ? FWD_MSG_MAX : llen;
		mlen = syslog_msg(fw->msg, FWD_MSG_MAX + 1024, &r);
		if (llen > FWD_MSG_MAX || mlen > FWD_MSG_MAX + 1024) {
			pthread_mutex_lock(&fw->mtx);
			fw->cut++;
			pthread_mutex_unlock(&fw->mtx);
		}
		if (mlen > FWD_MSG_MAX + 1024)
			mlen = FWD_MSG_MAX + 1024;
		if (sender_send(fw->snd, fw->msg, mlen, &err) == -1) {
			broken(fw, ff, err);
			return -1;
		}
		fw->inflight = ff;
		ff->seq++;
		ff->sent_off = ends[i];
		ff->ring_off[RING(ff, ff->seq)] = ends[i];
		ff->ring_time[RING(ff, ff->seq)] = r.sec;
		pthread_mutex_lock(&fw->mtx);
		fw->st.sent++;
		if (ff->oldest == TIME_NONE)
			ff->oldest = r.sec;
		pthread_mutex_unlock(&fw->mtx);
		/* What the receiver has, now and then: it costs a look. */
		if (++since == FWD_ADVANCE) {
			advance(fw, ff);
			save_positions(fw, 0);
			since = 0;
		}
next:
		if (q == NULL) {
			i++;
			break;
		}
		len -= llen + 1;
		p = q + 1;
	}
	if (since > 0) {
		advance(fw, ff);
		save_positions(fw, 0);
	}
	return (int)i;
}

/*
 * Read and send a chunk of ff.  Returns 1 when it sent something, 0 when
 * ff has nothing more now, -1 when the connection broke.
 */
static int
step(struct forward *fw, struct fwd_file *ff, int64_t now, int sealed)
{
	char *buf = fw->rbuf;
	uint64_t ends[FWD_LINES];
	struct stat st;
	const char *out, *p;
	size_t n_ends = 0, olen, want;
	ssize_t n;
	int fin = 0, r;

	if (fsio_fstat(ff->fd, &st) == -1)
		return 0;
	if (ff->trunc || (uint64_t)st.st_size < ff->read_off) {
		/*
		 * Cut short by someone (copytruncate): what follows is new.
		 * What is in flight goes first, so that no break rewinds
		 * into the old content.
		 */
		if (fw->inflight == ff && flush(fw) == -1)
			return -1;
		log_warnx("[%s]: forward: \"%s\" was truncated; sending what "
		    "follows from its start", fw->set, ff->file);
		pthread_mutex_lock(&fw->mtx);
		ff->trunc = 0;
		ff->acked_off = 0;
		fw->gen++;
		pthread_mutex_unlock(&fw->mtx);
		engine_at(fw, ff, 0);
	}
	if ((uint64_t)st.st_size == ff->read_off) {
		if (!sealed || ff->eng == NULL || ff->sent_off == ff->read_off) {
			pthread_mutex_lock(&fw->mtx);
			ff->idle_size = (uint64_t)st.st_size;
			pthread_mutex_unlock(&fw->mtx);
			return 0;
		}
		fin = 1;	/* its last line, without a newline */
	}
	pthread_mutex_lock(&fw->mtx);
	ff->idle_size = UINT64_MAX;
	pthread_mutex_unlock(&fw->mtx);
	if (ff->eng == NULL)
		engine_at(fw, ff, ff->sent_off);
	fw->ntimes = 0;
	line_set_now(ff->eng, now);
	if (fin) {
		if (line_finish(ff->eng) == -1)
			return 0;
		ends[n_ends++] = ff->read_off;
	} else {
		/* Whole lines only, never more than the ends[] can hold. */
		want = (uint64_t)st.st_size - ff->read_off < FWD_CHUNK ?
		    (size_t)((uint64_t)st.st_size - ff->read_off) : FWD_CHUNK;
		if ((n = fsio_pread(ff->fd, buf, want, (off_t)ff->read_off)) <=
		    0)
			return 0;
		for (p = buf; n_ends < FWD_LINES && (p = memchr(p, '\n',
		    (size_t)(buf + n - p))) != NULL; p++)
			ends[n_ends++] = ff->read_off + (uint64_t)(p - buf) + 1;
		if (n_ends == sizeof(ends) / sizeof(ends[0]))
			n = (ssize_t)(ends[n_ends - 1] - ff->read_off);
		if (line_feed(ff->eng, buf, (size_t)n) == -1)
			return 0;
		ff->read_off += (uint64_t)n;
	}
	/* Whole lines (all of it at the end of a sealed file). */
	sink_mem_take(fw->sink, fin, &out, &olen);
	if (n_ends == 0)
		return ff->read_off < (uint64_t)st.st_size ? 1 : 0;
	if ((r = send_lines(fw, ff, out, olen, ends, n_ends, now)) == -1)
		return -1;
	if ((size_t)r != n_ends || ff->sent_off != ends[n_ends - 1]) {
		/* The engine's lines and the file's disagree: read again. */
		log_warnx("[%s]: forward \"%s\": %d lines out of %zu read; "
		    "reading again from offset %llu", fw->set, ff->file, r,
		    n_ends, (unsigned long long)ff->sent_off);
		engine_at(fw, ff, ff->sent_off);
	}
	return 1;
}

/* What is left of ff from its acknowledged position: lines, dropped. */
static uint64_t
count_rest(struct forward *fw, struct fwd_file *ff)
{
	char *buf = fw->rbuf;
	uint64_t off = ff->acked_off, lines = 0;
	ssize_t n, i;

	while ((n = fsio_pread(ff->fd, buf, FWD_CHUNK, (off_t)off)) > 0) {
		for (i = 0; i < n; i++)
			lines += buf[i] == '\n';
		off += (uint64_t)n;
	}
	if (off > ff->acked_off && (n = fsio_pread(ff->fd, buf, 1,
	    (off_t)off - 1)) == 1 && buf[0] != '\n')
		lines++;
	return lines;
}

/* May ff have lines to send (or to finish), under fw's lock? */
static int
has_more(struct fwd_file *ff)
{
	struct stat st;

	if (ff->sealed || ff->trunc || ff->idle_size == UINT64_MAX)
		return 1;
	return fsio_fstat(ff->fd, &st) == 0 &&
	    (uint64_t)st.st_size != ff->idle_size;
}

/* The next file with something to send, and what the daemon said. */
static struct fwd_file *
next_file(struct forward *fw, int *sealed, int64_t *now)
{
	struct fwd_file *ff, **pp;
	uint64_t lines;

	pthread_mutex_lock(&fw->mtx);
	*now = fw->now;
	for (pp = &fw->files; (ff = *pp) != NULL;) {
		if (ff->drop && !ff->done && ff != fw->inflight) {
			pthread_mutex_unlock(&fw->mtx);
			lines = count_rest(fw, ff);
			pthread_mutex_lock(&fw->mtx);
			fw->st.dropped += lines;
			ff->done = 1;
			log_warnx("[%s]: forward: dropped %llu lines of \"%s\" "
			    "(older than forward_max_lag)", fw->set,
			    (unsigned long long)lines, ff->file);
		}
		if (ff->done && !ff->tracked) {
			*pp = ff->next;
			file_free(ff);
			continue;
		}
		pp = &ff->next;
	}
	/*
	 * The first file with something to send (the one in flight comes
	 * first when it has): a file caught up and not sealed has nothing
	 * until it grows.
	 */
	if ((ff = fw->inflight) != NULL && (ff->done || !has_more(ff)))
		ff = NULL;
	if (ff == NULL)
		for (ff = fw->files; ff != NULL && (ff->done ||
		    !has_more(ff)); ff = ff->next)
			;
	*sealed = ff != NULL ? ff->sealed : 0;
	pthread_mutex_unlock(&fw->mtx);
	return ff;
}

static void
mark_done(struct forward *fw, struct fwd_file *ff)
{
	pthread_mutex_lock(&fw->mtx);
	if (ff->sealed && ff->acked_off == ff->sent_off &&
	    ff->acked_seq == ff->seq) {
		ff->done = 1;
		line_free(ff->eng);
		ff->eng = NULL;
	}
	pthread_mutex_unlock(&fw->mtx);
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The acknowledged positions, far more often than the catalog is saved,
 * so that a kill -9 sends again little more than what was in flight:
 * every FWD_SAVE_MS or FWD_SAVE_ACKS acknowledgements, written in place
 * (one pwrite; a kill cannot tear it) and synced once a second:
 *
 *	lethe-forward 1
 *	f DEV INO ID OFF SEQ		(one line per file)
 *	end CRC32
 *
 * A torn write (a power cut) fails the checksum, and the catalog's older
 * positions stand: more duplicates, never a line lost.
 */
static void
save_positions(struct forward *fw, int force)
{
	const struct fwd_file *ff;
	char *buf = NULL, *nb;
	int64_t ms;
	int n;

	if (fw->pos_fd == -1 || fw->gen == fw->saved_gen)
		return;
	ms = mono_ms();
	if (!force && ms - fw->saved_ms < FWD_SAVE_MS &&
	    fw->st.acked - fw->saved_acked < FWD_SAVE_ACKS)
		return;
	pthread_mutex_lock(&fw->mtx);
	xasprintf(&buf, "lethe-forward 1\n");
	for (ff = fw->files; ff != NULL; ff = ff->next) {
		xasprintf(&nb, "%sf %llu %llu %08x %llu %llu\n", buf,
		    (unsigned long long)ff->dev, (unsigned long long)ff->ino,
		    (unsigned)ff->id, (unsigned long long)ff->acked_off,
		    (unsigned long long)ff->acked_seq);
		free(buf);
		buf = nb;
	}
	fw->saved_gen = fw->gen;
	fw->saved_acked = fw->st.acked;
	pthread_mutex_unlock(&fw->mtx);
	n = xasprintf(&nb, "%send %08lx\n", buf, crc32(0L, (const Bytef *)buf,
	    (uInt)strlen(buf)));
	free(buf);
	if (pwrite(fw->pos_fd, nb, (size_t)n, 0) != n ||
	    ftruncate(fw->pos_fd, n) == -1) {
		if (!fw->pos_failing++)
			log_warn("[%s]: save the forward positions", fw->set);
	} else
		fw->pos_failing = 0;
	if (force || ms - fw->synced_ms >= 1000) {
		(void)fsio_fsync(fw->pos_fd);
		fw->synced_ms = ms;
	}
	fw->saved_ms = ms;
	free(nb);
}

static void *
fwd_main(void *arg)
{
	struct forward *fw = arg;
	struct fwd_file *ff;
	struct timespec ts;
	int64_t now, idle_since = 0, wait_ms;
	sigset_t set;
	int sealed, r;

	sigfillset(&set);
	sigdelset(&set, SENDER_WAKE_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	for (;;) {
		pthread_mutex_lock(&fw->mtx);
		if (fw->stop) {
			pthread_mutex_unlock(&fw->mtx);
			break;
		}
		fw->kicked = 0;
		pthread_mutex_unlock(&fw->mtx);
		ff = next_file(fw, &sealed, &now);
		if (fw->xf != NULL && fw->xf != &fw->trunc)
			xform_pseudonym_set_now(fw->xf, now);
		r = 0;
		if (ff != NULL && connect_now(fw) == 0) {
			/* Moving to another file: what is in flight first. */
			if (fw->inflight != NULL && fw->inflight != ff &&
			    flush(fw) == -1)
				continue;
			r = step(fw, ff, now, sealed);
			if (r == 0 && fw->inflight == ff && sealed &&
			    flush(fw) == 0)
				mark_done(fw, ff);
			else if (r == 0 && fw->inflight == NULL && sealed)
				mark_done(fw, ff);
		}
		save_positions(fw, 0);
		if (r == 1) {
			idle_since = 0;
			continue;
		}
		if (fw->inflight != NULL) {
			if (idle_since == 0)
				idle_since = real_now();
			else if (real_now() - idle_since >= FWD_IDLE_FLUSH)
				(void)flush(fw);
		}
		/*
		 * Asleep until the daemon says lines came (forward_kick), or
		 * what is in flight is to be flushed, or the backoff ends; a
		 * minute at most, as a backstop.
		 */
		wait_ms = 60 * 1000;
		if (fw->inflight != NULL)
			wait_ms = FWD_IDLE_FLUSH * 1000 / 4;
		else if (!fw->up && ff != NULL)
			wait_ms = fw->retry_at > real_now() ?
			    (fw->retry_at - real_now()) * 1000 : 100;
		pthread_mutex_lock(&fw->mtx);
		if (!fw->stop && !fw->kicked) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += wait_ms / 1000;
			ts.tv_nsec += (wait_ms % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&fw->cv, &fw->mtx, &ts);
		}
		pthread_mutex_unlock(&fw->mtx);
	}
	(void)flush(fw);
	save_positions(fw, 1);
	if (fw->up)
		sender_close(fw->snd);
	return NULL;
}

/* ---- the daemon's side ------------------------------------------------------ */

struct forward *
forward_new(const struct logset *ls, int state_dfd, int64_t now)
{
	struct forward *fw = xcalloc(1, sizeof(*fw));
	char name[300];

	fw->set = xstrdup(ls->name);
	fw->ls = ls;
	fw->format = format_clone(ls->format);
	snprintf(name, sizeof(name), "forward-%s", ls->name);
	fw->pos_fd = state_dfd == -1 ? -1 : fsio_openat(state_dfd, name,
	    O_RDWR | O_CREAT | O_NOFOLLOW, 0600);
	if (state_dfd != -1 && fw->pos_fd == -1)
		log_warn("[%s]: open \"%s\"", ls->name, name);
	fw->now = now;
	pthread_mutex_init(&fw->mtx, NULL);
	pthread_cond_init(&fw->cv, NULL);
	fw->snd = sender_new(ls);
	fw->sink = sink_mem_new(FWD_MSG_MAX);
	fw->msg = xmalloc(FWD_MSG_MAX + 1024);
	fw->rbuf = xmalloc(FWD_CHUNK);
	if (gethostname(fw->host, sizeof(fw->host) - 1) == -1)
		strlcpy(fw->host, "-", sizeof(fw->host));
	fw->xt.before = INT64_MAX;
	fw->trunc.ops = &xform_truncate_ops;
	fw->trunc.arg = &fw->xt;
	if (ls->transform == TRANSFORM_PSEUDONYM) {
		fw->kr = keyring_new(state_dfd, ls);
		fw->xf = keyring_xform(fw->kr, ls->pseudonym_prefix, now);
	} else
		fw->xf = &fw->trunc;
	fw->tap.ops = &tap_ops;
	fw->tap.arg = fw;
	if (pthread_create(&fw->th, NULL, fwd_main, fw) != 0)
		fatalx("cannot start the forwarding thread of [%s]", ls->name);
	fw->started = 1;
	return fw;
}

/* Stop the thread: what is in flight is flushed first (bounded). */
static void
forward_join(struct forward *fw)
{
	pthread_mutex_lock(&fw->mtx);
	fw->stop = 1;
	pthread_cond_signal(&fw->cv);
	pthread_mutex_unlock(&fw->mtx);
	if (fw->started)
		pthread_join(fw->th, NULL);
	fw->started = 0;
}

void
forward_free(struct forward *fw)
{
	struct fwd_file *ff;

	if (fw == NULL)
		return;
	forward_join(fw);
	while ((ff = fw->files) != NULL) {
		fw->files = ff->next;
		file_free(ff);
	}
	if (fw->xf != NULL && fw->xf != &fw->trunc)
		xform_pseudonym_free(fw->xf);
	keyring_free(fw->kr);
	sender_free(fw->snd);
	sink_free(fw->sink);
	free(fw->times);
	free(fw->msg);
	free(fw->rbuf);
	free(fw->set);
	if (fw->pos_fd != -1)
		fsio_close(fw->pos_fd);
	format_free(fw->format);
	pthread_mutex_destroy(&fw->mtx);
	pthread_cond_destroy(&fw->cv);
	free(fw);
}

void
forward_set_now(struct forward *fw, int64_t now)
{
	pthread_mutex_lock(&fw->mtx);
	fw->now = now;
	pthread_mutex_unlock(&fw->mtx);
}

void
forward_kick(struct forward *fw)
{
	pthread_mutex_lock(&fw->mtx);
	fw->kicked = 1;
	pthread_cond_signal(&fw->cv);
	pthread_mutex_unlock(&fw->mtx);
}

/*
 * Send fd's file (a duplicate is taken) from off, whose line before has
 * sequence number seq; name: the live name its lines were written under.
 * The file goes after those already queued.
 */
struct fwd_file *
forward_track(struct forward *fw, int fd, const struct stat *st,
    const char *name, uint32_t id, uint64_t off, uint64_t seq)
{
	struct fwd_file *ff = xcalloc(1, sizeof(*ff)), **pp;

	if ((ff->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1) {
		log_warn("[%s]: forward \"%s\"", fw->set, log_esc(name));
		free(ff);
		return NULL;
	}
	ff->tracked = 1;
	ff->idle_size = UINT64_MAX;
	ff->ring_off = xcalloc(FWD_RING, sizeof(*ff->ring_off));
	ff->ring_time = xcalloc(FWD_RING, sizeof(*ff->ring_time));
	ff->dev = st->st_dev;
	ff->ino = st->st_ino;
	ff->id = id;
	xasprintf(&ff->file, "%s#%08x", name, (unsigned)id);
	ff->acked_off = ff->sent_off = ff->read_off = off;
	ff->acked_seq = ff->seq = seq;
	log_debug("[%s]: forward \"%s\" from offset %llu, after line %llu",
	    fw->set, ff->file, (unsigned long long)off,
	    (unsigned long long)seq);
	ff->oldest = TIME_NONE;
	pthread_mutex_lock(&fw->mtx);
	for (pp = &fw->files; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = ff;
	fw->kicked = 1;
	pthread_cond_signal(&fw->cv);
	pthread_mutex_unlock(&fw->mtx);
	return ff;
}

/*
 * The daemon lets go of ff (it is forgotten once done); gone: the file
 * left the catalog (deleted), so it will not grow: send the rest.
 */
void
forward_untrack(struct forward *fw, struct fwd_file *ff, int gone)
{
	pthread_mutex_lock(&fw->mtx);
	ff->tracked = 0;
	if (gone)
		ff->sealed = 1;
	pthread_mutex_unlock(&fw->mtx);
}

/* Set one of ff's flags (its sealed, trunc or drop) and wake the thread. */
static void
tell(struct forward *fw, int *flag)
{
	pthread_mutex_lock(&fw->mtx);
	if (!*flag) {
		*flag = 1;
		fw->kicked = 1;
		pthread_cond_signal(&fw->cv);
	}
	pthread_mutex_unlock(&fw->mtx);
}

void
forward_sealed(struct forward *fw, struct fwd_file *ff)
{
	tell(fw, &ff->sealed);
}

void
forward_truncated(struct forward *fw, struct fwd_file *ff)
{
	tell(fw, &ff->trunc);
}

void
forward_drop(struct forward *fw, struct fwd_file *ff)
{
	tell(fw, &ff->drop);
}

/* Where ff is acknowledged through; 1 when all of it (sealed) is. */
int
forward_position(struct forward *fw, struct fwd_file *ff, uint64_t *off,
    uint64_t *seq)
{
	int done;

	pthread_mutex_lock(&fw->mtx);
	*off = ff->acked_off;
	*seq = ff->acked_seq;
	done = ff->done;
	pthread_mutex_unlock(&fw->mtx);
	return done;
}

void
forward_stats(struct forward *fw, struct fwd_stats *st, int64_t now)
{
	const struct fwd_file *ff;
	int64_t oldest = TIME_NONE;

	pthread_mutex_lock(&fw->mtx);
	*st = fw->st;
	for (ff = fw->files; ff != NULL; ff = ff->next)
		if (!ff->done && ff->oldest != TIME_NONE &&
		    (oldest == TIME_NONE || ff->oldest < oldest))
			oldest = ff->oldest;
	st->cut = fw->cut;
	pthread_mutex_unlock(&fw->mtx);
	st->lag = oldest != TIME_NONE && now > oldest ? now - oldest : 0;
}

/* ---- the daemon's files ------------------------------------------------------ */

void
forward_start_all(struct daemon *d, int64_t now)
{
	size_t i;

	d->fwd = xcalloc(d->conf->nsets + 1, sizeof(*d->fwd));
	for (i = 0; i < d->conf->nsets; i++)
		if (d->conf->sets[i].forward != NULL)
			d->fwd[i] = forward_new(&d->conf->sets[i],
			    d->state_dfd, now);
}

/* Where each file stands, from its set's thread. */
static int
pull(struct mfile *f)
{
	int was = f->fwd_done;

	if (f->fwf != NULL)
		f->fwd_done = forward_position(f->fw, f->fwf, &f->fwd_off,
		    &f->fwd_seq);
	return f->fwd_done && !was;
}

void
forward_stop_all(struct daemon *d)
{
	struct mfile *f;
	size_t i;

	/* The threads first: their positions are exact once they stop. */
	for (i = 0; d->fwd != NULL && i < d->conf->nsets; i++)
		if (d->fwd[i] != NULL)
			forward_join(d->fwd[i]);
	for (i = 0; i < d->cat.nfiles; i++) {
		f = d->cat.files[i];
		if (f->fwf == NULL)
			continue;
		pull(f);
		forward_untrack(f->fw, f->fwf, 0);
		f->fwf = NULL;
		f->fw = NULL;
	}
	for (i = 0; d->fwd != NULL && i < d->conf->nsets; i++) {
		if (d->fwd[i] == NULL)
			continue;
		/* The counters go on in the set's (kept across reloads). */
		forward_metrics(d->fwd[i], &d->rt[i].m, daemon_now(d));
		d->rt[i].m.fwd_lag = d->rt[i].m.fwd_connected = 0;
		forward_free(d->fwd[i]);
	}
	free(d->fwd);
	d->fwd = NULL;
}

static int
same_str(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

/* Would a thread for b send what one for a sends, the same way? */
static int
same_forward(const struct logset *a, const struct logset *b)
{
	return same_str(a->forward, b->forward) &&
	    same_str(a->forward_tls_ca, b->forward_tls_ca) &&
	    same_str(a->forward_tls_cert, b->forward_tls_cert) &&
	    same_str(a->forward_tls_key, b->forward_tls_key) &&
	    a->transform == b->transform &&
	    a->pseudonym_prefix == b->pseudonym_prefix &&
	    a->window == b->window && a->facts_key == b->facts_key;
}

/*
 * A reload (d->conf is still the old config, nc the new one): a set whose
 * forwarding did not change keeps its thread, and nothing waits on its
 * receiver; the others' threads are stopped.  forward_start_missing()
 * starts the new ones once d->conf is nc.
 */
void
forward_reload(struct daemon *d, struct config *nc)
{
	struct forward **nf;
	struct mfile *f;
	size_t i, j;

	if (d->fwd == NULL)
		return;
	nf = xcalloc(nc->nsets + 1, sizeof(*nf));
	for (i = 0; i < d->conf->nsets; i++) {
		if (d->fwd[i] == NULL)
			continue;
		for (j = 0; j < nc->nsets; j++)
			if (strcmp(nc->sets[j].name,
			    d->conf->sets[i].name) == 0)
				break;
		if (j == nc->nsets || nc->sets[j].forward == NULL ||
		    !same_forward(&d->conf->sets[i], &nc->sets[j]))
			continue;
		nf[j] = d->fwd[i];
		d->fwd[i] = NULL;
	}
	/* What is left stops, its files where its thread left them. */
	for (i = 0; i < d->conf->nsets; i++)
		if (d->fwd[i] != NULL)
			forward_join(d->fwd[i]);
	for (i = 0; i < d->cat.nfiles; i++) {
		f = d->cat.files[i];
		if (f->fwf == NULL || d->fwd[f->set - d->conf->sets] == NULL)
			continue;
		pull(f);
		forward_untrack(f->fw, f->fwf, 0);
		f->fwf = NULL;
		f->fw = NULL;
	}
	for (i = 0; i < d->conf->nsets; i++) {
		if (d->fwd[i] == NULL)
			continue;
		forward_metrics(d->fwd[i], &d->rt[i].m, daemon_now(d));
		d->rt[i].m.fwd_lag = d->rt[i].m.fwd_connected = 0;
		forward_free(d->fwd[i]);
	}
	free(d->fwd);
	d->fwd = nf;
}

/* After a reload: threads for the sets that have none yet. */
void
forward_start_missing(struct daemon *d, int64_t now)
{
	size_t i;

	if (d->fwd == NULL)
		forward_start_all(d, now);
	for (i = 0; i < d->conf->nsets; i++)
		if (d->conf->sets[i].forward != NULL && d->fwd[i] == NULL)
			d->fwd[i] = forward_new(&d->conf->sets[i],
			    d->state_dfd, now);
	forward_sync(d, now);
}

/* The live name a file's lines were written under. */
static char *
live_name(const struct mfile *f)
{
	size_t n = f->live ? 0 : names_rotated_base(f->name);

	return n > 0 ? xstrndup(f->name, n) : xstrdup(f->name);
}

static uint32_t
new_id(void)
{
	uint32_t id;

	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != (ssize_t)sizeof(id))
		id = (uint32_t)real_now() ^ (uint32_t)getpid() << 16;
	return id;
}

/*
 * After a rescan, at start and at every tick: each file of a forwarded
 * set is handed to its thread until all of it is acknowledged.  A live
 * file met for the first time is sent from its start; a rotated file
 * lethe never forwarded (it was there before forward was set) is not.
 */
void
forward_sync(struct daemon *d, int64_t now)
{
	struct forward *fw;
	struct mfile *f;
	struct stat st;
	const char *why;
	char *name;
	size_t i;
	int fd;

	if (d->fwd == NULL)
		return;
	for (i = 0; i < d->conf->nsets; i++)
		if (d->fwd[i] != NULL)
			forward_set_now(d->fwd[i], now);
	/* Rotated files first (older lines), then the live ones. */
	for (i = 0; i < 2 * d->cat.nfiles; i++) {
		f = d->cat.files[i % d->cat.nfiles];
		if (f->refused != NULL ||
		    (i < d->cat.nfiles) == (f->state == MF_LIVE))
			continue;
		if (f->fwf != NULL) {
			if (pull(f))
				d->urgent = 1;	/* the catalog says it first */
			if (f->state == MF_SEALED)
				forward_sealed(f->fw, f->fwf);
			continue;
		}
		fw = d->fwd[f->set - d->conf->sets];
		if (fw == NULL || f->fwd_done)
			continue;
		if (!f->fwd) {
			if (f->state != MF_LIVE || f->fd == -1) {
				f->fwd_done = 1;
				continue;
			}
			f->fwd = 1;
			f->fwd_id = new_id();
			f->fwd_off = f->fwd_seq = 0;
			d->urgent = 1;	/* the catalog knows its identity */
		}
		if (f->state == MF_SEALED && f->fwd_off >= (uint64_t)f->st.st_size) {
			f->fwd_done = 1;
			continue;
		}
		fd = f->fd;
		st = f->st;
		if (fd == -1 && (fd = fsio_openat_file(f->dir->fd, f->name, &st,
		    &why)) == -1) {
			log_warnx("[%s]: forward \"%s\": %s", f->set->name,
			    log_esc(f->path), why);
			f->fwd_done = 1;
			continue;
		}
		if (st.st_ino != f->st.st_ino || st.st_dev != f->st.st_dev ||
		    (uint64_t)st.st_size < f->fwd_off) {
			if (fd != f->fd)
				fsio_close(fd);
			continue;	/* not the file we knew: a rescan */
		}
		name = live_name(f);
		f->fwf = forward_track(fw, fd, &st, name, f->fwd_id, f->fwd_off,
		    f->fwd_seq);
		free(name);
		if (fd != f->fd)
			fsio_close(fd);
		if (f->fwf != NULL) {
			f->fw = fw;
			if (f->state == MF_SEALED)
				forward_sealed(fw, f->fwf);
		}
	}
}

/* Lines were appended: the threads may have something to send. */
void
forward_kick_all(struct daemon *d)
{
	size_t i;

	for (i = 0; d->fwd != NULL && i < d->conf->nsets; i++)
		if (d->fwd[i] != NULL)
			forward_kick(d->fwd[i]);
}

/*
 * Is f to stay as it is (uncompressed) for its forwarding?  Past
 * forward_max_lag over its newest line, what is left is dropped.
 */
int
forward_holds_file(struct daemon *d, struct mfile *f, int64_t now)
{
	(void)d;
	if (f->fwf == NULL || f->fwd_done)
		return 0;
	pull(f);
	if (f->fwd_done)
		return 0;
	if (f->tp.ff.last_time != TIME_NONE &&
	    f->tp.ff.last_time + f->set->forward_max_lag <= now) {
		forward_drop(f->fw, f->fwf);
		return 1;	/* until the thread has counted it */
	}
	return 1;
}

void
forward_file_gone(struct mfile *f)
{
	if (f->fwf != NULL)
		forward_untrack(f->fw, f->fwf, 1);
	f->fwf = NULL;
	f->fw = NULL;
}

void
forward_record(struct mfile *f, struct srecord *r)
{
	pull(f);
	r->fwd = f->fwd;
	r->fwd_id = f->fwd_id;
	r->fwd_off = f->fwd_off;
	r->fwd_seq = f->fwd_seq;
	if (r->fwd_off > r->size)
		r->fwd_off = r->size;
}

/* Add the thread's counters to m; set its gauges. */
void
forward_metrics(struct forward *fw, struct set_metrics *m, int64_t now)
{
	struct fwd_stats st;

	forward_stats(fw, &st, now);
	m->fwd_sent += st.sent;
	m->fwd_acked += st.acked;
	m->fwd_resent += st.resent;
	m->fwd_dropped += st.dropped;
	m->fwd_cut += st.cut;
	m->fwd_breaks += st.breaks;
	m->fwd_lag = (uint64_t)st.lag;
	m->fwd_connected = (uint64_t)st.connected;
}

/* Where the "end CRC" line of a positions file starts, when it checks. */
static char *
positions_end(char *buf, size_t len)
{
	char *p, *e;
	unsigned long crc;

	for (p = buf; (e = memchr(p, '\n', (size_t)(buf + len - p))) != NULL;
	    p = e + 1)
		if (strncmp(p, "end ", 4) == 0) {
			crc = strtoul(p + 4, NULL, 16);
			return crc == crc32(0L, (const Bytef *)buf,
			    (uInt)(p - buf)) ? p : NULL;
		}
	return NULL;
}

/*
 * At start: the positions the threads saved after the catalog was (see
 * save_positions) win over the catalog's where they are further on.
 */
void
forward_load_positions(struct daemon *d)
{
	struct mfile *f;
	char name[300], *buf, *p, *nl;
	unsigned long long dev, ino, off, seq;
	unsigned id;
	size_t i, j, len;

	for (i = 0; i < d->conf->nsets; i++) {
		if (d->conf->sets[i].forward == NULL || d->state_dfd == -1)
			continue;
		snprintf(name, sizeof(name), "%s/forward-%s",
		    d->conf->state_dir, d->conf->sets[i].name);
		if (fsio_read_file(name, 1 << 20, &buf, &len) == -1)
			continue;
		if (len < 16 || memcmp(buf, "lethe-forward 1\n", 16) != 0 ||
		    (p = positions_end(buf, len)) == NULL) {
			if (len > 0)
				log_warnx("\"%s\": not a whole forward positions "
				    "file: the catalog's positions stand",
				    log_esc(name));
			free(buf);
			continue;
		}
		len = (size_t)(p - buf);
		for (p = buf + 16; p < buf + len && (nl = memchr(p, '\n',
		    (size_t)(buf + len - p))) != NULL; p = nl + 1) {
			*nl = '\0';
			if (sscanf(p, "f %llu %llu %8x %llu %llu", &dev, &ino,
			    &id, &off, &seq) != 5)
				continue;
			for (j = 0; j < d->cat.nfiles; j++) {
				f = d->cat.files[j];
				if (f->refused != NULL || f->set !=
				    &d->conf->sets[i] ||
				    (uint64_t)f->st.st_dev != dev ||
				    (uint64_t)f->st.st_ino != ino ||
				    off > (uint64_t)f->st.st_size)
					continue;
				/* Its stream (by identity), further on. */
				if (f->fwd && f->fwd_id == id &&
				    seq > f->fwd_seq) {
					f->fwd_off = off;
					f->fwd_seq = seq;
				}
			}
		}
		free(buf);
	}
}
