/*
 * dkim_keycache_test.c - DKIM public keys kept decoded (dkim_keycache.c):
 * libopendkim's d2i_PUBKEY_bio() call really lands in relayguard's
 * definition (a second verification of the same key is a hit, the result
 * still pass), the key handed out is the kept one with its own reference,
 * the BIO is left as libcrypto leaves it, garbage is not kept, other BIOs
 * go to libcrypto, the table stays within its bound, and threads verifying
 * with one shared key at once all succeed.
 */
/* the worker converts keys as libopendkim does, with the RSA calls that
 * OpenSSL 3 deprecates */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "dkimtest.h"

#define KCT_THREADS	8
#define KCT_ROUNDS	200

static unsigned char *pub_der;
static int pub_len;
static EVP_PKEY *priv;

/* kct_keys - the RSA test key, and its public half as DER */
static void
kct_keys(void)
{
	FILE *f = fopen(rsa_pem, "r");

	priv = f != NULL ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
	if (f != NULL)
		fclose(f);
	pub_len = priv != NULL ? i2d_PUBKEY(priv, &pub_der) : -1;
	if (pub_len <= 0) {
		printf("cannot load %s\n", rsa_pem);
		exit(1);
	}
}

/* kct_decode - d2i_PUBKEY_bio on a memory BIO of len bytes of der;
 * *left: bytes the BIO still holds after it */
static EVP_PKEY *
kct_decode(const unsigned char *der, int len, int *left)
{
	BIO *b = BIO_new_mem_buf(der, len);
	EVP_PKEY *pk = d2i_PUBKEY_bio(b, NULL);

	*left = (int)BIO_pending(b);
	BIO_free(b);
	return pk;
}

static void
test_through_libopendkim(void)
{
	struct rg_dkim_keycache_stats s0, s1, s2;
	struct rg_conf *c = load("dkim_sign = example.com rsa %s\n", rsa_pem);
	struct rg_dkim_results r;
	struct tmsg m;

	RGT_CASE("libopendkim's key decoding goes through the cache");
	publish(c);
	rg_dkim_keycache_stats(&s0);
	sign_verify(c, &m, &r, 1);
	check_one(&r, RG_DKIM_PASS, "");
	rg_dkim_results_release(&r);
	tmsg_free(&m);
	rg_dkim_keycache_stats(&s1);
	RGT_CHECK(s1.hits + s1.misses == s0.hits + s0.misses + 1,
	    "one lookup for one signature: %llu+%llu -> %llu+%llu",
	    s0.hits, s0.misses, s1.hits, s1.misses);
	sign_verify(c, &m, &r, 1);
	check_one(&r, RG_DKIM_PASS, "");
	rg_dkim_results_release(&r);
	tmsg_free(&m);
	rg_dkim_keycache_stats(&s2);
	RGT_CHECK(s2.hits == s1.hits + 1 && s2.misses == s1.misses,
	    "the second verification reused the key: hits %llu -> %llu, "
	    "misses %llu -> %llu", s1.hits, s2.hits, s1.misses, s2.misses);

	/* a tampered message still fails with the kept key */
	tmsg_parse(&m, msg_text);
	{
		struct rg_buf why = RG_BUF_INIT;
		size_t n;

		RGT_INTEQ(sign(c, "alice@example.com", &m, &n, &why), RG_DKIM_OK);
		rg_buf_release(&why);
	}
	rg_buf_puts(&m.body, "one more line\r\n");
	RGT_INTEQ(verify(c, &m, &r), RG_DKIM_OK);
	check_one(&r, RG_DKIM_FAIL, NULL);
	rg_dkim_results_release(&r);
	tmsg_free(&m);
	rg_conf_release(c);
}

