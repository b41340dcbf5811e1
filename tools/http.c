/*
 * http.c - `synack http DIR`: a small static-file HTTP/1.1 server on the
 * synack stack, so that curl (or a browser) in the namespace can fetch files
 * from it.
 *
 * GET and HEAD; Content-Length always; keep-alive unless the client asks for
 * "Connection: close" (or speaks HTTP/1.0 without "keep-alive"); pipelined
 * requests are answered in order; 400, 404, 405, 431 where they apply. Paths
 * are resolved under DIR only: any ".." segment is refused and files are
 * opened relative to DIR's descriptor without following symbolic links.
 *
 * Every connection is a small state machine pumped once per loop iteration
 * (the loop's idle hook): read the request into a buffer, then send the
 * header and the file in chunks as the send buffer takes them, then either
 * read the next request or half-close and wait for the client's FIN.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net.h"
#include "tools.h"

#define REQ_MAX 8192
#define CHUNK 65536
#define CLOSE_GRACE_US (10ull * 1000000u)

struct hconn {
	struct sn_sock *s;
	char req[REQ_MAX];
	size_t req_len;
	int file_fd;            /* body being sent, -1 if none */
	uint64_t body_left;
	char buf[CHUNK];        /* pending bytes: buf[off..len) */
	size_t off, len;
	bool responding, keep_alive, shut, rx_eof;
	struct hconn *next;
};

struct http {
	struct net net;
	int dir_fd;
	uint16_t port;
	struct sn_sock *listener;
	struct hconn *conns;
	uint64_t requests, served_bytes, accepted;
	uint64_t give_up_us;
	bool stopping;
	int exit_code;
};

static const char *content_type(const char *path)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{".html", "text/html; charset=utf-8"}, {".htm", "text/html; charset=utf-8"},
		{".txt", "text/plain; charset=utf-8"}, {".css", "text/css"},
		{".js", "text/javascript"},            {".json", "application/json"},
		{".png", "image/png"},                 {".jpg", "image/jpeg"},
		{".svg", "image/svg+xml"},             {".pcap", "application/vnd.tcpdump.pcap"},
	};
	const char *dot = strrchr(path, '.');
	if (dot)
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (strcasecmp(dot, types[i].ext) == 0)
				return types[i].type;
	return "application/octet-stream";
}

/* Queue a response header (and a short body) in the pending buffer. */
static void respond(struct hconn *c, int code, const char *reason, const char *type,
                    uint64_t length, const char *body, bool head)
{
	int n = snprintf(c->buf, sizeof(c->buf),
	                 "HTTP/1.1 %d %s\r\nServer: synack\r\nContent-Type: %s\r\n"
	                 "Content-Length: %llu\r\nConnection: %s\r\n\r\n%s",
	                 code, reason, type, (unsigned long long)length,
	                 c->keep_alive ? "keep-alive" : "close", body && !head ? body : "");
	c->off = 0;
	c->len = (size_t)n < sizeof(c->buf) ? (size_t)n : sizeof(c->buf) - 1;
	c->responding = true;
}

static void error_page(struct hconn *c, int code, const char *reason, bool head)
{
	char body[128];
	snprintf(body, sizeof(body), "%d %s\n", code, reason);
	if (code == 400 || code == 431)
		c->keep_alive = false; /* we cannot know where the next request starts */
	respond(c, code, reason, "text/plain; charset=utf-8", strlen(body), body, head);
}

/* A header's value (case-insensitive name), copied into out; false if absent. */
static bool header(const char *hdrs, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);
	for (const char *p = hdrs; p && *p; p = strstr(p, "\r\n"), p = p ? p + 2 : NULL) {
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			size_t k = strcspn(v, "\r\n");
			if (k >= outlen)
				k = outlen - 1;
			memcpy(out, v, k);
			out[k] = '\0';
			return true;
		}
	}
	return false;
}

