/* SPDX-License-Identifier: MIT */
/*
 * shapeproxy.c - a TCP relay that makes a loopback server behave like a
 * store across a network: every connection carries at most RATE MB/s in
 * each direction, and each answer starts DELAY ms after its request did
 * (the time to first byte of a real object store).  Used by bench/write.sh
 * for uploads, where nginx's limit_rate cannot shape request bodies.
 *
 *   shapeproxy UPSTREAM_PORT PORTFILE RATE_MBPS DELAY_MS
 *
 * Listens on a free 127.0.0.1 port, written to PORTFILE once it listens.
 * A thread per direction per connection; a request is what the client
 * sends between two answers, so the delay comes once per request on a
 * kept-alive connection.  Runs until killed.
 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (64 << 10)

static int upstream_port;
static double rate;		/* bytes per second, each direction */
static long delay_ns;

struct conn {
	int client, server;
	atomic_int asked;	/* the client sent a request not yet answered */
	struct timespec asked_at;
};

struct pipe_dir {
	struct conn *c;
	int from, to;
	int answers;		/* server to client */
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_for(double secs)
{
	struct timespec ts = { (time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9) };

	if (secs > 0)
		nanosleep(&ts, NULL);
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static void *relay(void *arg)
{
	struct pipe_dir *d = arg;
	struct conn *c = d->c;
	char *buf = malloc(CHUNK);
	double t0 = now(), sent = 0;
	ssize_t n;

	while (buf && (n = recv(d->from, buf, CHUNK, 0)) > 0) {
		if (!d->answers && !atomic_load(&c->asked)) {
			clock_gettime(CLOCK_MONOTONIC, &c->asked_at);
			atomic_store(&c->asked, 1);	/* after the time: the other side reads it */
		} else if (d->answers && atomic_exchange(&c->asked, 0)) {
			/* the first bytes of an answer: DELAY after its request began */
			struct timespec ts = c->asked_at;

			ts.tv_nsec += delay_ns;
			ts.tv_sec += ts.tv_nsec / 1000000000L;
			ts.tv_nsec %= 1000000000L;
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		}
		/* no faster than rate since this direction began, bursts included */
		sent += (double)n;
		sleep_for(t0 + sent / rate - now());
		if (send_all(d->to, buf, (size_t)n) != 0)
			break;
	}
	free(buf);
	shutdown(d->to, SHUT_WR);
	shutdown(d->from, SHUT_RD);
	return NULL;
}

static void *serve(void *arg)
{
	struct conn *c = arg;
	struct sockaddr_in up = { .sin_family = AF_INET, .sin_port = htons((uint16_t)upstream_port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct pipe_dir in = { c, c->client, -1, 0 }, out = { c, -1, c->client, 1 };
	int one = 1;
	pthread_t t;

	c->server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->server < 0 || connect(c->server, (struct sockaddr *)&up, sizeof(up)) != 0) {
		close(c->client);
		if (c->server >= 0)
			close(c->server);
		free(c);
		return NULL;
	}
	setsockopt(c->server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(c->client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	in.to = c->server;
	out.from = c->server;
	if (pthread_create(&t, NULL, relay, &in) == 0) {
		relay(&out);
		pthread_join(t, NULL);
	}
	close(c->client);
	close(c->server);
	free(c);
	return NULL;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	char tmp[4096];
	FILE *f;
	int ls, one = 1;

	if (argc != 5) {
		fprintf(stderr, "usage: shapeproxy UPSTREAM_PORT PORTFILE RATE_MBPS DELAY_MS\n");
		return 2;
	}
	upstream_port = atoi(argv[1]);
	rate = atof(argv[3]) * 1e6;
	delay_ns = atol(argv[4]) * 1000000L;
	ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ls < 0 || upstream_port <= 0 || rate <= 0 ||
	    bind(ls, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(ls, 128) != 0 ||
	    getsockname(ls, (struct sockaddr *)&a, &alen) != 0) {
		perror("shapeproxy");
		return 1;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", argv[2]);
	if (!(f = fopen(tmp, "w")) || fprintf(f, "%d\n", ntohs(a.sin_port)) < 0 || fclose(f) != 0 ||
	    rename(tmp, argv[2]) != 0) {
		perror(argv[2]);
		return 1;
	}
	for (;;) {
		struct conn *c = calloc(1, sizeof(*c));
		pthread_t t;

		if (!c || (c->client = accept4(ls, NULL, NULL, SOCK_CLOEXEC)) < 0) {
			free(c);
			continue;
		}
		if (pthread_create(&t, NULL, serve, c) == 0)
			pthread_detach(t);
		else {
			close(c->client);
			free(c);
		}
	}
}
