/*
 * test_drill.c - the packetdrill interpreter (tools/drill*.c): the lexer and
 * parser on small texts, and whole runs that exercise the sequence-number
 * mapping, the TS echo table and the verdicts on failures.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "drill.h"
#include "synack.h"
#include "wire/wire.h"

static enum dr_verdict parse(const char *text, struct dr_script *s, struct dr_result *res)
{
	struct dr_define d = {"STANDARD", ""};
	return dr_parse(text, &d, 1, s, res);
}

static void times_flags_and_options(void **state)
{
	struct dr_script s;
	struct dr_result res;
	assert_int_equal(parse("--tolerance_usecs=10000\n"
	                       "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
	                       "+.1 < S 0:0(0) win 65535 <mss 1460,sackOK,eol,eol>\n"
	                       "* > S. 0:0(0) ack 1 <mss 1460,nop,wscale 6,sackOK,TS val 100 ecr 0>\n"
	                       "1.0~1.2 > F. 1:1(0) ack 1 win 3\n"
	                       "+0...0.5 accept(3, ..., ...) = 4\n",
	                       &s, &res),
	                 DR_PASS);
	assert_int_equal(s.nev, 5);
	assert_int_equal(s.tol_us, 10000);
	assert_int_equal(s.ev[1].t.kind, DT_REL);
	assert_int_equal(s.ev[1].t.us, 100000);
	assert_false(s.ev[1].pkt.outbound);
	assert_int_equal(s.ev[1].pkt.flags, SN_TH_SYN);
	assert_int_equal(s.ev[1].pkt.nopts, 4);
	assert_int_equal(s.ev[1].pkt.opts[2].kind, SN_TCPOPT_EOL);
	assert_int_equal(s.ev[2].t.kind, DT_ANY);
	assert_int_equal(s.ev[2].pkt.flags, SN_TH_SYN | SN_TH_ACK);
	assert_int_equal(s.ev[2].pkt.opts[4].kind, SN_TCPOPT_TIMESTAMP);
	assert_int_equal(s.ev[2].pkt.opts[4].a, 100);
	assert_true(s.ev[3].t.range);
	assert_int_equal(s.ev[3].t.end_us, 1200000);
	assert_int_equal(s.ev[3].pkt.win, 3);
	assert_true(s.ev[4].t.blocking);
	assert_int_equal(s.ev[4].t.end_kind, DT_REL);
	assert_int_equal(s.ev[4].t.end_us, 500000);
	assert_int_equal(s.ev[4].call.ret, 4);
	dr_script_free(&s);
}

static void syscall_forms(void **state)
{
	struct dr_script s;
	struct dr_result res;
	assert_int_equal(parse("0 fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0\n"
	                       "+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)\n"
	                       "+0 getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNRESET], [4]) = 0\n"
	                       "+0 setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0\n"
	                       "+0 fcntl(3, F_GETFL) = 0x02 (flags O_RDWR)\n",
	                       &s, &res),
	                 DR_PASS);
	assert_int_equal(s.nev, 5);
	assert_int_equal(s.ev[0].call.args[2].v, O_RDWR | O_NONBLOCK);
	assert_int_equal(s.ev[1].call.ret, -1);
	assert_int_equal(s.ev[1].call.err, EINPROGRESS);
	assert_int_equal(s.ev[2].call.args[3].kind, DA_LIST);
	assert_int_equal(s.ev[2].call.args[3].items[0].v, ECONNRESET);
	assert_int_equal(s.ev[3].call.args[3].kind, DA_STRUCT);
	assert_string_equal(s.ev[3].call.args[3].items[1].field, "linger");
	assert_int_equal(s.ev[4].call.ret, 2);
	dr_script_free(&s);
}

static void ifdef_shell_and_python(void **state)
{
	struct dr_script s;
	struct dr_result res;
	assert_int_equal(parse("0 `sysctl -w net.inet.tcp.insecure_rst=1`\n"
	                       "#ifdef FreeBSD\n"
	                       "+0 > S. ...(0) ack 1 win 65535\n"
	                       "#endif\n"
	                       "#ifdef STANDARD\n"
	                       "+0 `sockstat -4 -P tcp -s | grep packetdril | grep -c TIME_WAIT | grep 1`\n"
	                       "#endif\n"
	                       "+0 %{ assert tcpi_state == 4 }%\n",
	                       &s, &res),
	                 DR_PASS);
	assert_int_equal(s.nev, 3);
	assert_int_equal(s.ev[0].sh.kind, SH_SYSCTL);
	assert_int_equal(s.ev[0].sh.knob, DR_KNOB_INSECURE_RST);
	assert_int_equal(s.ev[0].sh.value, 1);
	assert_int_equal(s.ev[1].sh.kind, SH_STATE);
	assert_int_equal(s.ev[1].sh.state, SN_TIME_WAIT);
	assert_int_equal(s.ev[1].sh.count, 1);
	assert_int_equal(s.ev[1].line, 6); /* lines keep their numbers */
	assert_int_equal(s.ev[2].sh.state, SN_ESTABLISHED);
	assert_int_equal(s.ev[2].sh.count, -1);
	dr_script_free(&s);
}

