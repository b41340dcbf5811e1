/*
 * test_pcap.c - the pcap writer: file layout byte for byte, errors, and (when
 * tshark is installed) that a real dissector reads what we write.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "synack.h"

#ifndef TSHARK
#define TSHARK "/usr/bin/tshark"
#endif

struct fixture {
	char dir[256];
	char path[300];
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	const char *tmp = getenv("TMPDIR");

	if (!fx)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "%s/synack-pcap-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(fx->dir)) {
		free(fx);
		return -1;
	}
	snprintf(fx->path, sizeof(fx->path), "%s/capture.pcap", fx->dir);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	unlink(fx->path);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* The whole file, or NULL; *len gets its size. */
static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long size;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)size + 1);
		if (buf && fread(buf, 1, (size_t)size, f) != (size_t)size) {
			free(buf);
			buf = NULL;
		}
		*len = (size_t)size;
	}
	fclose(f);
	return buf;
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

static void test_three_frames(void **state)
{
	struct fixture *fx = *state;
	static const size_t lens[3] = { 60, 1514, 0 };
	static const uint64_t stamps[3] = { 0, 1500000, 4321123456789ULL };
	uint8_t frames[3][1514];
	struct sn_pcap *p;
	uint8_t *file;
	size_t size = 0, off;
	int err = 1;

	for (int i = 0; i < 3; i++)
		for (size_t k = 0; k < sizeof(frames[i]); k++)
			frames[i][k] = (uint8_t)(k * 31 + i * 7 + 1);

	p = sn_pcap_open(fx->path, &err);
	assert_non_null(p);
	assert_int_equal(err, 0);
	assert_int_equal(sn_pcap_write(p, frames[0], lens[0], stamps[0]), 0);
	/* The capture hook writes the same records, whichever the direction. */
	sn_pcap_capture(p, SN_DIR_IN, frames[1], lens[1], stamps[1]);
	assert_int_equal(sn_pcap_write(p, frames[2], lens[2], stamps[2]), 0);
	assert_int_equal(sn_pcap_close(p), 0);

	file = slurp(fx->path, &size);
	assert_non_null(file);
	assert_int_equal(size, 24 + 3 * 16 + lens[0] + lens[1] + lens[2]);

	/* Global header, in host order as libpcap writes it. */
	assert_int_equal(get32(file), 0xa1b2c3d4u);
	assert_int_equal(get16(file + 4), 2);
	assert_int_equal(get16(file + 6), 4);
	assert_int_equal(get32(file + 8), 0);
	assert_int_equal(get32(file + 12), 0);
	assert_int_equal(get32(file + 16), 262144);
	assert_int_equal(get32(file + 20), 1);

	off = 24;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(get32(file + off), stamps[i] / 1000000);
		assert_int_equal(get32(file + off + 4), stamps[i] % 1000000);
		assert_int_equal(get32(file + off + 8), lens[i]);
		assert_int_equal(get32(file + off + 12), lens[i]);
		off += 16;
		if (lens[i])
			assert_memory_equal(file + off, frames[i], lens[i]);
		off += lens[i];
	}
	assert_int_equal(off, size);
	free(file);
}

static void test_open_missing_directory(void **state)
{
	struct fixture *fx = *state;
	char bad[400];
	int err = 0;

	snprintf(bad, sizeof(bad), "%s/no-such-dir/capture.pcap", fx->dir);
	assert_null(sn_pcap_open(bad, &err));
	assert_int_equal(err, -ENOENT);
	/* err is optional. */
	assert_null(sn_pcap_open(bad, NULL));
}

static void test_write_error_is_kept(void **state)
{
	struct sn_pcap *p;
	uint8_t frame[1500] = { 0 };
	int err = 1, first = 0;

	if (access("/dev/full", W_OK) != 0) {
		print_message("skipped: /dev/full is not writable here\n");
		skip();
	}
	/* The header fits in the stdio buffer, so the open itself succeeds. */
	p = sn_pcap_open("/dev/full", &err);
	assert_non_null(p);
	assert_int_equal(err, 0);
	/* Enough frames to overflow the buffer; the first failure is remembered. */
	for (int i = 0; i < 100 && !first; i++)
		first = sn_pcap_write(p, frame, sizeof(frame), (uint64_t)i);
	assert_int_equal(first, -ENOSPC);
	assert_int_equal(sn_pcap_write(p, frame, 60, 1000), -ENOSPC);
	sn_pcap_capture(p, SN_DIR_OUT, frame, 60, 1000);
	assert_int_equal(sn_pcap_close(p), -ENOSPC);
}