static void
test_direct(void)
{
	struct rg_dkim_keycache_stats s0, s1;
	unsigned char *tail;
	EVP_PKEY *a, *b, *d;
	int left = -1;

	RGT_CASE("same bytes, same key, own reference");
	a = kct_decode(pub_der, pub_len, &left);
	RGT_CHECK(a != NULL, "decoded");
	RGT_INTEQ(left, 0);
	b = kct_decode(pub_der, pub_len, &left);
	RGT_CHECK(b != NULL && b == a, "the kept key again: %p %p", (void *)a,
	    (void *)b);
	RGT_INTEQ(left, 0);
	RGT_INTEQ(EVP_PKEY_get_bits(b), 2048);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	/* both references given back; the cache's own keeps it usable */
	d = kct_decode(pub_der, pub_len, &left);
	RGT_CHECK(d != NULL && EVP_PKEY_get_bits(d) == 2048, "still usable");
	EVP_PKEY_free(d);

	RGT_CASE("trailing bytes stay in the BIO");
	tail = rg_xmalloc((size_t)pub_len + 7);
	memcpy(tail, pub_der, (size_t)pub_len);
	memcpy(tail + pub_len, "garbage", 7);
	a = kct_decode(tail, pub_len + 7, &left);
	RGT_CHECK(a != NULL, "decoded");
	RGT_INTEQ(left, 7);
	b = kct_decode(tail, pub_len + 7, &left);
	RGT_CHECK(b == a, "kept");
	RGT_INTEQ(left, 7);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);

	RGT_CASE("a BIO read from before: the object is taken from where it stood");
	{
		unsigned char *two = rg_xmalloc((size_t)pub_len + 4);
		unsigned char skip[4];
		BIO *bio;

		memcpy(two, "abcd", 4);
		memcpy(two + 4, pub_der, (size_t)pub_len);
		bio = BIO_new_mem_buf(two, pub_len + 4);
		RGT_INTEQ(BIO_read(bio, skip, 4), 4);
		a = d2i_PUBKEY_bio(bio, NULL);
		RGT_CHECK(a != NULL && EVP_PKEY_get_bits(a) == 2048, "decoded after 4 bytes");
		RGT_INTEQ((int)BIO_pending(bio), 0);
		EVP_PKEY_free(a);
		BIO_free(bio);
		/* the same again: now a kept key, and the BIO still consumed */
		bio = BIO_new_mem_buf(two, pub_len + 4);
		RGT_INTEQ(BIO_read(bio, skip, 4), 4);
		a = d2i_PUBKEY_bio(bio, NULL);
		RGT_CHECK(a != NULL, "kept");
		RGT_INTEQ((int)BIO_pending(bio), 0);
		EVP_PKEY_free(a);
		BIO_free(bio);
		free(two);
	}

	RGT_CASE("garbage is not kept");
	rg_dkim_keycache_stats(&s0);
	tail[0] ^= 0xff;
	RGT_CHECK(kct_decode(tail, pub_len, &left) == NULL, "refused");
	RGT_CHECK(kct_decode(tail, pub_len, &left) == NULL, "refused again");
	rg_dkim_keycache_stats(&s1);
	RGT_INTEQ(s1.entries, s0.entries);
	RGT_CHECK(s1.misses == s0.misses + 2 && s1.hits == s0.hits,
	    "two misses: %llu -> %llu", s0.misses, s1.misses);
	free(tail);
}

