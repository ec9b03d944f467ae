/*
 * dkim_keycache.c - DKIM public keys kept decoded (see dkim.h)
 *
 * libopendkim turns the p= of each key record into an OpenSSL key with
 * d2i_PUBKEY_bio() and frees it after the one signature. With OpenSSL 3.0
 * that decoding walks every decoder of the provider, and RSA_verify() then
 * converts the key once more: about 95 us per signature on the benchmark
 * machine, an eighth of relayguard's CPU per message, for a key that is
 * the same for every message of a sender. libopendkim has no call that
 * takes a decoded key, so relayguard defines d2i_PUBKEY_bio() itself: the
 * dynamic linker binds libopendkim's call to the executable's definition
 * before libcrypto's (ELF symbol interposition; the definition lives in
 * this object, which rg_dkim_keycache_stats() pulls into every program
 * linked with the policy library).
 *
 * For a memory BIO (what libopendkim passes) with no output argument, the
 * DER bytes are looked up by content. A hit returns the kept key with one
 * more reference, which libopendkim's EVP_PKEY_free() gives back; a miss
 * decodes with d2i_PUBKEY() and keeps the result. Every other call goes to
 * libcrypto's own function, found with dlsym(RTLD_NEXT).
 *
 * The entry's name is the bytes themselves: a changed key record is a new
 * entry, never a stale key, so nothing expires. Bounded: KC_SLOTS entries
 * of at most KC_DER_MAX bytes, direct-mapped by SipHash of the bytes under
 * a random key, a new key replacing the slot's old one. Shared keys are
 * only read: the conversion EVP_PKEY_get1_RSA() caches inside the key is
 * made under the key's lock, and RSA public operations on one key are
 * thread-safe in OpenSSL 3. One mutex, held for a compare and a reference
 * count; decoding happens outside it.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "dkim.h"
#include "siphash.h"
#include "xalloc.h"

#define KC_SLOTS	1024
#define KC_DER_MAX	2048	/* RSA 8192 is about 1.1 KB of DER */

struct kc_entry {
	EVP_PKEY *pkey;
	long used;			/* bytes the DER object took */
	size_t len;
	unsigned char der[];
};

static pthread_mutex_t kc_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t kc_once = PTHREAD_ONCE_INIT;
static unsigned char kc_key[RG_SIPHASH_KEY_LEN];
static struct kc_entry *kc_slot[KC_SLOTS];
static size_t kc_entries;
static atomic_ullong kc_hits, kc_misses;

typedef EVP_PKEY *(*kc_d2i_fn)(BIO *, EVP_PKEY **);
static kc_d2i_fn kc_libcrypto;

static void
kc_init(void)
{
	if (getrandom(kc_key, sizeof(kc_key), 0) != (ssize_t)sizeof(kc_key))
		memset(kc_key, 0x5c, sizeof(kc_key));	/* still bounded */
	kc_libcrypto = (kc_d2i_fn)dlsym(RTLD_NEXT, "d2i_PUBKEY_bio");
}

/* kc_lookup - the kept key for these bytes, with a reference for the
 * caller; *used: the length of the DER object in them */
static EVP_PKEY *
kc_lookup(size_t slot, const unsigned char *der, size_t len, long *used)
{
	struct kc_entry *e;
	EVP_PKEY *pk = NULL;

	pthread_mutex_lock(&kc_lock);
	e = kc_slot[slot];
	if (e != NULL && e->len == len && memcmp(e->der, der, len) == 0 &&
	    EVP_PKEY_up_ref(e->pkey) == 1) {
		pk = e->pkey;
		*used = e->used;
	}
	pthread_mutex_unlock(&kc_lock);
	return pk;
}

/* kc_keep - keep PK for these bytes; the caller keeps its own reference */
static void
kc_keep(size_t slot, const unsigned char *der, size_t len, long used,
    EVP_PKEY *pk)
{
	struct kc_entry *e, *old;

	if (EVP_PKEY_up_ref(pk) != 1)
		return;
	e = rg_xmalloc(sizeof(*e) + len);
	e->pkey = pk;
	e->used = used;
	e->len = len;
	memcpy(e->der, der, len);
	pthread_mutex_lock(&kc_lock);
	old = kc_slot[slot];
	kc_slot[slot] = e;
	if (old == NULL)
		kc_entries++;
	pthread_mutex_unlock(&kc_lock);
	if (old != NULL) {
		EVP_PKEY_free(old->pkey);
		free(old);
	}
}

EVP_PKEY *
d2i_PUBKEY_bio(BIO *bp, EVP_PKEY **a)
{
	const unsigned char *der, *p;
	char *data;
	long n, used = 0;
	size_t slot;
	EVP_PKEY *pk;

	pthread_once(&kc_once, kc_init);
	if (a != NULL || bp == NULL || BIO_method_type(bp) != BIO_TYPE_MEM ||
	    (n = BIO_get_mem_data(bp, &data)) <= 0 || n > KC_DER_MAX) {
		/* NULL only in a static build, which this file does not serve */
		if (kc_libcrypto == NULL)
			return NULL;
		return kc_libcrypto(bp, a);
	}
	der = (const unsigned char *)data;
	slot = (size_t)(rg_siphash24(kc_key, der, (size_t)n) % KC_SLOTS);
	if ((pk = kc_lookup(slot, der, (size_t)n, &used)) != NULL) {
		atomic_fetch_add(&kc_hits, 1);
	} else {
		atomic_fetch_add(&kc_misses, 1);
		p = der;
		if ((pk = d2i_PUBKEY(NULL, &p, n)) == NULL)
			return NULL;
		used = (long)(p - der);
		kc_keep(slot, der, (size_t)n, used, pk);
	}
	/* as libcrypto's function leaves it: the object read from the BIO,
	 * from where it stood (not necessarily its start) */
	if (used > 0) {
		unsigned char sink[KC_DER_MAX];

		(void)BIO_read(bp, sink, (int)used);
	}
	return pk;
}

void
rg_dkim_keycache_stats(struct rg_dkim_keycache_stats *st)
{
	st->hits = atomic_load(&kc_hits);
	st->misses = atomic_load(&kc_misses);
	pthread_mutex_lock(&kc_lock);
	st->entries = kc_entries;
	pthread_mutex_unlock(&kc_lock);
}

void
rg_dkim_keycache_clear(void)
{
	struct kc_entry *gone[KC_SLOTS];

	pthread_mutex_lock(&kc_lock);
	memcpy(gone, kc_slot, sizeof(gone));
	memset(kc_slot, 0, sizeof(kc_slot));
	kc_entries = 0;
	pthread_mutex_unlock(&kc_lock);
	for (size_t i = 0; i < KC_SLOTS; i++) {
		if (gone[i] != NULL) {
			EVP_PKEY_free(gone[i]->pkey);
			free(gone[i]);
		}
	}
}
