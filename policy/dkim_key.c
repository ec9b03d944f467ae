/*
 * dkim_key.c - DKIM private keys: load, check, normalise, publish
 *
 * rg_dkim_key_load() opens the file once and checks the open descriptor
 * (so a file swapped between the check and the read is still the file
 * checked): a regular file, nothing for others, at most
 * RG_DKIM_KEYFILE_MAX bytes. The text is parsed by OpenSSL with no
 * passphrase prompt, then written back out as unencrypted PKCS#8 PEM, the
 * one form libopendkim 2.11 reads for both RSA and Ed25519
 * (PEM_read_bio_PrivateKey in dkim_privkey_load). Ed25519 seeds written
 * as bare base64 (32 bytes, RFC 8032 s5.1.5) are accepted and converted.
 * Buffers that held key material are wiped before they are freed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "keytable.h"
#include "xalloc.h"

#define KEY_ED25519_LEN	32	/* RFC 8032 s5.1.5: seed and public key */

/* key_no_passphrase - never prompt on a terminal for an encrypted key */
static int
key_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return 0;
}

/* key_read_fd - the whole file, NUL-terminated; caller wipes and frees */
static char *
key_read_fd(int fd, size_t *len, const char *path, struct rg_buf *why)
{
	char *data = rg_xmalloc(RG_DKIM_KEYFILE_MAX + 1);
	size_t n = 0;
	ssize_t r;

	while (n <= RG_DKIM_KEYFILE_MAX &&
	    (r = read(fd, data + n, RG_DKIM_KEYFILE_MAX + 1 - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rg_buf_printf(why, "key file %s: cannot read: %s", path,
			    strerror(errno));
			free(data);
			return NULL;
		}
		n += (size_t)r;
	}
	if (n > RG_DKIM_KEYFILE_MAX) {
		rg_buf_printf(why, "key file %s: larger than %d bytes", path,
		    RG_DKIM_KEYFILE_MAX);
		OPENSSL_cleanse(data, n);
		free(data);
		return NULL;
	}
	data[n] = '\0';
	*len = n;
	return data;
}

/* key_check_mode - a regular file that others may neither read nor write */
static int
key_check_mode(int fd, const char *path, struct rg_buf *why)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		rg_buf_printf(why, "key file %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		rg_buf_printf(why, "key file %s: not a regular file", path);
		return -1;
	}
	if (st.st_mode & (S_IROTH | S_IWOTH | S_IXOTH)) {
		rg_buf_printf(why, "key file %s: accessible by others (mode %04o); "
		    "run chmod o-rwx %s", path, (unsigned)(st.st_mode & 07777), path);
		return -1;
	}
	return 0;
}

/* key_from_seed - an Ed25519 key from a bare base64 seed, or NULL */
static EVP_PKEY *
key_from_seed(const char *text, size_t len)
{
	unsigned char raw[48];
	char b64[64];
	size_t n = 0;
	EVP_PKEY *pk = NULL;

	/* at most 44 base64 characters, and white space around them */
	for (size_t i = 0; i < len; i++) {
		if (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' ||
		    text[i] == '\n')
			continue;
		if (n + 1 >= sizeof(b64))
			return NULL;
		b64[n++] = text[i];
	}
	if (n != 44 || b64[43] != '=' || b64[42] == '=')
		return NULL;
	b64[n] = '\0';
	if (EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)n) != 33)
		return NULL;
	pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, raw,
	    KEY_ED25519_LEN);
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(b64, sizeof(b64));
	return pk;
}

/* key_parse - PEM (any PKCS#1 / PKCS#8 form OpenSSL reads) or a seed */
static EVP_PKEY *
key_parse(const char *text, size_t len)
{
	BIO *bio = BIO_new_mem_buf(text, (int)len);
	EVP_PKEY *pk = NULL;

	if (bio != NULL) {
		pk = PEM_read_bio_PrivateKey(bio, NULL, key_no_passphrase, NULL);
		BIO_free(bio);
	}
	if (pk == NULL)
		pk = key_from_seed(text, len);
	ERR_clear_error();
	return pk;
}

/* key_to_pem - unencrypted PKCS#8 PEM, heap copy; NULL on failure */
static char *
key_to_pem(EVP_PKEY *pk)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL, *pem = NULL;
	long n;
	int ok;

	if (bio == NULL)
		return NULL;
	ok = PEM_write_bio_PKCS8PrivateKey(bio, pk, NULL, NULL, 0, NULL,
	    NULL) == 1;
	n = BIO_get_mem_data(bio, &data);
	if (ok && n > 0)
		pem = rg_xmemdup(data, (size_t)n);
	/* the memory BIO frees its buffer without wiping it */
	if (n > 0)
		OPENSSL_cleanse(data, (size_t)n);
	BIO_free(bio);
	return pem;
}

