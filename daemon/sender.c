/*
 * The forwarded stream's transport: one connection to the set's receiver,
 * used from one thread, every call bounded in time (SENDER_TIMEOUT per
 * connect, per wait, per write).
 *
 * relp:// goes through librelp.  What librelp (1.11, as Debian 12 ships
 * it) lets a client know about acknowledgements, read from its source:
 *
 * - There is no call that tells which frames, or how many, are
 *   acknowledged: the list of unacknowledged frames (lenUnackedLst) is
 *   inside relpSess_t (relpsess.h) and librelp.h exposes no getter and no
 *   callback for a response.
 * - relpCltSendSyslog -> relpSessSendSyslog -> relpSessSendCommand
 *   (relpsess.c) first calls relpSessWaitState(READY_TO_SEND): it reads
 *   what responses have arrived, and waits (up to the session timeout)
 *   while the window is full (relpSessAddUnacked sets WINDOW_FULL at
 *   lenUnackedLst >= sizeWindow, relpSessDelUnacked clears it).  Only then
 *   is the frame sent and added to the list (relpSendbufSendAll with
 *   bAddToUnacked, sendbuf.c, after the whole frame is written).  So when
 *   relpCltSendSyslog returns OK, at most sizeWindow frames, counting this
 *   one, are unacknowledged.  RELP's spec (doc/relp.html) has the server
 *   answer in the order of the commands, so those are the latest ones:
 *   every message before the last sizeWindow is acknowledged.
 * - relpCltSetWindowSize: relpSessSetWindowSize takes only values > 1; 0
 *   keeps the default, RELP_DFLT_WINDOW_SIZE, 128 (relp.h).
 * - A frame the server answers with an error ("500 ...") is taken off the
 *   list all the same (relpSCRsp, scrsp.c) and the call returns
 *   RELP_RET_RSP_STATE_ERR without marking the session broken.
 * - relpCltReconnect (relpSessTryReestablish) reconnects the same session
 *   and sends every unacknowledged frame again with new txnrs; it asserts
 *   that the session is BROKEN, which it is not after every error (the
 *   500 answer above, an error code other than a timeout or a broken
 *   session in relpSessWaitState).  A fresh client starts with an empty
 *   list: relpSessDestruct frees the old one unsent.  lethe never
 *   reconnects a client: on any error it destroys it, and the caller sends
 *   the possibly lost messages again (sender_unacked), so one rule holds
 *   for every transport and for a restart after kill -9 alike.
 * - The only place librelp waits for every response is the close:
 *   relpEngineCltDestruct -> relpSessDestruct -> relpSessCltDoDisconnect
 *   sends "close" and waits for its response (relpSessWaitState
 *   CLOSE_RSP_RCVD); responses come in order, so that one comes last.  Its
 *   result is dropped (relpSessDestruct ignores it); what went wrong
 *   reaches the onErr callback (relpEngineSetOnErr): a timeout or broken
 *   session in relpSessWaitState, a write error in relpTcpSend and
 *   relpSessRawSendCommand, an error response.  sender_flush is that close,
 *   and succeeds when onErr saw nothing.  One case reaches no callback: a
 *   "serverclose" hint (relpCCServerclose, cserverclose.c) returns
 *   RELP_RET_SESSION_CLOSED, which relpSessWaitState passes up silently;
 *   a receiver that begins to shut down after the close was sent and
 *   before it answered can have dropped the last frames unseen.
 * - Timeouts: relpCltSetTimeout (seconds) bounds each relpSessWaitState
 *   and each relpSendbufSendAll; relpCltSetConnTimeout the connect's poll
 *   (relpTcpConnect).  The name lookup is getaddrinfo's (resolv.conf's
 *   timeout and attempts), and with TLS relpTcpConnectTLSInit_gtls runs
 *   gnutls_handshake on a blocking socket with no timeout of its own.
 * - relpTcpSend calls send() without MSG_NOSIGNAL: SIGPIPE is held off
 *   around every librelp call (relp_hold) unless the process ignores it.
 * - Other things to know: relpEngineConstruct leaves dbgprint NULL and
 *   the engine calls it unchecked (set it, NULL gives a no-op);
 *   relpTcpConnect tries only the first address getaddrinfo returns
 *   (relp_connect hands it each address in turn, numeric);
 *   relpTcpDestruct closes the socket before gnutls_bye sends the
 *   close_notify, to the descriptor number that may by then be another
 *   thread's socket (24 bytes; GnuTLS writes with sendmsg, so a file
 *   that reuses the number gets ENOTSOCK).  Memory: relpSessRawSendCommand
 *   leaks the frame it could not write at each broken session;
 *   relpCltDestruct and relpSessFreePermittedPeers leak the permitted
 *   peers' array (16 bytes per TLS connection); relpTcpDestructTLS frees
 *   the GnuTLS state only after a good handshake (about 52 KB per failed
 *   TLS connect, measured).  librelp 1.13 fixed the order of the close
 *   (396f43f) and the last two leaks (d957aaf).
 *
 * So sender_unacked is, for relp, the messages sent since the connect (or
 * the last flush), at most SENDER_RELP_WINDOW.
 *
 * tcp:// and unix: are stream sockets with RFC 6587 octet counting ("LEN
 * SP MSG", 3.4.1): non-blocking, connect and every write polled against a
 * deadline, MSG_NOSIGNAL.  Messages gather in a buffer written out when
 * it fills and at sender_flush.  Nothing acknowledges a message, so what
 * the kernel knows stands in: SIOCOUTQ is, on a TCP socket, the bytes the
 * peer's TCP has not acknowledged; on a unix stream socket, the bytes the
 * receiver has not read yet.  sender_unacked counts the messages not yet
 * wholly past that point (a ring of message ends; older ones are counted
 * conservatively).  A TCP receiver that stops with bytes acknowledged but
 * unread loses them unseen (TCP cannot tell): RELP exists for that.  A
 * sample of SIOCOUTQ taken after the receiver went away is not trusted (a
 * unix socket's closing peer drops its queue, so the count falls to 0):
 * each sample is followed by a poll for the peer's hangup.
 */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librelp.h>