/* Parse the complete request in c->req[0..end) and queue its response. */
static void handle_request(struct http *h, struct hconn *c, size_t end)
{
	char method[16], target[2048], version[16], conn[64];
	c->req[end - 2] = '\0'; /* cut the blank line: headers end in one "\r\n" */
	h->requests++;
	if (sscanf(c->req, "%15s %2047s %15s", method, target, version) != 3 ||
	    strncmp(version, "HTTP/1.", 7) != 0 || target[0] != '/') {
		error_page(c, 400, "Bad Request", false);
		return;
	}
	const char *hdrs = strstr(c->req, "\r\n");
	hdrs = hdrs ? hdrs + 2 : "";
	bool http10 = strcmp(version, "HTTP/1.0") == 0;
	c->keep_alive = !http10;
	if (header(hdrs, "Connection", conn, sizeof(conn))) {
		if (strcasecmp(conn, "close") == 0)
			c->keep_alive = false;
		else if (strcasecmp(conn, "keep-alive") == 0)
			c->keep_alive = true;
	}
	bool head = strcmp(method, "HEAD") == 0;
	if (!head && strcmp(method, "GET") != 0) {
		error_page(c, 405, "Method Not Allowed", false);
		return;
	}
	target[strcspn(target, "?#")] = '\0';
	/* No way out of DIR: refuse every ".." segment. */
	for (const char *p = target; (p = strstr(p, "..")) != NULL; p += 2) {
		if (p[-1] == '/' && (p[2] == '/' || p[2] == '\0')) {
			error_page(c, 404, "Not Found", head);
			return;
		}
	}
	const char *rel = target + 1;
	while (*rel == '/')
		rel++;
	char path[2100];
	snprintf(path, sizeof(path), "%s%s", rel,
	         (*rel == '\0' || rel[strlen(rel) - 1] == '/') ? "index.html" : "");
	int fd = openat(h->dir_fd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		error_page(c, 404, "Not Found", head);
		return;
	}
	respond(c, 200, "OK", content_type(path), (uint64_t)st.st_size, NULL, head);
	if (head || st.st_size == 0) {
		close(fd);
		return;
	}
	c->file_fd = fd;
	c->body_left = (uint64_t)st.st_size;
}

/* The end of the first complete request in the buffer (after "\r\n\r\n"), or 0. */
static size_t request_end(const struct hconn *c)
{
	for (size_t i = 3; i < c->req_len; i++)
		if (c->req[i - 3] == '\r' && c->req[i - 2] == '\n' && c->req[i - 1] == '\r' &&
		    c->req[i] == '\n')
			return i + 1;
	return 0;
}

/* Returns false when the connection is finished and can be freed. */
static bool pump(struct http *h, struct hconn *c)
{
	for (;;) {
		/* Send what is pending, then the next piece of the body. */
		while (c->off < c->len) {
			ssize_t n = sn_send(c->s, c->buf + c->off, c->len - c->off, 0);
			if (n == -EAGAIN)
				return true;
			if (n < 0)
				return false;
			c->off += (size_t)n;
			h->served_bytes += (uint64_t)n;
		}
		c->off = c->len = 0;
		if (c->file_fd >= 0 && c->body_left > 0) {
			ssize_t n = read(c->file_fd, c->buf, CHUNK);
			if (n <= 0) {
				/* The file shrank under us: the promised length cannot be
				 * kept, so the connection must end. */
				c->keep_alive = false;
				c->body_left = 0;
			} else {
				c->len = (size_t)n;
				c->body_left -= (uint64_t)n < c->body_left ? (uint64_t)n : c->body_left;
				continue;
			}
		}
		if (c->file_fd >= 0) {
			close(c->file_fd);
			c->file_fd = -1;
		}
		if (c->responding) {
			c->responding = false;
			if (!c->keep_alive || h->stopping) {
				if (!c->shut && sn_shutdown(c->s, SHUT_WR) == 0)
					c->shut = true;
			}
		}
		if (c->shut)
			break;
		/* The next request: maybe already in the buffer (pipelined). */
		size_t end = request_end(c);
		if (end) {
			handle_request(h, c, end);
			memmove(c->req, c->req + end, c->req_len - end);
			c->req_len -= end;
			continue;
		}
		if (c->req_len == sizeof(c->req)) {
			error_page(c, 431, "Request Header Fields Too Large", false);
			c->req_len = 0;
			continue;
		}
		if (c->rx_eof) {
			/* The client is done and so are we. */
			sn_shutdown(c->s, SHUT_WR);
			c->shut = true;
			break;
		}
		ssize_t n = sn_recv(c->s, c->req + c->req_len, sizeof(c->req) - c->req_len, 0);
		if (n == -EAGAIN)
			return true;
		if (n < 0)
			return false;
		if (n == 0) {
			c->rx_eof = true;
			continue;
		}
		c->req_len += (size_t)n;
	}
	/* Half-closed: read (and ignore) until the client's FIN, then release. */
	char sink[4096];
	ssize_t n;
	while (!c->rx_eof && (n = sn_recv(c->s, sink, sizeof(sink), 0)) != -EAGAIN) {
		if (n <= 0)
			c->rx_eof = true;
	}
	return !c->rx_eof;
}

static void conn_free(struct hconn *c, bool abort)
{
	if (c->file_fd >= 0)
		close(c->file_fd);
	if (abort)
		sn_abort(c->s);
	else
		sn_close(c->s); /* FIN already sent; the stack finishes the close */
	free(c);
}

