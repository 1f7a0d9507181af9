/* The built-in services (netemu/services.h) driven through the TCP engine
 * by a scripted client: echo (RFC 862), discard (RFC 863), chargen
 * (RFC 864), the HTTP server, and the two teaching servers close-first
 * (TIME_WAIT on the server) and never-close (CLOSE_WAIT piles up). */
#include "tcp_harness.h"

#include "services.h"

static struct services *start(struct harness *h)
{
	struct services *s = services_start(stack_tcp(h->st), h->now);
	assert_non_null(s);
	return s;
}

/* Everything the server sends until it stops (or sends FIN, when
 * until_fin), ACKing as a client would; returns the bytes received. Checks
 * that the stream has no gaps or repeats. */
static size_t receive(struct harness *h, struct h_peer *p, uint8_t *buf, size_t cap, bool until_fin,
		      bool *fin)
{
	size_t got = 0;
	*fin = false;
	for (;;) {
		h_collect(h);
		if (h->out_count == 0) {
			if (!until_fin || *fin)
				break;
			h_wait_segment(h, 5 * SEC);
			h_collect(h);
			if (h->out_count == 0)
				break;
		}
		while (h->out_count) {
			struct tcp_seg s = h_pop(h);
			assert_int_equal(s.seq, p->ack); /* in order, nothing resent */
			if (s.len) {
				assert_true(got + s.len <= cap);
				memcpy(buf + got, s.payload, s.len);
				got += s.len;
			}
			p->ack = s.seq + s.len + !!(s.flags & TH_FIN);
			if (s.flags & TH_FIN)
				*fin = true;
		}
		h_peer_ack(h, p);
	}
	return got;
}

/* RFC 862: the echo service sends back every byte it receives, also when
 * it is far more than a window; the client's FIN closes it. */
static void test_rfc862_echo_returns_the_bytes(void **state)
{
	(void)state;
	struct harness *h = h_new();
	struct services *s = start(h);
	struct h_peer p = h_open_to(h, SVC_PORT_ECHO, 40000, 1000);
	static uint8_t out[100000], back[100000];
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 7 + 3);
	size_t got = 0;
	bool fin;
	for (size_t off = 0; off < sizeof(out); off += 1460) {
		uint32_t n = (uint32_t)TL_MIN((size_t)1460, sizeof(out) - off);
		h_peer_send(h, &p, TH_ACK | TH_PSH, out + off, n);
		got += receive(h, &p, back + got, sizeof(back) - got, false, &fin);
	}
	h_advance(h, 1 * SEC);
	got += receive(h, &p, back + got, sizeof(back) - got, false, &fin);
	assert_int_equal(got, sizeof(out));
	assert_memory_equal(back, out, sizeof(out));
	/* The client is done: the echo server closes its side too. */
	h_peer_send(h, &p, TH_FIN | TH_ACK, NULL, 0);
	receive(h, &p, back, sizeof(back), true, &fin);
	assert_true(fin);
	assert_int_equal(h_state_of(h, SVC_PORT_ECHO, 40000), TCP_CLOSE);
	services_stop(s, h->now);
	h_free(h);
}

/* RFC 863: discard reads and throws away; the client gets ACKs only. */
static void test_rfc863_discard_swallows(void **state)
{
	(void)state;
	struct harness *h = h_new();
	struct services *s = start(h);
	struct h_peer p = h_open_to(h, SVC_PORT_DISCARD, 40000, 1000);
	static uint8_t data[1460];
	for (int k = 0; k < 50; k++) {
		h_peer_send(h, &p, TH_ACK | TH_PSH, data, sizeof(data));
		h_collect(h);
		while (h->out_count) {
			struct tcp_seg a = h_pop(h);
			assert_int_equal(a.len, 0);
			assert_int_equal(a.flags, TH_ACK);
		}
	}
	h_advance(h, 1 * SEC);
	assert_int_equal(h->last_sent.ack, p.seq); /* all taken */
	h_drop_output(h);
	h_peer_send(h, &p, TH_FIN | TH_ACK, NULL, 0);
	bool fin;
	assert_int_equal(receive(h, &p, data, sizeof(data), true, &fin), 0);
	assert_true(fin);
	services_stop(s, h->now);
	h_free(h);
}

/* RFC 864: chargen sends lines of 72 printable characters and CR LF; line
 * n holds characters n .. n + 71 of the 95 printable ASCII characters
 * (' ' .. '~') taken as a ring. It starts as soon as the client connects. */