#include "lethe.h"

#define STREAM_BUF	(64 * 1024)	/* messages gathered before a write */
#define STREAM_SNDBUF	(256 * 1024)	/* SO_SNDBUF: bytes the kernel holds */
#define STREAM_RING	8192		/* message ends remembered */
#define STREAM_MINMSG	3		/* "1 x": the shortest framed message */
#define DRAIN_MS	250		/* flush: waiting for the peer to read */
#define ERR_MAX		256

struct sender {
	enum forward_kind kind;
	char		*name;
	char		*host;		/* relp, tcp */
	char		*port;
	char		*path;		/* unix */
	char		*tls_ca;	/* relp: TLS when any is set */
	char		*tls_cert;
	char		*tls_key;
	int		 connected;	/* a session or socket is open */
	int		 reopen;	/* relp, flushed: a new session at the
					   next send */
	int		 broken;	/* since the last connect */
	unsigned	 sent;		/* messages since connect (or flush) */
	unsigned	 frozen;	/* sender_unacked at the break */
	char		 err[ERR_MAX];

	/* relp */
	relpEngine_t	*engine;
	relpClt_t	*clt;
	unsigned	 relp_errors;	/* onErr calls since it was zeroed */
	int		 pipe_ignored;	/* SIGPIPE is SIG_IGN */
	char		 relp_err[ERR_MAX];

	/* tcp, unix */
	int		 fd;
	char		*buf;
	size_t		 len;		/* bytes in buf */
	uint64_t	 queued;	/* bytes taken by sender_send */
	uint64_t	 written;	/* bytes handed to the kernel */
	uint64_t	 floor;		/* bytes known taken by the peer */
	uint64_t	*ends;		/* ring: the end of each message */
	size_t		 head;		/* next slot */
	size_t		 nends;
	uint64_t	 lost_end;	/* end of the newest message that left
					   the ring */
};

static int	set_err(struct sender *, const char **, const char *, ...)
		    PRINTFLIKE(3, 4);