static void outside_the_subset_is_skip(void **state)
{
	static const char *const skips[] = {
		"--ip_version=ipv6\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n",
		"0 `ss -tn`\n",
		"0 sendmsg(3, {}, 0) = 0\n",
		"0 > S 0:0(0) <mss 1460,FO 0102030405060708090a0b0c0d0e0f1011,nop,nop>\n",
		"0 < [ect0] S 0:0(0) win 100\n",
		"0 %{ assert tcpi_snd_cwnd == 10 }%\n",
		"0 setsockopt(3, IPPROTO_TCP, TCP_FASTOPEN, [1], 4) = 0\n",
		"0 `sysctl -w net.inet.tcp.mssdflt=1000`\n",
	};
	for (size_t i = 0; i < sizeof(skips) / sizeof(skips[0]); i++) {
		struct dr_script s;
		struct dr_result res;
		assert_int_equal(parse(skips[i], &s, &res), DR_SKIP);
		assert_non_null(strstr(res.msg, "unsupported"));
	}
}

static void syntax_errors_name_the_line(void **state)
{
	static const char *const bad[] = {
		"0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\n+0 < S 0:0(0)\n",  /* no win */
		"0 < S 0:0(0) win 1 <mss 1460>\n\n\n",                            /* valid: 4 bytes */
		"0 socket(..., SOCK_STREAM\n",
		"0 < S 0:0(0) win 1 <mss 1460,nop>\n",                            /* 5 bytes */
		"#ifdef X\n0 close(3) = 0\n",
		"0 /* never closed\n",
		"0 close(3) = ",
	};
	int expect_line[] = {3, 0, 1, 1, 1, 1, 1};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct dr_script s;
		struct dr_result res;
		enum dr_verdict v = parse(bad[i], &s, &res);
		if (expect_line[i] == 0) {
			assert_int_equal(v, DR_PASS);
			dr_script_free(&s);
			continue;
		}
		assert_int_equal(v, DR_FAIL);
		char want[32];
		snprintf(want, sizeof(want), "line %d:", expect_line[i]);
		assert_non_null(strstr(res.msg, want));
	}
}

/* Whole runs: the stack's ISN is random, the script's numbers relative. */
static enum dr_verdict run(const char *text, const char *profile, struct dr_result *res)
{
	struct dr_script s;
	enum dr_verdict v = parse(text, &s, res);
	if (v != DR_PASS)
		return v;
	dr_run(&s, profile, false, res);
	dr_script_free(&s);
	return res->verdict;
}

static const char *handshake =
	"0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
	"+0 bind(3, ..., ...) = 0\n"
	"+0 listen(3, 1) = 0\n"
	"+0 < S 4000000000:4000000000(0) win 65535 <mss 1460,nop,nop,TS val 7 ecr 0>\n"
	"+0 > S. 1234:1234(0) ack 4000000001 win 65535 <mss 1460,nop,nop,TS val 99 ecr 7>\n"
	"+.01 < . 1:1(0) ack 1 win 65535 <nop,nop,TS val 8 ecr 99>\n"
	"+0 accept(3, ..., ...) = 4\n";

