/*
 * dkimsign_test.c - DKIM signing: which keys a From address gets (tables,
 * triples, "%" domains and signers), the signature value (LF folds, From
 * oversigned, fields signed), messages that cannot be signed, calls out of
 * order, and threads signing and verifying at once.
 */
#include "dkimtest.h"

/* --- signing ------------------------------------------------------------------ */

/* count_ci - occurrences of needle in hay, ignoring case */
static int
count_ci(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strcasestr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static void
test_signing(void)
{
	const char *kt = dk_write("kt", "", 0644), *st;
	struct rg_buf why = RG_BUF_INIT;
	struct rg_dkim_results r;
	struct rg_conf *c;
	struct tmsg m;
	size_t n;
	char text[2048];

	snprintf(text, sizeof(text), "rsa example.com:rsa:%s\nany %%:any:%s\n",
	    rsa_pem, ed_pem);
	kt = dk_write("kt", text, 0644);
	st = dk_write("st", "*@example.com rsa\n*@*.example.org any @%\n", 0644);
	c = load("dkim_key_table = %s\ndkim_signing_table = refile:%s\n"
	    "dkim_sign = example.com rsa %s, example.net n %s\n", kt, st, rsa_pem,
	    ed_pem);
	publish(c);

	RGT_CASE("no key for the sender: NULL, and no error");
	RGT_CHECK(rg_dkim_sign_new(c, "someone@example.info", "Q", &why) == NULL,
	    "signer for a foreign domain");
	RGT_CHECK(rg_dkim_sign_new(c, "", "Q", &why) == NULL, "signer for \"\"");
	RGT_CHECK(rg_dkim_sign_new(c, NULL, "Q", &why) == NULL, "signer for NULL");
	RGT_STREQ(rg_buf_cstr(&why), "");

	RGT_CASE("%% domain from a From address that is no host name");
	RGT_CHECK(rg_dkim_sign_new(c, "a@x y.example.org", "Q", &why) == NULL,
	    "signed for a bad domain");
	RGT_CHECK(rg_dkim_sign_new(c, "a@x..example.org", "Q", &why) == NULL,
	    "signed for a bad domain");

	RGT_CASE("table and triple name the same key once");
	{
		struct rg_dkim_sign *s = rg_dkim_sign_new(c, "a@example.com", "Q", &why);

		RGT_INTEQ(rg_dkim_sign_count(s), 1);
		rg_dkim_sign_free(s);
	}

	RGT_CASE("%% domain and %% signer: d= and i= of the From domain");
	tmsg_parse(&m, msg_text);
	tmsg_set(&m, "From", " Carol <carol@sub.example.org>");
	RGT_INTEQ(sign(&*c, "carol@sub.example.org", &m, &n, &why), RG_DKIM_OK);
	RGT_INTEQ(n, 1);
	RGT_CONTAINS(m.value[0], "d=sub.example.org");
	RGT_CONTAINS(m.value[0], "i=@sub.example.org");
	RGT_CONTAINS(m.value[0], "a=ed25519-sha256");
	fake_add("any._domainkey.sub.example.org", FK_TXT, NULL);
	{
		struct rg_buf rec = RG_BUF_INIT;

		rg_dkim_key_record(&c->dkim.key_table.keys.v[1], &rec);
		fake[nfake - 1].txt = rg_buf_steal(&rec);
	}
	verify(c, &m, &r);
	check_one(&r, RG_DKIM_PASS, "");
	rg_dkim_results_release(&r);
	tmsg_free(&m);

	RGT_CASE("signature value: LF folds, From oversigned, default fields");
	tmsg_parse(&m, msg_text);
	RGT_INTEQ(sign(c, "alice@example.com", &m, &n, &why), RG_DKIM_OK);
	RGT_CHECK(strchr(m.value[0], '\r') == NULL, "CR in the value");
	RGT_CONTAINS(m.value[0], "\n\t");
	RGT_CHECK(m.value[0][strlen(m.value[0]) - 1] != '\n', "trailing newline");
	{
		const char *h = strstr(m.value[0], "h=");

		RGT_CHECK(h != NULL && count_ci(h, "from") == 2,
		    "From once more than it occurs: %s", h ? h : "(no h=)");
		RGT_CHECK(h != NULL && strcasestr(h, "subject") != NULL, "Subject");
		RGT_CHECK(h != NULL && strcasestr(h, "received") == NULL,
		    "Received is not signed");
	}
	tmsg_free(&m);

	RGT_CASE("no From header field: permfail");
	tmsg_parse(&m, msg_text);
	tmsg_del(&m, "From");
	rg_buf_reset(&why);
	RGT_INTEQ(sign(c, "alice@example.com", &m, &n, &why), RG_DKIM_PERMFAIL);
	RGT_INTEQ(n, 0);
	RGT_CONTAINS(rg_buf_cstr(&why), "no From header field");
	tmsg_free(&m);

	RGT_CASE("too many fields to sign: permfail");
	tmsg_parse(&m, msg_text);
	for (int i = 0; i < 1200; i++)
		tmsg_add(&m, "X-Junk", " junk", 0);
	rg_buf_reset(&why);
	RGT_INTEQ(sign(c, "alice@example.com", &m, &n, &why), RG_DKIM_PERMFAIL);
	RGT_INTEQ(n, 0);
	RGT_CONTAINS(rg_buf_cstr(&why), "too many header fields");
	tmsg_free(&m);

	RGT_CASE("signer used out of order");
	{
		struct rg_dkim_sign *s = rg_dkim_sign_new(c, "a@example.com", "Q", &why);
		struct rg_strlist out = { 0, NULL };

		rg_dkim_sign_body(s, "x\r\n", 3);
		rg_dkim_sign_header(s, "From", " a@example.com");
		RGT_INTEQ(rg_dkim_sign_eom(s, &out, NULL), RG_DKIM_PERMFAIL);
		RGT_INTEQ(rg_dkim_sign_eom(s, &out, NULL), RG_DKIM_INVAL);
		rg_strlist_free(&out);
		rg_dkim_sign_free(s);
		RGT_CHECK(rg_dkim_sign_free(NULL) == NULL, "free(NULL)");
	}
	rg_buf_release(&why);
	rg_conf_release(c);
}

/* --- threads ------------------------------------------------------------------ */

struct thread_arg {
	const struct rg_conf *conf;
	int lookups, passes, rounds;
};

/* thread_lookup - the fake records, read-only while threads run */
static enum rg_dkim_dns_result
thread_lookup(void *arg, const char *name, unsigned char *ans, size_t size,
    size_t *len)
{
	struct thread_arg *t = arg;

	t->lookups++;
	for (size_t i = nfake; i-- > 0;)
		if (fake[i].kind == FK_TXT && strcasecmp(fake[i].name, name) == 0)
			return fake_answer(name, fake[i].txt, ans, size, len);
	return RG_DKIM_DNS_NXDOMAIN;
}

/* thread_main - sign and verify, again and again, with its own resolver */
static void *
thread_main(void *arg)
{
	struct thread_arg *t = arg;

	for (int round = 0; round < t->rounds; round++) {
		struct rg_strlist sigs = { 0, NULL };
		struct rg_dkim_results r;
		struct rg_dkim_sign *s = rg_dkim_sign_new(t->conf, "alice@example.com",
		    "T", NULL);
		struct rg_dkim_verify *v = rg_dkim_verify_new(t->conf, "T");
		struct tmsg m;

		tmsg_parse(&m, msg_text);
		for (size_t i = 0; i < m.n; i++)
			rg_dkim_sign_header(s, m.name[i], m.value[i]);
		rg_dkim_sign_body(s, m.body.data, m.body.len);
		(void)rg_dkim_sign_eom(s, &sigs, NULL);
		rg_dkim_sign_free(s);
		rg_dkim_verify_set_resolver(v, thread_lookup, t);
		for (size_t i = 0; i < sigs.n; i++) {
			char value[8192];

			snprintf(value, sizeof(value), " %s", sigs.v[i]);
			rg_dkim_verify_header(v, "DKIM-Signature", value);
		}
		for (size_t i = 0; i < m.n; i++)
			rg_dkim_verify_header(v, m.name[i], m.value[i]);
		rg_dkim_verify_body(v, m.body.data, m.body.len);
		(void)rg_dkim_verify_eom(v, &r);
		for (size_t i = 0; i < r.n; i++)
			t->passes += r.sig[i].result == RG_DKIM_PASS;
		rg_dkim_results_release(&r);
		rg_dkim_verify_free(v);
		rg_strlist_free(&sigs);
		tmsg_free(&m);
	}
	return NULL;
}

static void
test_threads(void)
{
	struct rg_conf *c = load("dkim_sign = example.com rsa %s, example.com ed %s\n",
	    rsa_pem, ed_pem);
	struct thread_arg args[4];
	pthread_t tid[4];

	publish(c);
	RGT_CASE("four threads sign and verify at once");
	for (int i = 0; i < 4; i++) {
		args[i] = (struct thread_arg){ c, 0, 0, 10 };
		RGT_INTEQ(pthread_create(&tid[i], NULL, thread_main, &args[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(tid[i], NULL);
		RGT_INTEQ(args[i].passes, 2 * args[i].rounds);
		RGT_INTEQ(args[i].lookups, 2 * args[i].rounds);
	}
	rg_conf_release(c);
}

int
main(void)
{
	dkt_start();
	test_signing();
	test_threads();
	return dkt_end();
}