static int
set_err(struct sender *s, const char **err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	if (err != NULL)
		*err = s->err;
	return -1;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
left_ms(int64_t deadline)
{
	int64_t d = deadline - mono_ms();

	return d < 0 ? 0 : (int)d;
}

struct sender *
sender_new(const struct logset *ls)
{
	struct sender *s = xcalloc(1, sizeof(*s));

	s->kind = ls->forward_kind;
	s->fd = -1;
	s->name = xstrdup(ls->forward != NULL ? ls->forward : "-");
	if (ls->forward_host != NULL)
		s->host = xstrdup(ls->forward_host);
	if (ls->forward_port != NULL)
		s->port = xstrdup(ls->forward_port);
	if (ls->forward_path != NULL)
		s->path = xstrdup(ls->forward_path);
	if (ls->forward_tls_ca != NULL)
		s->tls_ca = xstrdup(ls->forward_tls_ca);
	if (ls->forward_tls_cert != NULL)
		s->tls_cert = xstrdup(ls->forward_tls_cert);
	if (ls->forward_tls_key != NULL)
		s->tls_key = xstrdup(ls->forward_tls_key);
	if (s->kind == FORWARD_TCP || s->kind == FORWARD_UNIX) {
		s->buf = xmalloc(STREAM_BUF);
		s->ends = xcalloc(STREAM_RING, sizeof(*s->ends));
	}
	return s;
}

const char *
sender_name(const struct sender *s)
{
	return s->name;
}

/* ---------------------------------------------------------------- relp */

/*
 * librelp writes with send() and no MSG_NOSIGNAL: unless the process
 * ignores SIGPIPE (as lethe does; looked at once per connect), SIGPIPE is
 * blocked in this thread around each call, and one it raised is taken
 * before the mask goes back.
 */
struct pipehold {
	int		 on;
	sigset_t	 old;
};

static int
pipe_ignored(void)
{
	struct sigaction sa;

	return sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN;
}

static void
relp_hold(const struct sender *s, struct pipehold *h)
{
	sigset_t set;

	h->on = 0;
	if (s->pipe_ignored)
		return;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	if (pthread_sigmask(SIG_BLOCK, &set, &h->old) == 0)
		h->on = 1;
}

static void
relp_release(struct pipehold *h)
{
	static const struct timespec zero = { 0, 0 };
	sigset_t set;

	if (!h->on)
		return;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	if (!sigismember(&h->old, SIGPIPE))
		while (sigtimedwait(&set, NULL, &zero) != -1 || errno == EINTR)
			;
	pthread_sigmask(SIG_SETMASK, &h->old, NULL);
}

/*
 * An alarm for one librelp call that can block with no timeout of its
 * own (the TLS handshake): a timer of this thread sends it
 * SENDER_WAKE_SIGNAL at the deadline and every second after, to a handler
 * installed without SA_RESTART, so the blocking read fails with EINTR;
 * gnutls_handshake then returns GNUTLS_E_INTERRUPTED, which
 * relpTcpConnectTLSInit_gtls takes for "retry later", and the session's
 * first write fails: relpCltConnect returns an error.
 */
struct wake {
	int		 on;
	timer_t		 timer;
	sigset_t	 old;
};

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

static void
wake_cb(int sig)
{
	(void)sig;
}

static void
wake_arm(struct wake *w, int secs)
{
	struct sigaction sa;
	struct sigevent sev;
	struct itimerspec its;
	sigset_t set;

	w->on = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = wake_cb;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SENDER_WAKE_SIGNAL, &sa, NULL) == -1)
		return;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SENDER_WAKE_SIGNAL;
	sev.sigev_notify_thread_id = gettid();
	if (timer_create(CLOCK_MONOTONIC, &sev, &w->timer) == -1)
		return;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = secs;
	its.it_interval.tv_sec = 1;
	if (timer_settime(w->timer, 0, &its, NULL) == -1) {
		timer_delete(w->timer);
		return;
	}
	sigemptyset(&set);
	sigaddset(&set, SENDER_WAKE_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, &w->old);
	w->on = 1;
}

