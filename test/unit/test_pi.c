/*
 * CRC-16 T10-DIF and protection information on buffers: the standard's
 * check value and vectors computed by a separate bit-at-a-time CRC (the
 * Python of the commit that added this test), tuples worked out by hand,
 * each PI type's rules, the escape values, both metadata layouts.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <nvpoll.h>

#define LBA 512u

/* Bit at a time, as the polynomial reads: a second implementation the table is checked against. */
static uint16_t crc_bitwise(const uint8_t *p, size_t len)
{
	uint16_t c = 0;

	for (size_t i = 0; i < len; i++) {
		c ^= (uint16_t)(p[i] << 8);
		for (int k = 0; k < 8; k++)
			c = (uint16_t)(c & 0x8000 ? (c << 1) ^ 0x8bb7 : c << 1);
	}
	return c;
}

static void test_crc_vectors(void **state)
{
	uint8_t buf[LBA], seq[256];

	(void)state;
	assert_int_equal(nvp_crc16_t10dif(0, "123456789", 9), 0xd0db);
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(nvp_crc16_t10dif(0, buf, sizeof(buf)), 0xe6a1);
	for (unsigned i = 0; i < 256; i++)
		seq[i] = (uint8_t)i;
	assert_int_equal(nvp_crc16_t10dif(0, seq, sizeof(seq)), 0x563b);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(nvp_crc16_t10dif(0, buf, sizeof(buf)), 0);
	assert_int_equal(nvp_crc16_t10dif(0, buf, 0), 0);
	/* Continuing a CRC is the CRC of the whole. */
	assert_int_equal(nvp_crc16_t10dif(nvp_crc16_t10dif(0, "1234", 4), "56789", 5), 0xd0db);
	/* Random buffers of every length up to 300 against the bitwise CRC. */
	srand(15);
	for (size_t len = 0; len <= 300; len++) {
		uint8_t r[300];

		for (size_t i = 0; i < len; i++)
			r[i] = (uint8_t)rand();
		assert_int_equal(nvp_crc16_t10dif(0, r, len), crc_bitwise(r, len));
	}
}

static struct nvp_ns_info fmt(uint16_t ms, uint8_t type, uint8_t first, uint8_t ext)
{
	return (struct nvp_ns_info){ .lba_size = LBA, .ms = ms, .pi_type = type, .pi_first = first,
				     .md_extended = ext };
}

static const uint8_t *tuple_of(const uint8_t *md, unsigned ms, unsigned i, unsigned off)
{
	return md + i * ms + off;
}