static void
test_other_bio(void)
{
	struct rg_dkim_keycache_stats s0, s1;
	const char *path = dk_write("pub.der", "", 0644);
	FILE *f = fopen(path, "wb");
	EVP_PKEY *pk, *out = NULL;
	BIO *b;

	RGT_CASE("a file BIO, and an output argument, go to libcrypto");
	RGT_CHECK(f != NULL && fwrite(pub_der, 1, (size_t)pub_len, f) ==
	    (size_t)pub_len, "wrote %s", path);
	if (f != NULL)
		fclose(f);
	rg_dkim_keycache_stats(&s0);
	b = BIO_new_file(path, "rb");
	pk = d2i_PUBKEY_bio(b, NULL);
	BIO_free(b);
	RGT_CHECK(pk != NULL && EVP_PKEY_get_bits(pk) == 2048, "decoded from a file");
	EVP_PKEY_free(pk);
	b = BIO_new_mem_buf(pub_der, pub_len);
	pk = d2i_PUBKEY_bio(b, &out);
	BIO_free(b);
	RGT_CHECK(pk != NULL && pk == out, "the output argument is set");
	EVP_PKEY_free(pk);
	rg_dkim_keycache_stats(&s1);
	RGT_CHECK(s1.hits == s0.hits && s1.misses == s0.misses,
	    "not looked up: %llu/%llu -> %llu/%llu", s0.hits, s0.misses,
	    s1.hits, s1.misses);
}

static void
test_bound(void)
{
	struct rg_dkim_keycache_stats st;
	unsigned char *buf = rg_xmalloc((size_t)pub_len + 16);
	int left, kept = 0;

	RGT_CASE("at most 1024 keys");
	memcpy(buf, pub_der, (size_t)pub_len);
	/* one key, 3000 different byte strings (trailing bytes differ) */
	for (int i = 0; i < 3000; i++) {
		EVP_PKEY *pk;

		snprintf((char *)buf + pub_len, 16, "%08d", i);
		pk = kct_decode(buf, pub_len + 8, &left);
		kept += pk != NULL && left == 8;
		EVP_PKEY_free(pk);
	}
	RGT_INTEQ(kept, 3000);
	rg_dkim_keycache_stats(&st);
	RGT_CHECK(st.entries <= 1024 && st.entries > 900,
	    "entries %zu (1024 slots, direct-mapped)", st.entries);
	free(buf);

	RGT_CASE("clear");
	rg_dkim_keycache_clear();
	rg_dkim_keycache_stats(&st);
	RGT_INTEQ(st.entries, 0);
}

/* kct_worker - decode, convert and verify with the shared key, KCT_ROUNDS times */
static void *
kct_worker(void *arg)
{
	const unsigned char *sig = arg;
	static const char data[] = "the signed text";
	long ok = 0;

	for (int i = 0; i < KCT_ROUNDS; i++) {
		int left;
		EVP_PKEY *pk = kct_decode(pub_der, pub_len, &left);
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		RSA *rsa = pk != NULL ? EVP_PKEY_get1_RSA(pk) : NULL;

		if (pk != NULL && md != NULL && rsa != NULL &&
		    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) == 1 &&
		    EVP_DigestVerify(md, sig, 256, (const unsigned char *)data,
		    sizeof(data) - 1) == 1)
			ok++;
		RSA_free(rsa);
		EVP_MD_CTX_free(md);
		EVP_PKEY_free(pk);
	}
	return (void *)ok;
}

static void
test_threads(void)
{
	static const char data[] = "the signed text";
	unsigned char sig[256];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	pthread_t t[KCT_THREADS];
	long total = 0;

	RGT_CASE("threads verify with one kept key");
	RGT_CHECK(md != NULL && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL,
	    priv) == 1 && EVP_DigestSign(md, sig, &siglen,
	    (const unsigned char *)data, sizeof(data) - 1) == 1 && siglen == 256,
	    "signed");
	EVP_MD_CTX_free(md);
	for (int i = 0; i < KCT_THREADS; i++)
		RGT_INTEQ(pthread_create(&t[i], NULL, kct_worker, sig), 0);
	for (int i = 0; i < KCT_THREADS; i++) {
		void *ok;

		pthread_join(t[i], &ok);
		total += (long)ok;
	}
	RGT_INTEQ(total, KCT_THREADS * KCT_ROUNDS);
}

int
main(void)
{
	dkt_start();
	kct_keys();
	test_through_libopendkim();
	test_direct();
	test_other_bio();
	test_threads();
	test_bound();
	EVP_PKEY_free(priv);
	OPENSSL_free(pub_der);
	return dkt_end();
}