static void
wake_disarm(struct wake *w)
{
	static const struct timespec zero = { 0, 0 };
	sigset_t set;

	if (!w->on)
		return;
	timer_delete(w->timer);
	sigemptyset(&set);
	sigaddset(&set, SENDER_WAKE_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	while (sigtimedwait(&set, NULL, &zero) != -1 || errno == EINTR)
		;
	pthread_sigmask(SIG_SETMASK, &w->old, NULL);
	w->on = 0;
}

/*
 * librelp's error callbacks: the first message of a call is kept (the
 * cause; librelp reports the consequences after it).
 */
static void
relp_err_cb(void *usr, char *objinfo, char *errmsg, relpRetVal code)
{
	struct sender *s = usr;

	(void)objinfo;
	if (s == NULL || s->relp_errors++ > 0)
		return;
	snprintf(s->relp_err, sizeof(s->relp_err), "%s (librelp %d)",
	    errmsg != NULL ? errmsg : "error", (int)code);
}

static void
relp_auth_cb(void *usr, char *authinfo, char *errmsg, relpRetVal code)
{
	struct sender *s = usr;

	if (s == NULL || s->relp_errors++ > 0)
		return;
	snprintf(s->relp_err, sizeof(s->relp_err),
	    "TLS: %s%s%s (librelp %d)", errmsg != NULL ? errmsg : "error",
	    authinfo != NULL && *authinfo != '\0' ? ": " : "",
	    authinfo != NULL ? authinfo : "", (int)code);
}

/* A librelp code as words, for the codes a client meets. */
static const char *
relp_strerror(relpRetVal r)
{
	switch (r) {
	case RELP_RET_OUT_OF_MEMORY:
		return "out of memory";
	case RELP_RET_SESSION_BROKEN:
		return "session broken";
	case RELP_RET_SESSION_CLOSED:
		return "the receiver closed the session";
	case RELP_RET_IO_ERR:
		return "I/O error";
	case RELP_RET_TIMED_OUT:
		return "timed out";
	case RELP_RET_RSP_STATE_ERR:
		return "the receiver refused a message";
	case RELP_RET_RQD_FEAT_MISSING:
		return "the receiver does not offer the syslog command";
	case RELP_RET_INCOMPAT_OFFERS:
		return "the receiver's RELP version is not supported";
	case RELP_RET_ERR_TLS_SETUP:
	case RELP_RET_ERR_TLS_HANDS:
	case RELP_RET_ERR_TLS:
		return "TLS error";
	case RELP_RET_AUTH_ERR_NAME:
	case RELP_RET_AUTH_ERR_FP:
	case RELP_RET_AUTH_NO_CERT:
	case RELP_RET_AUTH_CERT_INVL:
		return "the receiver's certificate was refused";
	case RELP_RET_ERR_NO_TLS:
		return "librelp has no TLS";
	default:
		return "error";
	}
}

static int
relp_fail(struct sender *s, const char **err, const char *what,
    relpRetVal r)
{
	if (s->relp_errors > 0)
		return set_err(s, err, "%s %s: %s: %s", what, s->name,
		    relp_strerror(r), s->relp_err);
	return set_err(s, err, "%s %s: %s (librelp %d)", what, s->name,
	    relp_strerror(r), (int)r);
}

static void
relp_destroy(struct sender *s)
{
	struct pipehold h;

	if (s->engine == NULL)
		return;
	relp_hold(s, &h);
	if (s->clt != NULL)
		relpEngineCltDestruct(s->engine, &s->clt);
	relpEngineDestruct(&s->engine);
	relp_release(&h);
	s->clt = NULL;
	s->engine = NULL;
}

/* The host's addresses, for relp_connect; -1 and *err when none. */
static int
relp_resolve(struct sender *s, struct addrinfo **res, const char **err)
{
	struct addrinfo hints;
	int g;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
	if ((g = getaddrinfo(s->host, s->port, &hints, res)) != 0)
		return set_err(s, err, "connect to %s: %s", s->name,
		    g == EAI_SYSTEM ? strerror(errno) : gai_strerror(g));
	return 0;
}

#define RELP_TRY(call, what) do {					\
	if ((r = (call)) != RELP_RET_OK) {				\
		why = (what);						\
		goto fail;						\
	}								\
} while (0)

