/*
 * htmlent.h - HTML character references (HTML Living Standard s13.2.5.72)
 *
 * rg_html_entity() decodes what stands between '&' and ';': numeric
 * references (&#46; &#x2e;, also without the ';' as browsers accept) and
 * the named ones links are obfuscated with (ASCII punctuation such as
 * &period; &sol; &colon; &commat;, spaces, Latin-1 letters for IDN
 * hosts); unknown names are left to the caller to keep as text.
 * rg_utf8_put() encodes a code point. Pure functions, thread-safe.
 */
#ifndef RG_HTMLENT_H
#define RG_HTMLENT_H

#include <stddef.h>

#define RG_HTML_ENTITY_MAX	32	/* longest name we buffer (HTML's is 31) */
#define RG_UNICODE_MAX		0x10ffffUL
#define RG_UNICODE_BAD		0xfffdUL	/* REPLACEMENT CHARACTER */

/*
 * rg_html_entity - code point of the reference s[0..len) ("amp", "#x2e");
 * terminated says whether a ';' ended it (named references need one,
 * except the legacy few). Returns -1 when it is not a reference.
 */
long rg_html_entity(const char *s, size_t len, int terminated);
/* rg_utf8_put - encode cp into out; returns 1 to 4 */
size_t rg_utf8_put(unsigned long cp, char out[4]);

#endif