/* key_describe - type and size; -1 for a type DKIM has no use for */
static int
key_describe(struct rg_dkim_key *k, EVP_PKEY *pk, struct rg_buf *why)
{
	switch (EVP_PKEY_base_id(pk)) {
	case EVP_PKEY_RSA:
		k->type = RG_DKIM_KEY_RSA;
		k->bits = (unsigned)EVP_PKEY_bits(pk);
		if (k->bits < RG_DKIM_SIGN_MIN_RSA_BITS) {
			rg_buf_printf(why, "key file %s: RSA key of %u bits; "
			    "RFC 8301 requires at least %d", k->path, k->bits,
			    RG_DKIM_SIGN_MIN_RSA_BITS);
			return -1;
		}
		return 0;
	case EVP_PKEY_ED25519:
		k->type = RG_DKIM_KEY_ED25519;
		k->bits = 256;
		return 0;
	default:
		rg_buf_printf(why, "key file %s: neither an RSA nor an Ed25519 key",
		    k->path);
		return -1;
	}
}

/* rg_dkim_key_load - read, check and normalise one key file */
int
rg_dkim_key_load(struct rg_dkim_key *k, struct rg_buf *why)
{
	EVP_PKEY *pk;
	size_t len = 0;
	char *text;
	int fd, rc = -1;

	if ((fd = open(k->path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		rg_buf_printf(why, "key file %s: cannot open: %s", k->path,
		    strerror(errno));
		return -1;
	}
	if (key_check_mode(fd, k->path, why) < 0 ||
	    (text = key_read_fd(fd, &len, k->path, why)) == NULL) {
		close(fd);
		return -1;
	}
	close(fd);
	pk = key_parse(text, len);
	OPENSSL_cleanse(text, len);
	free(text);
	if (pk == NULL) {
		rg_buf_printf(why, "key file %s: not a PEM private key (an encrypted "
		    "key cannot be used) nor a base64 Ed25519 seed", k->path);
		return -1;
	}
	if (key_describe(k, pk, why) == 0) {
		if ((k->pem = key_to_pem(pk)) != NULL)
			rc = 0;
		else
			rg_buf_printf(why, "key file %s: cannot convert the key",
			    k->path);
	}
	EVP_PKEY_free(pk);
	return rc;
}

/* rg_dkim_key_release - wipe and free */
void
rg_dkim_key_release(struct rg_dkim_key *k)
{
	if (k->pem != NULL) {
		OPENSSL_cleanse(k->pem, strlen(k->pem));
		free(k->pem);
	}
	free(k->name);
	free(k->domain);
	free(k->selector);
	free(k->path);
	memset(k, 0, sizeof(*k));
}

/* key_public_b64 - the p= value: SPKI DER for RSA, raw 32 bytes for Ed25519 */
static int
key_public_b64(EVP_PKEY *pk, enum rg_dkim_keytype type, struct rg_buf *out)
{
	unsigned char raw[KEY_ED25519_LEN], *der = NULL;
	size_t rawlen = sizeof(raw);
	int len;
	char *b64;

	if (type == RG_DKIM_KEY_ED25519) {
		if (EVP_PKEY_get_raw_public_key(pk, raw, &rawlen) != 1)
			return -1;
		der = raw;
		len = (int)rawlen;
	} else if ((len = i2d_PUBKEY(pk, &der)) <= 0) {
		return -1;
	}
	b64 = rg_xmalloc((size_t)len / 3 * 4 + 8);
	EVP_EncodeBlock((unsigned char *)b64, der, len);
	rg_buf_puts(out, b64);
	free(b64);
	if (der != raw)
		OPENSSL_free(der);
	return 0;
}

/* rg_dkim_key_record - "v=DKIM1; k=...; p=..." for the key's public half */
int
rg_dkim_key_record(const struct rg_dkim_key *k, struct rg_buf *out)
{
	EVP_PKEY *pk;
	int rc;

	if (k->pem == NULL || (pk = key_parse(k->pem, strlen(k->pem))) == NULL)
		return -1;
	rg_buf_printf(out, "v=DKIM1; k=%s; p=",
	    k->type == RG_DKIM_KEY_ED25519 ? "ed25519" : "rsa");
	rc = key_public_b64(pk, k->type, out);
	EVP_PKEY_free(pk);
	return rc;
}
