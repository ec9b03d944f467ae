/*
 * siphash.c - SipHash-2-4 (see siphash.h), after the reference code:
 * two compression rounds per 8-byte word, four finalisation rounds,
 * little-endian words, the length in the top byte of the last word.
 */
#include <string.h>

#include "siphash.h"

#define SIP_ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIP_ROUND(v0, v1, v2, v3) do { \
	v0 += v1; v1 = SIP_ROTL(v1, 13); v1 ^= v0; v0 = SIP_ROTL(v0, 32); \
	v2 += v3; v3 = SIP_ROTL(v3, 16); v3 ^= v2; \
	v0 += v3; v3 = SIP_ROTL(v3, 21); v3 ^= v0; \
	v2 += v1; v1 = SIP_ROTL(v1, 17); v1 ^= v2; v2 = SIP_ROTL(v2, 32); \
} while (0)

/* sip_le64 - 8 bytes, little-endian, whatever the host */
static uint64_t
sip_le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

uint64_t
rg_siphash24(const unsigned char key[RG_SIPHASH_KEY_LEN], const void *data,
    size_t len)
{
	const unsigned char *p = data;
	uint64_t k0 = sip_le64(key), k1 = sip_le64(key + 8), m;
	uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
	uint64_t v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
	uint64_t v3 = 0x7465646279746573ULL ^ k1;
	unsigned char last[8] = { 0 };
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		m = sip_le64(p + i);
		v3 ^= m;
		SIP_ROUND(v0, v1, v2, v3);
		SIP_ROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	if (len > i)
		memcpy(last, p + i, len - i);
	last[7] = (unsigned char)len;
	m = sip_le64(last);
	v3 ^= m;
	SIP_ROUND(v0, v1, v2, v3);
	SIP_ROUND(v0, v1, v2, v3);
	v0 ^= m;
	v2 ^= 0xff;
	for (int r = 0; r < 4; r++)
		SIP_ROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}