static int
relp_connect(struct sender *s, const char **err)
{
	static unsigned char cmd_syslog[] = "syslog";
	static char auth_name[] = "name";
	struct pipehold h;
	struct wake w;
	relpRetVal r;
	const char *why = NULL;
	struct addrinfo *res = NULL, *ai;
	char num[NI_MAXHOST];
	int64_t t0;

	s->pipe_ignored = pipe_ignored();
	relp_hold(s, &h);
	s->relp_errors = 0;
	RELP_TRY(relpEngineConstruct(&s->engine), "relp engine for");
	/* Not optional: the engine calls dbgprint unchecked (relp.c). */
	RELP_TRY(relpEngineSetDbgprint(s->engine, NULL), "relp engine for");
	RELP_TRY(relpEngineSetOnErr(s->engine, relp_err_cb), "relp engine for");
	RELP_TRY(relpEngineSetOnAuthErr(s->engine, relp_auth_cb),
	    "relp engine for");
	RELP_TRY(relpEngineSetEnableCmd(s->engine, cmd_syslog,
	    eRelpCmdState_Required), "relp engine for");
	RELP_TRY(relpEngineCltConstruct(s->engine, &s->clt), "relp client for");
	RELP_TRY(relpCltSetUsrPtr(s->clt, s), "relp client for");
	RELP_TRY(relpCltSetTimeout(s->clt, SENDER_TIMEOUT), "relp client for");
	RELP_TRY(relpCltSetConnTimeout(s->clt, SENDER_TIMEOUT),
	    "relp client for");
	RELP_TRY(relpCltSetWindowSize(s->clt, SENDER_RELP_WINDOW),
	    "relp client for");
	if (s->tls_ca != NULL || s->tls_cert != NULL || s->tls_key != NULL) {
		/*
		 * "name": the chain must verify against the CA (GnuTLS'
		 * verify_peers2) and name the host as forward writes it, in
		 * a dNSName or the CN (relpTcpChkPeerName_gtls).  librelp's
		 * "certvalid" checks nothing under GnuTLS in 1.11
		 * (relpTcpVerifyCertificateCallback).
		 */
		RELP_TRY(relpCltEnableTLS(s->clt), "TLS for");
		RELP_TRY(relpCltSetAuthMode(s->clt, auth_name), "TLS for");
		RELP_TRY(relpCltAddPermittedPeer(s->clt, s->host), "TLS for");
		if (s->tls_ca != NULL)
			RELP_TRY(relpCltSetCACert(s->clt, s->tls_ca), "TLS for");
		if (s->tls_cert != NULL)
			RELP_TRY(relpCltSetOwnCert(s->clt, s->tls_cert),
			    "TLS for");
		if (s->tls_key != NULL)
			RELP_TRY(relpCltSetPrivKey(s->clt, s->tls_key),
			    "TLS for");
	}
	if (relp_resolve(s, &res, err) == -1) {
		relp_release(&h);
		relp_destroy(s);
		return -1;
	}
	/*
	 * Each address in turn (relpTcpConnect would try the first only),
	 * numeric, so librelp's own lookup finds it at once; TLS still
	 * checks the name as forward writes it (the permitted peer).
	 */
	t0 = mono_ms();
	r = RELP_RET_IO_ERR;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, num, sizeof(num),
		    NULL, 0, NI_NUMERICHOST) != 0)
			continue;
		wake_arm(&w, 2 * SENDER_TIMEOUT);
		r = relpCltConnect(s->clt, ai->ai_family,
		    (unsigned char *)s->port, (unsigned char *)num);
		wake_disarm(&w);
		if (r == RELP_RET_OK || mono_ms() - t0 >= SENDER_TIMEOUT * 1000)
			break;
	}
	freeaddrinfo(res);
	if (r != RELP_RET_OK) {
		why = "connect to";
		if (mono_ms() - t0 >= 2 * SENDER_TIMEOUT * 1000)
			r = RELP_RET_TIMED_OUT;
		goto fail;
	}
	relp_release(&h);
	return 0;

fail:
	relp_release(&h);
	relp_fail(s, err, why, r);
	relp_destroy(s);
	return -1;
}

