/*
 * siphash.h - SipHash-2-4, a keyed hash for tables whose keys come from
 * outside (client addresses, sender addresses): with a random key, a
 * client cannot choose keys that all land in one bucket. Pure function,
 * thread-safe. Reference: Aumasson and Bernstein, "SipHash: a fast
 * short-input PRF" (2012); the test vector is from that paper.
 */
#ifndef RG_SIPHASH_H
#define RG_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define RG_SIPHASH_KEY_LEN 16

uint64_t rg_siphash24(const unsigned char key[RG_SIPHASH_KEY_LEN],
    const void *data, size_t len);

#endif