static void test_error_only_at_close(void **state)
{
	struct sn_pcap *p;
	uint8_t frame[60] = { 0 };

	if (access("/dev/full", W_OK) != 0) {
		print_message("skipped: /dev/full is not writable here\n");
		skip();
	}
	p = sn_pcap_open("/dev/full", NULL);
	assert_non_null(p);
	assert_int_equal(sn_pcap_write(p, frame, sizeof(frame), 0), 0);
	assert_int_equal(sn_pcap_close(p), -ENOSPC);
	assert_int_equal(sn_pcap_close(NULL), 0);
}

/* RFC 1071 Internet checksum over len bytes. */
static uint16_t inet_csum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16be(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* An ICMP echo request from 198.18.0.1 to 198.18.0.2 in an Ethernet frame. */
static size_t build_ping(uint8_t *f)
{
	static const uint8_t dst[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	static const uint8_t src[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	static const uint8_t saddr[4] = { 198, 18, 0, 1 };
	static const uint8_t daddr[4] = { 198, 18, 0, 2 };
	uint8_t *ip = f + 14, *icmp = ip + 20;
	const size_t payload = 32;
	const size_t ip_len = 20 + 8 + payload;

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	put16be(f + 12, 0x0800);

	memset(ip, 0, 20);
	ip[0] = 0x45;                       /* version 4, 5 words of header */
	put16be(ip + 2, (uint16_t)ip_len);
	put16be(ip + 4, 0x1234);            /* identification */
	put16be(ip + 6, 0x4000);            /* don't fragment */
	ip[8] = 64;                         /* TTL */
	ip[9] = 1;                          /* ICMP */
	memcpy(ip + 12, saddr, 4);
	memcpy(ip + 16, daddr, 4);
	put16be(ip + 10, inet_csum(ip, 20));

	memset(icmp, 0, 8);
	icmp[0] = 8;                        /* echo request */
	put16be(icmp + 4, 0xbeef);          /* identifier */
	put16be(icmp + 6, 1);               /* sequence */
	for (size_t i = 0; i < payload; i++)
		icmp[8 + i] = (uint8_t)('a' + i % 26);
	put16be(icmp + 2, inet_csum(icmp, 8 + payload));
	return 14 + ip_len;
}

static void test_tshark_reads_it(void **state)
{
	struct fixture *fx = *state;
	uint8_t frame[128];
	size_t len = build_ping(frame);
	char cmd[512], out[512] = "";
	struct sn_pcap *p;
	FILE *pipe;
	size_t n;

	/* The checksums are right by construction: verifying them yields zero. */
	assert_int_equal(inet_csum(frame + 14, 20), 0);
	assert_int_equal(inet_csum(frame + 34, len - 34), 0);
	if (access(TSHARK, X_OK) != 0) {
		print_message("skipped: " TSHARK " is not installed\n");
		skip();
	}
	p = sn_pcap_open(fx->path, NULL);
	assert_non_null(p);
	assert_int_equal(sn_pcap_write(p, frame, len, 1700000000123456ULL), 0);
	assert_int_equal(sn_pcap_close(p), 0);

	/* Ask for the checksum verdicts too: 1 is "good" for both fields. */
	snprintf(cmd, sizeof(cmd),
	         TSHARK " -r '%s' -o ip.check_checksum:TRUE -T fields -E separator=, "
	                "-e frame.protocols -e ip.checksum.status -e icmp.checksum.status "
	                "2>/dev/null",
	         fx->path);
	pipe = popen(cmd, "r");
	assert_non_null(pipe);
	n = fread(out, 1, sizeof(out) - 1, pipe);
	out[n] = '\0';
	assert_int_equal(pclose(pipe), 0);
	print_message("tshark: %s", out);
	assert_non_null(strstr(out, "eth:ethertype:ip:icmp"));
	assert_non_null(strstr(out, ",1,1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_three_frames, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_missing_directory, setup, teardown),
		cmocka_unit_test(test_write_error_is_kept),
		cmocka_unit_test(test_error_only_at_close),
		cmocka_unit_test_setup_teardown(test_tshark_reads_it, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