/* Type 1, separate metadata: hand-worked tuples, then each check failing alone. */
static void test_type1_separate(void **state)
{
	struct nvp_ns_info f = fmt(8, 1, 0, 0);
	struct nvp_pi_args pi = { .flags = NVP_PI_CHECK_ALL, .ref_tag = 100, .app_tag = 0x1234, .app_mask = 0xffff };
	uint8_t data[4 * LBA], md[4 * 8];
	static const uint8_t t0[8] = { 0xe6, 0xa1, 0x12, 0x34, 0, 0, 0, 100 };
	static const uint8_t t3[8] = { 0xe6, 0xa1, 0x12, 0x34, 0, 0, 0, 103 };
	struct nvp_pi_error where = { 0 };
	struct nvp_pi_args other;

	(void)state;
	memset(data, 0xff, sizeof(data));
	assert_int_equal(nvp_pi_generate(&f, data, md, 4, &pi), 0);
	assert_memory_equal(tuple_of(md, 8, 0, 0), t0, 8);
	assert_memory_equal(tuple_of(md, 8, 3, 0), t3, 8);
	assert_int_equal(nvp_pi_verify(&f, data, md, 4, &pi, &where), 0);

	data[2 * LBA + 7] ^= 0x10;
	assert_int_equal(nvp_pi_verify(&f, data, md, 4, &pi, &where), -EILSEQ);
	assert_int_equal(where.block, 2);
	assert_int_equal(where.status, NVME_STATUS_CODE(NVME_SCT_MEDIA, NVME_SC_GUARD_CHECK));
	assert_non_null(strstr(nvp_errmsg(), "End-to-end Guard Check Error at block 2"));
	other = pi;
	other.flags = NVP_PI_CHECK_APP | NVP_PI_CHECK_REF;
	assert_int_equal(nvp_pi_verify(&f, data, md, 4, &other, NULL), 0);
	data[2 * LBA + 7] ^= 0x10;

	other = pi;
	other.app_tag = 0x1235;
	assert_int_equal(nvp_pi_verify(&f, data, md, 4, &other, &where), -EILSEQ);
	assert_int_equal(where.status, NVME_STATUS_CODE(NVME_SCT_MEDIA, NVME_SC_APPTAG_CHECK));
	assert_int_equal(where.block, 0);
	assert_non_null(strstr(nvp_errmsg(), "End-to-end Application Tag Check Error"));
	other.app_mask = 0xfffe; /* the differing bit is not checked */
	assert_int_equal(nvp_pi_verify(&f, data, md, 4, &other, NULL), 0);

	other = pi;
	other.ref_tag = 101;
	assert_int_equal(nvp_pi_verify(&f, data, md, 4, &other, &where), -EILSEQ);
	assert_int_equal(where.status, NVME_STATUS_CODE(NVME_SCT_MEDIA, NVME_SC_REFTAG_CHECK));
	assert_non_null(strstr(nvp_errmsg(), "End-to-end Reference Tag Check Error"));
	other.flags = NVP_PI_CHECK_GUARD | NVP_PI_CHECK_APP;
	assert_int_equal(nvp_pi_verify(&f, data, md, 4, &other, NULL), 0);

	/* Escape: app tag 0xffff turns block 1's checks off, even a bad guard. */
	md[1 * 8 + 2] = md[1 * 8 + 3] = 0xff;
	data[LBA] ^= 1;
	assert_int_equal(nvp_pi_verify(&f, data, md, 4, &pi, NULL), 0);
	md[1 * 8 + 3] = 0xfe;
	assert_int_equal(nvp_pi_verify(&f, data, md, 4, &pi, &where), -EILSEQ);
	assert_int_equal(where.block, 1);
}

/* Type 2 takes any starting reference tag; type 3 neither increments nor checks it. */
static void test_type2_type3(void **state)
{
	struct nvp_ns_info f2 = fmt(8, 2, 0, 0), f3 = fmt(8, 3, 0, 0);
	struct nvp_pi_args pi = { .flags = NVP_PI_CHECK_ALL, .ref_tag = 0xfffffffe, .app_tag = 7, .app_mask = 0xffff };
	uint8_t data[3 * LBA], md[3 * 8];
	struct nvp_pi_error where;
	struct nvp_pi_args other = pi;

	(void)state;
	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	assert_int_equal(nvp_pi_generate(&f2, data, md, 3, &pi), 0);
	/* 0xfffffffe, 0xffffffff, then 0 (the count wraps). */
	assert_memory_equal(tuple_of(md, 8, 2, 4), "\0\0\0\0", 4);
	assert_memory_equal(tuple_of(md, 8, 1, 4), "\xff\xff\xff\xff", 4);
	assert_int_equal(nvp_pi_verify(&f2, data, md, 3, &pi, NULL), 0);
	other.ref_tag = 5;
	assert_int_equal(nvp_pi_verify(&f2, data, md, 3, &other, &where), -EILSEQ);
	assert_int_equal(where.status, NVME_STATUS_CODE(NVME_SCT_MEDIA, NVME_SC_REFTAG_CHECK));

	pi.ref_tag = 0x01020304;
	assert_int_equal(nvp_pi_generate(&f3, data, md, 3, &pi), 0);
	for (unsigned i = 0; i < 3; i++)
		assert_memory_equal(tuple_of(md, 8, i, 4), "\x01\x02\x03\x04", 4);
	other = pi;
	other.ref_tag = 99; /* type 3: not checked */
	assert_int_equal(nvp_pi_verify(&f3, data, md, 3, &other, NULL), 0);
	/* Type 3's escape needs both tags: app 0xffff alone still checks. */
	data[5] ^= 1;
	md[2] = md[3] = 0xff;
	assert_int_equal(nvp_pi_verify(&f3, data, md, 3, &pi, &where), -EILSEQ);
	assert_int_equal(where.status, NVME_STATUS_CODE(NVME_SCT_MEDIA, NVME_SC_GUARD_CHECK));
	memset(md + 4, 0xff, 4);
	assert_int_equal(nvp_pi_verify(&f3, data, md, 3, &pi, NULL), 0);
}