static int
relp_send(struct sender *s, const char *msg, size_t len, const char **err)
{
	struct pipehold h;
	relpRetVal r;

	relp_hold(s, &h);
	s->relp_errors = 0;
	/* librelp does not write to the message (relpclt.c). */
	r = relpCltSendSyslog(s->clt, (unsigned char *)(uintptr_t)msg, len);
	relp_release(&h);
	if (r != RELP_RET_OK)
		return relp_fail(s, err, "send to", r);
	return 0;
}

static int
relp_flush(struct sender *s, const char **err)
{
	s->relp_errors = 0;
	relp_destroy(s);
	if (s->relp_errors > 0)
		return set_err(s, err, "close %s: %s", s->name, s->relp_err);
	return 0;
}

/* ------------------------------------------------------------ tcp, unix */

static int
stream_wait(int fd, short events, int64_t deadline)
{
	struct pollfd pfd;
	int n;

	pfd.fd = fd;
	pfd.events = events;
	for (;;) {
		n = poll(&pfd, 1, left_ms(deadline));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		return 0;
	}
}

/* A non-blocking connect to one address, by the deadline. */
static int
stream_dial(const struct sockaddr *sa, socklen_t salen, int64_t deadline)
{
	int fd, e = 0;
	socklen_t elen = sizeof(e);

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1)
		return -1;
	if (sa->sa_family != AF_UNIX) {
		int one = 1, sz = STREAM_SNDBUF;

		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	}
	if (connect(fd, sa, salen) == 0)
		return fd;
	if (errno != EINPROGRESS && errno != EINTR)
		goto fail;
	if (stream_wait(fd, POLLOUT, deadline) == -1)
		goto fail;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) == -1)
		goto fail;
	if (e != 0) {
		errno = e;
		goto fail;
	}
	return fd;

fail:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

static int
stream_connect(struct sender *s, const char **err)
{
	int64_t deadline = mono_ms() + SENDER_TIMEOUT * 1000;
	struct addrinfo hints, *res = NULL, *ai;
	struct sockaddr_un sun;
	int g, e = 0;

	if (s->kind == FORWARD_UNIX) {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlcpy(sun.sun_path, s->path, sizeof(sun.sun_path)) >=
		    sizeof(sun.sun_path))
			return set_err(s, err, "connect to %s: path too long",
			    s->name);
		s->fd = stream_dial((struct sockaddr *)&sun, sizeof(sun),
		    deadline);
		if (s->fd == -1)
			return set_err(s, err, "connect to %s: %s", s->name,
			    errno == EAGAIN ? "the receiver's backlog is full" :
			    strerror(errno));
		return 0;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
	if ((g = getaddrinfo(s->host, s->port, &hints, &res)) != 0)
		return set_err(s, err, "connect to %s: %s", s->name,
		    g == EAI_SYSTEM ? strerror(errno) : gai_strerror(g));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		s->fd = stream_dial(ai->ai_addr, ai->ai_addrlen, deadline);
		if (s->fd != -1)
			break;
		e = errno;
		if (left_ms(deadline) == 0)
			break;
	}
	freeaddrinfo(res);
	if (s->fd == -1)
		return set_err(s, err, "connect to %s: %s", s->name,
		    e == ETIMEDOUT ? "timed out" : strerror(e));
	return 0;
}

/*
 * What the peer has taken, from SIOCOUTQ, into *taken: believed only
 * when the peer is still there after it was read (see the top of the
 * file).  -1 when the receiver closed the connection or sent something
 * (a syslog receiver sends nothing).
 */
static int
stream_peek(const struct sender *s, uint64_t *taken)
{
	struct pollfd pfd;
	int outq, n;

	*taken = s->floor;
	if (ioctl(s->fd, SIOCOUTQ, &outq) == -1 || outq < 0)
		outq = -1;
	pfd.fd = s->fd;
	pfd.events = POLLIN | POLLRDHUP;
	while ((n = poll(&pfd, 1, 0)) == -1 && errno == EINTR)
		;
	if (n == 1 && pfd.revents != 0)
		return -1;
	if (outq >= 0 && (uint64_t)outq <= s->written &&
	    s->written - (uint64_t)outq > s->floor)
		*taken = s->written - (uint64_t)outq;
	return 0;
}