static void test_rfc864_chargen_lines(void **state)
{
	(void)state;
	struct harness *h = h_new();
	struct services *s = start(h);
	struct h_peer p = h_open_to(h, SVC_PORT_CHARGEN, 40000, 1000);
	static uint8_t buf[200 * 74 + 2048];
	size_t got = 0;
	bool full = false;
	while (got < 200 * 74) { /* one window at a time, ACKed */
		h_collect(h);
		assert_true(h->out_count > 0);
		while (h->out_count) {
			struct tcp_seg seg = h_pop(h);
			assert_int_equal(seg.seq, p.ack);
			full = full || got + seg.len > sizeof(buf);
			if (!full) {
				memcpy(buf + got, seg.payload, seg.len);
				got += seg.len;
			}
			p.ack = seg.seq + seg.len;
		}
		h_peer_ack(h, &p);
	}
	size_t lines = got / 74;
	assert_true(lines >= 100); /* wraps the 95-character ring */
	for (size_t n = 0; n < lines; n++) {
		const uint8_t *line = buf + n * 74;
		for (size_t k = 0; k < 72; k++)
			if (line[k] != ' ' + (n + k) % 95)
				fail_msg("line %zu column %zu: '%c', want '%c'", n, k, line[k],
					 (char)(' ' + (n + k) % 95));
		assert_int_equal(line[72], '\r');
		assert_int_equal(line[73], '\n');
	}
	assert_memory_equal(buf, " !\"#$%&'()*+,-./0123456789", 26);
	services_stop(s, h->now);
	h_free(h);
}

/* Parses "Content-Length: N" out of an HTTP response head; -1 if absent. */
static long content_length(const char *head)
{
	const char *cl = strstr(head, "Content-Length: ");
	return cl ? strtol(cl + 16, NULL, 10) : -1;
}

/* Sends an HTTP/1.0 request and collects the whole response (the server
 * closes after it); returns the body length, head in `head`. */
static size_t http_get(struct harness *h, uint16_t port, const char *path, char *head, size_t head_cap,
		       uint8_t *body, size_t body_cap)
{
	struct h_peer p = h_open_to(h, SVC_PORT_HTTP, port, 1000);
	char req[300];
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: stack\r\n\r\n", path);
	h_peer_send(h, &p, TH_ACK | TH_PSH, req, (uint32_t)strlen(req));
	static uint8_t resp[300000];
	bool fin;
	size_t n = receive(h, &p, resp, sizeof(resp), true, &fin);
	assert_true(fin); /* HTTP/1.0: the server closes after the response */
	const uint8_t *end = memmem(resp, n, "\r\n\r\n", 4);
	assert_non_null(end);
	size_t hlen = (size_t)(end - resp) + 4;
	assert_true(hlen < head_cap);
	memcpy(head, resp, hlen);
	head[hlen] = '\0';
	assert_true(n - hlen <= body_cap);
	memcpy(body, resp + hlen, n - hlen);
	/* The client closes too; the server, having closed first, ends in TIME_WAIT. */
	h_peer_send(h, &p, TH_FIN | TH_ACK, NULL, 0);
	h_expect(h, SEG(.flags = TH_ACK, .ack = p.seq));
	assert_int_equal(h_state_of(h, SVC_PORT_HTTP, port), TCP_TIME_WAIT);
	return n - hlen;
}

/* The HTTP service: GET / answers 200 with a text body whose length the
 * Content-Length header gives. */
static void test_http_get_root(void **state)
{
	(void)state;
	struct harness *h = h_new();
	struct services *s = start(h);
	char head[1024];
	static uint8_t body[4096];
	size_t n = http_get(h, 40000, "/", head, sizeof(head), body, sizeof(body));
	assert_memory_equal(head, "HTTP/1.1 200 OK\r\n", 17);
	assert_non_null(strstr(head, "Content-Type: text/plain\r\n"));
	assert_int_equal(content_length(head), (long)n);
	assert_true(n > 0);
	assert_memory_equal(body, "tcplab stack host", 17);
	/* An unknown path is a 404 with an empty body. */
	n = http_get(h, 40001, "/nothing-here", head, sizeof(head), body, sizeof(body));
	assert_memory_equal(head, "HTTP/1.1 404 Not Found\r\n", 24);
	assert_int_equal(n, 0);
	services_stop(s, h->now);
	h_free(h);
}

/* The HTTP service: GET /bytes/N returns exactly N body bytes (chargen
 * text), announced in Content-Length, whatever N and the windows. */