/* Extended LBAs, 16 bytes of metadata: PI last (the guard covers the 8 bytes before it) or first. */
static void test_extended(void **state)
{
	struct nvp_ns_info last = fmt(16, 1, 0, 1), first = fmt(16, 1, 1, 1);
	struct nvp_pi_args pi = { .flags = NVP_PI_CHECK_ALL, .ref_tag = 9, .app_tag = 0, .app_mask = 0xffff };
	enum { STRIDE = LBA + 16 };
	uint8_t buf[2 * STRIDE];
	struct nvp_pi_error where;

	(void)state;
	for (unsigned b = 0; b < 2; b++) {
		memset(buf + b * STRIDE, 0xff, LBA);
		memset(buf + b * STRIDE + LBA, 0xab, 16);
	}
	assert_int_equal(nvp_pi_generate(&last, buf, NULL, 2, &pi), 0);
	assert_memory_equal(buf + LBA, "\xab\xab\xab\xab\xab\xab\xab\xab", 8); /* left alone */
	assert_memory_equal(buf + LBA + 8, "\x10\x97\0\0\0\0\0\x09", 8);
	assert_memory_equal(buf + STRIDE + LBA + 8, "\x10\x97\0\0\0\0\0\x0a", 8);
	assert_int_equal(nvp_pi_verify(&last, buf, NULL, 2, &pi, NULL), 0);
	/* A metadata byte before the PI is covered by the guard. */
	buf[STRIDE + LBA + 3] = 0;
	assert_int_equal(nvp_pi_verify(&last, buf, NULL, 2, &pi, &where), -EILSEQ);
	assert_int_equal(where.block, 1);

	memset(buf + LBA, 0xab, 16);
	memset(buf + STRIDE + LBA, 0xab, 16);
	assert_int_equal(nvp_pi_generate(&first, buf, NULL, 2, &pi), 0);
	assert_memory_equal(buf + LBA, "\xe6\xa1\0\0\0\0\0\x09", 8);
	assert_memory_equal(buf + LBA + 8, "\xab\xab\xab\xab\xab\xab\xab\xab", 8);
	assert_int_equal(nvp_pi_verify(&first, buf, NULL, 2, &pi, NULL), 0);
	/* With PI first, the other metadata bytes are not covered. */
	buf[LBA + 12] = 0;
	assert_int_equal(nvp_pi_verify(&first, buf, NULL, 2, &pi, NULL), 0);
	/* The same bytes read as PI-last fail. */
	assert_int_equal(nvp_pi_verify(&last, buf, NULL, 2, &pi, NULL), -EILSEQ);
}

static void test_bad_args(void **state)
{
	struct nvp_ns_info none = fmt(8, 0, 0, 0), small = fmt(4, 1, 0, 0), sep = fmt(8, 1, 0, 0),
			   ext = fmt(8, 1, 0, 1);
	struct nvp_pi_args pi = { 0 };
	uint8_t data[LBA + 8], md[8];

	(void)state;
	assert_int_equal(nvp_pi_generate(&none, data, md, 1, &pi), -EINVAL);
	assert_non_null(strstr(nvp_errmsg(), "no protection information"));
	assert_int_equal(nvp_pi_generate(&small, data, md, 1, &pi), -EINVAL);
	assert_non_null(strstr(nvp_errmsg(), "cannot hold the 8-byte PI"));
	assert_int_equal(nvp_pi_verify(&sep, data, NULL, 1, &pi, NULL), -EINVAL);
	assert_non_null(strstr(nvp_errmsg(), "md is NULL"));
	assert_int_equal(nvp_pi_generate(&ext, data, md, 1, &pi), -EINVAL);
	assert_int_equal(nvp_pi_generate(NULL, data, md, 1, &pi), -EINVAL);
	assert_int_equal(nvp_pi_verify(&sep, data, md, 1, NULL, NULL), -EINVAL);
	assert_int_equal(nvp_pi_generate(&ext, data, NULL, 0, &pi), 0); /* nothing to do */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc_vectors),
		cmocka_unit_test(test_type1_separate),
		cmocka_unit_test(test_type2_type3),
		cmocka_unit_test(test_extended),
		cmocka_unit_test(test_bad_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
