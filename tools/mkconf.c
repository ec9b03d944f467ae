/*
 * mkconf.c - print the default relayguard.conf from the parameter tables
 *
 * Every line is commented, so the file as shipped means "the built-in
 * defaults"; each parameter is preceded by its one-line description.
 * `make conf` writes contrib/relayguard.conf with it, and
 * tests/unit/confdoc_test.c checks that the shipped file matches.
 */
#include <stdio.h>
#include <string.h>

#include "../policy/conf.h"

int
main(void)
{
	const char *last = NULL, *module;

	printf("# relayguard.conf - relayguard(8) configuration; see relayguard.conf(5).\n"
	    "#\n"
	    "# Every setting below is commented out and shows its built-in default.\n"
	    "# Uncomment and change what you need; check with `relayguard -n`,\n"
	    "# apply with `kill -HUP` (settings marked restart need a restart).\n");
	for (size_t i = 0; i < rg_conf_param_count(); i++) {
		const struct rg_param *p = rg_conf_param_at(i, &module);

		if (last == NULL || strcmp(last, module) != 0) {
			printf("\n# ---- %s ----\n", module);
			last = module;
		}
		printf("\n# %s%s\n", p->doc, (p->flags & RG_CF_RESTART) ?
		    " (restart)" : "");
		printf("#%s =%s%s\n", p->name, p->def[0] ? " " : "", p->def);
	}
	return 0;
}