static void test_http_get_bytes_n(void **state)
{
	(void)state;
	static const size_t sizes[] = { 0, 1, 1459, 1460, 1461, 100000, 250000 };
	static uint8_t body[300000];
	for (size_t i = 0; i < TL_ARRAY_SIZE(sizes); i++) {
		print_message("row %zu: /bytes/%zu\n", i, sizes[i]);
		struct harness *h = h_new();
		struct services *s = start(h);
		char head[1024], path[64];
		snprintf(path, sizeof(path), "/bytes/%zu", sizes[i]);
		size_t n = http_get(h, 40000, path, head, sizeof(head), body, sizeof(body));
		assert_memory_equal(head, "HTTP/1.1 200 OK\r\n", 17);
		assert_int_equal(content_length(head), (long)sizes[i]);
		assert_int_equal(n, sizes[i]);
		for (size_t k = 0; k < n; k++)
			if (body[k] != (k % 74 == 72 ? '\r' : k % 74 == 73 ? '\n' : ' ' + (k / 74 + k % 74) % 95))
				fail_msg("body byte %zu is '%c'", k, body[k]);
		services_stop(s, h->now);
		h_free(h);
	}
}

/* close-first (port 8001): the server greets and closes at once, so the
 * TIME_WAIT lands on the server: FIN_WAIT1 -> FIN_WAIT2 on the client's
 * ACK, TIME_WAIT on its FIN, CLOSE 60 s later. */
static void test_service_close_first_leaves_server_in_time_wait(void **state)
{
	(void)state;
	struct harness *h = h_new();
	struct services *s = start(h);
	struct h_peer p = h_open_to(h, SVC_PORT_CLOSE_FIRST, 40000, 1000);
	struct tcp_seg hello = h_peer_recv(h, &p, SEG(.flags = TH_ACK | TH_PSH));
	assert_memory_equal(hello.payload, "hello from tcplab\r\n", hello.len);
	h_peer_recv(h, &p, SEG(.flags = TH_FIN | TH_ACK));
	h_expect_nothing(h);
	assert_int_equal(h_state_of(h, SVC_PORT_CLOSE_FIRST, 40000), TCP_FIN_WAIT1);
	h_peer_ack(h, &p);
	assert_int_equal(h_state_of(h, SVC_PORT_CLOSE_FIRST, 40000), TCP_FIN_WAIT2);
	h_peer_send(h, &p, TH_FIN | TH_ACK, NULL, 0);
	h_expect(h, SEG(.flags = TH_ACK, .ack = p.seq));
	assert_int_equal(h_state_of(h, SVC_PORT_CLOSE_FIRST, 40000), TCP_TIME_WAIT);
	h_advance(h, 60 * SEC);
	assert_int_equal(h_state_of(h, SVC_PORT_CLOSE_FIRST, 40000), TCP_CLOSE);
	services_stop(s, h->now);
	h_free(h);
}

/* never-close (port 8002): the server reads EOF and never closes, so the
 * connection stays in CLOSE_WAIT after the client's FIN, for hours. */
static void test_service_never_close_stays_in_close_wait(void **state)
{
	(void)state;
	struct harness *h = h_new();
	struct services *s = start(h);
	for (uint16_t port = 40000; port < 40003; port++) {
		struct h_peer p = h_open_to(h, SVC_PORT_NEVER_CLOSE, port, 1000);
		struct tcp_seg hello = h_peer_recv(h, &p, SEG(.flags = TH_ACK | TH_PSH));
		assert_memory_equal(hello.payload, "hello from tcplab\r\n", hello.len);
		h_peer_send(h, &p, TH_FIN | TH_ACK, NULL, 0);
		assert_int_equal(h_state_of(h, SVC_PORT_NEVER_CLOSE, port), TCP_CLOSE_WAIT);
		h_advance(h, 40 * MS);
		h_expect(h, SEG(.flags = TH_ACK, .ack = p.seq)); /* the FIN's delayed ACK */
	}
	h_advance(h, 5 * 3600 * SEC);
	h_expect_nothing(h); /* no FIN ever */
	for (uint16_t port = 40000; port < 40003; port++)
		assert_int_equal(h_state_of(h, SVC_PORT_NEVER_CLOSE, port), TCP_CLOSE_WAIT);
	assert_int_equal(h_mib(h)->tcp.CurrEstab, 3);
	services_stop(s, h->now);
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc862_echo_returns_the_bytes),
		cmocka_unit_test(test_rfc863_discard_swallows),
		cmocka_unit_test(test_rfc864_chargen_lines),
		cmocka_unit_test(test_http_get_root),
		cmocka_unit_test(test_http_get_bytes_n),
		cmocka_unit_test(test_service_close_first_leaves_server_in_time_wait),
		cmocka_unit_test(test_service_never_close_stays_in_close_wait),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
