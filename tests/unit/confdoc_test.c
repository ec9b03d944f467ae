/*
 * confdoc_test.c - relayguard.conf(5) matches the parameter tables:
 * every parameter is documented with its default, as the line
 * `.B "name = default"` after `.TP`, and every documented parameter exists.
 * Run from the top of the source tree (tests/unit/run.sh does).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "rgtest.h"

#define MANPAGE "man/relayguard.conf.5"
#define MAXDOC 1024

static char *doc_name[MAXDOC], *doc_def[MAXDOC];
static size_t ndoc;

static void
read_manpage(void)
{
	char line[1024];
	int after_tp = 0;
	FILE *fp = fopen(MANPAGE, "r");

	RGT_CASE("read " MANPAGE);
	RGT_CHECK(fp != NULL, "cannot open " MANPAGE);
	if (fp == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL && ndoc < MAXDOC) {
		char name[256], def[512];

		line[strcspn(line, "\n")] = '\0';
		if (after_tp && strncmp(line, ".B \"", 4) == 0 &&
		    line[strlen(line) - 1] == '"') {
			char *eq = strstr(line, " =");

			if (eq != NULL) {
				snprintf(name, sizeof(name), "%.*s", (int)(eq - line - 4),
				    line + 4);
				snprintf(def, sizeof(def), "%.*s",
				    (int)(strlen(eq) - (eq[2] == ' ' ? 3 : 2) - 1),
				    eq + (eq[2] == ' ' ? 3 : 2));
				doc_name[ndoc] = strdup(name);
				doc_def[ndoc] = strdup(def);
				ndoc++;
			}
		}
		after_tp = strcmp(line, ".TP") == 0;
	}
	fclose(fp);
}

static void
test_tables_documented(void)
{
	for (size_t i = 0; i < rg_conf_param_count(); i++) {
		const struct rg_param *p = rg_conf_param_at(i, NULL);
		size_t j;

		RGT_CASE(p->name);
		for (j = 0; j < ndoc; j++)
			if (strcmp(doc_name[j], p->name) == 0)
				break;
		RGT_CHECK(j < ndoc, "%s is in a table but not in " MANPAGE, p->name);
		if (j < ndoc)
			RGT_CHECK(strcmp(doc_def[j], p->def) == 0,
			    "%s: " MANPAGE " says default \"%s\", the table \"%s\"",
			    p->name, doc_def[j], p->def);
		RGT_CHECK(p->doc != NULL && p->doc[0] != '\0',
		    "%s has no doc line", p->name);
	}
}

static void
test_documented_exist(void)
{
	for (size_t j = 0; j < ndoc; j++) {
		size_t i;

		RGT_CASE(doc_name[j]);
		for (i = 0; i < rg_conf_param_count(); i++)
			if (strcmp(rg_conf_param_at(i, NULL)->name, doc_name[j]) == 0)
				break;
		RGT_CHECK(i < rg_conf_param_count(),
		    "%s is documented in " MANPAGE " but is in no table", doc_name[j]);
		/* documented once only */
		for (size_t k = j + 1; k < ndoc; k++)
			RGT_CHECK(strcmp(doc_name[j], doc_name[k]) != 0,
			    "%s documented twice", doc_name[j]);
	}
}

/* the shipped contrib/relayguard.conf lists every default, commented */
static void
test_contrib_conf(void)
{
	char line[1024], want[512];
	FILE *fp = fopen("contrib/relayguard.conf", "r");
	size_t found = 0;

	RGT_CASE("contrib/relayguard.conf");
	RGT_CHECK(fp != NULL, "cannot open contrib/relayguard.conf");
	if (fp == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL) {
		RGT_CHECK(line[0] == '#' || line[0] == '\n',
		    "uncommented line: %s", line);
		for (size_t i = 0; i < rg_conf_param_count(); i++) {
			const struct rg_param *p = rg_conf_param_at(i, NULL);

			snprintf(want, sizeof(want), "#%s =%s%s\n", p->name,
			    p->def[0] ? " " : "", p->def);
			if (strcmp(line, want) == 0)
				found++;
		}
	}
	fclose(fp);
	RGT_CHECK(found == rg_conf_param_count(),
	    "contrib/relayguard.conf has %zu of %zu defaults: run `make conf`",
	    found, rg_conf_param_count());
}

static void
cleanup(void)
{
	for (size_t j = 0; j < ndoc; j++) {
		free(doc_name[j]);
		free(doc_def[j]);
	}
}

RGT_MAIN(read_manpage, test_tables_documented, test_documented_exist,
    test_contrib_conf, cleanup)