static void idle(struct sn_loop *loop, void *user)
{
	struct http *h = user;
	int k = net_signals(&h->net);
	if (k == 1 && !h->stopping) {
		net_note(&h->net, "interrupted: finishing responses and closing (again to abort)");
		h->stopping = true;
		h->give_up_us = sn_clock_us() + CLOSE_GRACE_US;
		if (h->listener) {
			sn_close(h->listener);
			h->listener = NULL;
		}
		for (struct hconn *c = h->conns; c; c = c->next) {
			c->keep_alive = false;
			if (!c->responding && !c->shut && sn_shutdown(c->s, SHUT_WR) == 0)
				c->shut = true;
		}
	} else if (k >= 2 || (h->give_up_us && sn_clock_us() > h->give_up_us)) {
		net_note(&h->net, "aborting %s", k >= 2 ? "on the second interrupt" : "after the grace period");
		while (h->conns) {
			struct hconn *c = h->conns;
			h->conns = c->next;
			conn_free(c, true);
		}
		h->exit_code = k >= 2 ? 130 : 0;
		sn_loop_stop(loop);
		return;
	}

	int err;
	struct sn_sock *s;
	while (h->listener && (s = sn_accept(h->listener, NULL, NULL, &err)) != NULL) {
		struct hconn *c = calloc(1, sizeof(*c));
		if (!c) {
			sn_abort(s);
			continue;
		}
		c->s = s;
		c->file_fd = -1;
		c->next = h->conns;
		h->conns = c;
		h->accepted++;
	}
	for (struct hconn **pp = &h->conns; *pp;) {
		struct hconn *c = *pp;
		if (pump(h, c)) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		conn_free(c, false);
	}
	net_flush(&h->net);
	if (h->stopping && !h->conns)
		sn_loop_stop(loop);
}

static void signal_ready(int fd, unsigned events, void *user)
{
	/* Counted in the idle hook. */
}

static void usage(FILE *f)
{
	fprintf(f, "usage: synack http DIR [--port N] COMMON...\n"
	           "  serve the files under DIR over HTTP/1.1 (GET, HEAD, keep-alive) on port N\n"
	           "  (80); SIGINT finishes the responses under way and closes, a second aborts\n\n%s",
	        NET_USAGE_COMMON);
}

int cmd_http(int argc, char **argv)
{
	static const struct option longopts[] = {
		NET_LONG_OPTIONS,
		{"port", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static struct http h;
	int c, r;

	memset(&h, 0, sizeof(h));
	h.port = 80;
	net_opts_init(&h.net.o);
	while ((c = getopt_long(argc, argv, "qhp:", longopts, NULL)) != -1) {
		r = net_opt(&h.net.o, "http", c, optarg);
		if (r < 0)
			return 2;
		if (r > 0)
			continue;
		if (c == 'p') {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || end == optarg || v < 1 || v > 65535) {
				fprintf(stderr, "synack http: bad port '%s'\n", optarg);
				return 2;
			}
			h.port = (uint16_t)v;
		} else if (c == 'h') {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 1) {
		usage(stderr);
		return 2;
	}
	h.dir_fd = open(argv[optind], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (h.dir_fd < 0) {
		fprintf(stderr, "synack http: cannot open directory %s: %s\n", argv[optind],
		        strerror(errno));
		return 1;
	}
	if (net_setup(&h.net, "http") < 0) {
		net_teardown(&h.net);
		close(h.dir_fd);
		return 1;
	}
	h.listener = sn_socket(h.net.stack);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr = h.net.o.addr,
	                        .sin_port = htons(h.port)};
	r = h.listener ? 0 : -ENOMEM;
	if (!r)
		r = sn_bind(h.listener, (struct sockaddr *)&a, sizeof(a));
	if (!r)
		r = sn_listen(h.listener, 128);
	if (r < 0) {
		fprintf(stderr, "synack http: cannot listen on port %u: %s\n", h.port, strerror(-r));
		net_teardown(&h.net);
		close(h.dir_fd);
		return 1;
	}
	net_note(&h.net, "serving %s on http://%s:%u/ (%s)", argv[optind], inet_ntoa(h.net.o.addr),
	         h.port, h.net.ifname);
	sn_loop_watch(h.net.loop, h.net.sigfd, EPOLLIN, signal_ready, &h);
	sn_loop_set_idle(h.net.loop, idle, &h);
	while (!h.stopping || h.conns) {
		r = sn_loop_run_once(h.net.loop, h.stopping ? 100000 : SN_TIME_NEVER);
		if (r < 0) {
			fprintf(stderr, "synack http: event loop: %s\n", strerror(-r));
			h.exit_code = 1;
			break;
		}
		if (h.exit_code == 130 || (h.stopping && !h.conns))
			break;
	}
	net_note(&h.net, "%llu connections, %llu requests, %llu bytes sent",
	         (unsigned long long)h.accepted, (unsigned long long)h.requests,
	         (unsigned long long)h.served_bytes);
	sn_poll(h.net.stack, sn_clock_us());
	while (h.conns) {
		struct hconn *hc = h.conns;
		h.conns = hc->next;
		conn_free(hc, true);
	}
	net_teardown(&h.net);
	close(h.dir_fd);
	return h.exit_code;
}