static int
stream_sample(struct sender *s)
{
	uint64_t taken;

	if (stream_peek(s, &taken) == -1)
		return -1;
	s->floor = taken;
	return 0;
}

/* Writes iov out to the kernel by the deadline. */
static int
stream_write(struct sender *s, struct iovec *iov, int niov,
    int64_t deadline)
{
	struct msghdr mh;
	ssize_t n;

	while (niov > 0) {
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = iov;
		mh.msg_iovlen = niov;
		n = sendmsg(s->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -1;
			if (stream_wait(s->fd, POLLOUT, deadline) == -1)
				return -1;
			continue;
		}
		s->written += (uint64_t)n;
		while (niov > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			niov--;
		}
		if (niov > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

/* The buffer, and extra (a message too big for it), out to the kernel. */
static int
stream_drain(struct sender *s, const char *hdr, size_t hlen,
    const char *msg, size_t mlen, const char **err)
{
	int64_t deadline = mono_ms() + SENDER_TIMEOUT * 1000;
	struct iovec iov[3];
	int n = 0;

	if (stream_sample(s) == -1)
		return set_err(s, err, "send to %s: the receiver closed the "
		    "connection", s->name);
	if (s->len > 0) {
		iov[n].iov_base = s->buf;
		iov[n++].iov_len = s->len;
	}
	if (hlen > 0) {
		iov[n].iov_base = (void *)(uintptr_t)hdr;
		iov[n++].iov_len = hlen;
		iov[n].iov_base = (void *)(uintptr_t)msg;
		iov[n++].iov_len = mlen;
	}
	if (stream_write(s, iov, n, deadline) == -1) {
		if (errno == ETIMEDOUT)
			return set_err(s, err, "send to %s: timed out after "
			    "%d s (the receiver does not read)", s->name,
			    SENDER_TIMEOUT);
		return set_err(s, err, "send to %s: %s", s->name,
		    strerror(errno));
	}
	s->len = 0;
	(void)stream_sample(s);
	return 0;
}

static void
stream_note(struct sender *s)
{
	if (s->nends == STREAM_RING) {
		s->lost_end = s->ends[s->head];
		s->nends--;
	}
	s->ends[s->head] = s->queued;
	s->head = (s->head + 1) % STREAM_RING;
	s->nends++;
}

static int
stream_send(struct sender *s, const char *msg, size_t len, const char **err)
{
	char hdr[24];
	size_t hlen, v = len;
	int i = sizeof(hdr) - 1;

	/* "LEN " (RFC 6587 3.4.1), without snprintf: one per message. */
	hdr[i] = ' ';
	do {
		hdr[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	hlen = sizeof(hdr) - (size_t)i;
	memmove(hdr, hdr + i, hlen);
	if (s->len + hlen + len > STREAM_BUF) {
		if (hlen + len > STREAM_BUF) {
			if (stream_drain(s, hdr, hlen, msg, len, err) == -1)
				return -1;
			s->queued += hlen + len;
			stream_note(s);
			return 0;
		}
		if (stream_drain(s, NULL, 0, NULL, 0, err) == -1)
			return -1;
	}
	memcpy(s->buf + s->len, hdr, hlen);
	memcpy(s->buf + s->len + hlen, msg, len);
	s->len += hlen + len;
	s->queued += hlen + len;
	stream_note(s);
	return 0;
}

static unsigned
stream_unacked(const struct sender *s)
{
	uint64_t floor = s->floor, older, gap;
	size_t i, k;
	unsigned n = 0;

	if (s->connected && s->fd != -1)
		(void)stream_peek(s, &floor);
	for (i = 0; i < s->nends; i++) {
		k = (s->head + STREAM_RING - 1 - i) % STREAM_RING;
		if (s->ends[k] <= floor)
			return n;
		n++;
	}
	/* Every message in the ring is out: the older ones, conservatively. */
	if (s->lost_end <= floor || s->sent <= n)
		return n;
	gap = (s->lost_end - floor) / STREAM_MINMSG + 1;
	older = s->sent - n;
	return n + (unsigned)(gap < older ? gap : older);
}

static int
stream_flush(struct sender *s, const char **err)
{
	int64_t deadline;
	unsigned ms = 1;

	if (stream_drain(s, NULL, 0, NULL, 0, err) == -1)
		return -1;
	deadline = mono_ms() + DRAIN_MS;
	while (s->floor < s->written && left_ms(deadline) > 0) {
		struct timespec ts = { 0, (long)ms * 1000000 };

		nanosleep(&ts, NULL);
		if (ms < 32)
			ms *= 2;
		if (stream_sample(s) == -1)
			return set_err(s, err, "send to %s: the receiver "
			    "closed the connection", s->name);
	}
	return 0;
}

static void
stream_reset(struct sender *s)
{
	s->len = 0;
	s->queued = s->written = s->floor = 0;
	s->head = s->nends = 0;
	s->lost_end = 0;
}

/* ------------------------------------------------------------ the API */

int
sender_connect(struct sender *s, const char **err)
{
	int r;

	sender_close(s);
	s->broken = 0;
	s->sent = 0;
	s->frozen = 0;
	switch (s->kind) {
	case FORWARD_RELP:
		r = relp_connect(s, err);
		break;
	case FORWARD_TCP:
	case FORWARD_UNIX:
		stream_reset(s);
		r = stream_connect(s, err);
		break;
	default:
		return set_err(s, err, "no forward");
	}
	if (r == -1) {
		s->broken = 1;
		return -1;
	}
	s->connected = 1;
	return 0;
}

/* The connection broke: what was unacknowledged stays as it was. */
static int
broke(struct sender *s)
{
	s->frozen = sender_unacked(s);
	s->broken = 1;
	s->connected = 0;
	s->reopen = 0;
	if (s->kind == FORWARD_RELP)
		relp_destroy(s);
	else if (s->fd != -1) {
		close(s->fd);
		s->fd = -1;
	}
	return -1;
}

int
sender_send(struct sender *s, const char *msg, size_t len, const char **err)
{
	int r;

	if (len == 0)
		return set_err(s, err, "send to %s: empty message", s->name);
	if (!s->connected) {
		if (!s->reopen)
			return set_err(s, err, "send to %s: not connected",
			    s->name);
		/* relp after a flush: a new session. */
		s->reopen = 0;
		if (relp_connect(s, err) == -1)
			return broke(s);
		s->connected = 1;
	}
	if (s->kind == FORWARD_RELP)
		r = relp_send(s, msg, len, err);
	else
		r = stream_send(s, msg, len, err);
	if (r == -1)
		return broke(s);
	if (s->sent < UINT_MAX)
		s->sent++;
	return 0;
}

int
sender_flush(struct sender *s, const char **err)
{
	if (!s->connected) {
		if (s->reopen)
			return 0;
		return set_err(s, err, "flush %s: not connected", s->name);
	}
	if (s->kind == FORWARD_RELP) {
		if (relp_flush(s, err) == -1)
			return broke(s);
		s->connected = 0;
		s->reopen = 1;
		s->sent = 0;
		return 0;
	}
	if (stream_flush(s, err) == -1)
		return broke(s);
	return 0;
}

unsigned
sender_unacked(const struct sender *s)
{
	if (s->broken)
		return s->frozen;
	if (s->kind == FORWARD_RELP)
		return s->sent < SENDER_RELP_WINDOW ? s->sent :
		    SENDER_RELP_WINDOW;
	return stream_unacked(s);
}

void
sender_close(struct sender *s)
{
	if (s->kind == FORWARD_RELP)
		relp_destroy(s);
	else if (s->fd != -1) {
		close(s->fd);
		s->fd = -1;
	}
	s->connected = 0;
	s->reopen = 0;
}

void
sender_free(struct sender *s)
{
	if (s == NULL)
		return;
	sender_close(s);
	free(s->name);
	free(s->host);
	free(s->port);
	free(s->path);
	free(s->tls_ca);
	free(s->tls_cert);
	free(s->tls_key);
	free(s->buf);
	free(s->ends);
	free(s);
}