static void sequence_mapping_across_wrap(void **state)
{
	struct dr_result res;
	char text[1024];
	/* The peer's ISN 4000000000: its relative numbers wrap past 2^32. */
	snprintf(text, sizeof(text), "%s%s", handshake,
	         "+0 < P. 1:1001(1000) ack 1 win 65535 <nop,nop,TS val 9 ecr 99>\n"
	         "+.04 > . 1:1(0) ack 1001 <nop,nop,TS val 140 ecr 9>\n"
	         "+0 write(4, ..., 10) = 10\n"
	         "+0 > P. 1:11(10) ack 1001 <...>\n");
	assert_int_equal(run(text, "synack", &res), DR_PASS);

	/* A wrong ack is reported with both segments, in script numbers. */
	snprintf(text, sizeof(text), "%s%s", handshake,
	         "+0 < P. 1:1001(1000) ack 1 win 65535 <nop,nop,TS val 9 ecr 99>\n"
	         "+.04 > . 1:1(0) ack 1000 <nop,nop,TS val 140 ecr 9>\n");
	assert_int_equal(run(text, "synack", &res), DR_FAIL);
	assert_non_null(strstr(res.msg, "line 9"));
	assert_non_null(strstr(res.msg, "ack number"));
	assert_non_null(strstr(res.msg, "ack 1001"));
}

static void ts_echo_needs_a_sent_value(void **state)
{
	struct dr_result res;
	char text[1024];
	snprintf(text, sizeof(text), "%s%s", handshake,
	         "+0 < . 1:1(0) ack 1 win 65535 <nop,nop,TS val 9 ecr 98>\n");
	assert_int_equal(run(text, "synack", &res), DR_FAIL);
	assert_non_null(strstr(res.msg, "unable to infer live TS ecr"));
}

static void timing_and_return_values(void **state)
{
	struct dr_result res;
	char text[1024];
	/* The delayed ACK comes 40 ms after the data: not by 10 ms ... */
	snprintf(text, sizeof(text), "%s%s", handshake,
	         "+0 < P. 1:11(10) ack 1 win 65535 <nop,nop,TS val 9 ecr 99>\n"
	         "+.01 > . 1:1(0) ack 11 <...>\n");
	assert_int_equal(run(text, "synack", &res), DR_FAIL);
	assert_non_null(strstr(res.msg, "timed out waiting for packet"));
	/* ... and earlier than 100 ms: a timing error. */
	snprintf(text, sizeof(text), "%s%s", handshake,
	         "+0 < P. 1:11(10) ack 1 win 65535 <nop,nop,TS val 9 ecr 99>\n"
	         "+.1 > . 1:1(0) ack 11 <...>\n");
	assert_int_equal(run(text, "synack", &res), DR_FAIL);
	assert_non_null(strstr(res.msg, "timing error"));
	assert_non_null(strstr(res.msg, "sent at 0.050000"));

	snprintf(text, sizeof(text), "%s%s", handshake, "+0 read(4, ..., 10) = 0\n");
	assert_int_equal(run(text, "synack", &res), DR_FAIL);
	assert_non_null(strstr(res.msg, "read() blocked"));

	assert_int_equal(run("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
	                     "+0 close(3) = 0\n+0 close(3) = -1 EBADF (Bad file descriptor)\n",
	                     "synack", &res),
	                 DR_PASS);
	assert_int_equal(run("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n", "nosuch", &res), DR_FAIL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(times_flags_and_options),
		cmocka_unit_test(syscall_forms),
		cmocka_unit_test(ifdef_shell_and_python),
		cmocka_unit_test(outside_the_subset_is_skip),
		cmocka_unit_test(syntax_errors_name_the_line),
		cmocka_unit_test(sequence_mapping_across_wrap),
		cmocka_unit_test(ts_echo_needs_a_sent_value),
		cmocka_unit_test(timing_and_return_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
