/*
 * htmlent.c - HTML character references (see htmlent.h)
 *
 * The named table is a subset of HTML's 2,231 names: the ones that stand
 * for characters a link can be built from. It is sorted by byte value for
 * bsearch(); numeric references follow the HTML rules for bad values
 * (zero, surrogates and values past U+10FFFF become U+FFFD).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "htmlent.h"

struct html_ent {
	const char *name;
	unsigned long cp;
};

/* sorted by strcmp(); generated from Python's html.entities.html5 */
static const struct html_ent html_ents[] = {
	{ "AElig", 0x00c6 },
	{ "AMP", 0x0026 },
	{ "Aacute", 0x00c1 },
	{ "Acirc", 0x00c2 },
	{ "Agrave", 0x00c0 },
	{ "Aring", 0x00c5 },
	{ "Atilde", 0x00c3 },
	{ "Auml", 0x00c4 },
	{ "Ccedil", 0x00c7 },
	{ "ETH", 0x00d0 },
	{ "Eacute", 0x00c9 },
	{ "Ecirc", 0x00ca },
	{ "Egrave", 0x00c8 },
	{ "Euml", 0x00cb },
	{ "GT", 0x003e },
	{ "Hat", 0x005e },
	{ "Iacute", 0x00cd },
	{ "Icirc", 0x00ce },
	{ "Igrave", 0x00cc },
	{ "Iuml", 0x00cf },
	{ "LT", 0x003c },
	{ "NewLine", 0x000a },
	{ "NonBreakingSpace", 0x00a0 },
	{ "Ntilde", 0x00d1 },
	{ "Oacute", 0x00d3 },
	{ "Ocirc", 0x00d4 },
	{ "Ograve", 0x00d2 },
	{ "Oslash", 0x00d8 },
	{ "Otilde", 0x00d5 },
	{ "Ouml", 0x00d6 },
	{ "QUOT", 0x0022 },
	{ "THORN", 0x00de },
	{ "Tab", 0x0009 },
	{ "Uacute", 0x00da },
	{ "Ucirc", 0x00db },
	{ "Ugrave", 0x00d9 },
	{ "Uuml", 0x00dc },
	{ "VerticalLine", 0x007c },
	{ "Yacute", 0x00dd },
	{ "ZeroWidthSpace", 0x200b },
	{ "aacute", 0x00e1 },
	{ "acirc", 0x00e2 },
	{ "aelig", 0x00e6 },
	{ "agrave", 0x00e0 },
	{ "amp", 0x0026 },
	{ "apos", 0x0027 },
	{ "aring", 0x00e5 },
	{ "ast", 0x002a },
	{ "atilde", 0x00e3 },
	{ "auml", 0x00e4 },
	{ "bsol", 0x005c },
	{ "bull", 0x2022 },
	{ "ccedil", 0x00e7 },
	{ "colon", 0x003a },
	{ "comma", 0x002c },
	{ "commat", 0x0040 },
	{ "copy", 0x00a9 },
	{ "dash", 0x2010 },
	{ "divide", 0x00f7 },
	{ "dollar", 0x0024 },
	{ "eacute", 0x00e9 },
	{ "ecirc", 0x00ea },
	{ "egrave", 0x00e8 },
	{ "emsp", 0x2003 },
	{ "ensp", 0x2002 },
	{ "equals", 0x003d },
	{ "eth", 0x00f0 },
	{ "euml", 0x00eb },
	{ "excl", 0x0021 },
	{ "grave", 0x0060 },
	{ "gt", 0x003e },
	{ "hellip", 0x2026 },
	{ "hyphen", 0x2010 },
	{ "iacute", 0x00ed },
	{ "icirc", 0x00ee },
	{ "igrave", 0x00ec },
	{ "iuml", 0x00ef },
	{ "laquo", 0x00ab },
	{ "lbrace", 0x007b },
	{ "lbrack", 0x005b },
	{ "lcub", 0x007b },
	{ "ldquo", 0x201c },
	{ "lowbar", 0x005f },
	{ "lpar", 0x0028 },
	{ "lsqb", 0x005b },
	{ "lsquo", 0x2018 },
	{ "lt", 0x003c },
	{ "mdash", 0x2014 },
	{ "midast", 0x002a },
	{ "middot", 0x00b7 },
	{ "nbsp", 0x00a0 },
	{ "ndash", 0x2013 },
	{ "ntilde", 0x00f1 },
	{ "num", 0x0023 },
	{ "oacute", 0x00f3 },
	{ "ocirc", 0x00f4 },
	{ "ograve", 0x00f2 },
	{ "oslash", 0x00f8 },
	{ "otilde", 0x00f5 },
	{ "ouml", 0x00f6 },
	{ "percnt", 0x0025 },
	{ "period", 0x002e },
	{ "plus", 0x002b },
	{ "quest", 0x003f },
	{ "quot", 0x0022 },
	{ "raquo", 0x00bb },
	{ "rbrace", 0x007d },
	{ "rbrack", 0x005d },
	{ "rcub", 0x007d },
	{ "rdquo", 0x201d },
	{ "reg", 0x00ae },
	{ "rpar", 0x0029 },
	{ "rsqb", 0x005d },
	{ "rsquo", 0x2019 },
	{ "semi", 0x003b },
	{ "shy", 0x00ad },
	{ "sol", 0x002f },
	{ "szlig", 0x00df },
	{ "thinsp", 0x2009 },
	{ "thorn", 0x00fe },
	{ "times", 0x00d7 },
	{ "trade", 0x2122 },
	{ "uacute", 0x00fa },
	{ "ucirc", 0x00fb },
	{ "ugrave", 0x00f9 },
	{ "uuml", 0x00fc },
	{ "verbar", 0x007c },
	{ "vert", 0x007c },
	{ "yacute", 0x00fd },
	{ "yuml", 0x00ff },
	{ "zwj", 0x200d },
	{ "zwnj", 0x200c },
};

/* legacy names HTML still decodes without a ';' */
static const char *const html_legacy[] = {
	"AMP", "GT", "LT", "QUOT", "amp", "copy", "gt", "lt", "nbsp", "quot",
	"reg",
};

/* ent_cmp - bsearch comparison of a name with a table row */
static int
ent_cmp(const void *key, const void *row)
{
	return strcmp(key, ((const struct html_ent *)row)->name);
}

/* numeric - "#123" or "#x7b"; -1 when there are no digits */
static long
numeric(const char *s, size_t len)
{
	unsigned long cp = 0;
	size_t i = 1;
	int base = 10, any = 0;

	if (len > 1 && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	for (; i < len; i++) {
		int c = tolower((unsigned char)s[i]), d;

		if (isdigit(c))
			d = c - '0';
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else
			return -1;
		any = 1;
		if (cp <= RG_UNICODE_MAX)	/* saturate: no overflow */
			cp = cp * (unsigned long)base + (unsigned long)d;
	}
	if (!any)
		return -1;
	if (cp == 0 || cp > RG_UNICODE_MAX || (cp >= 0xd800 && cp <= 0xdfff))
		cp = RG_UNICODE_BAD;
	return (long)cp;
}

/* rg_html_entity - decode one character reference */
long
rg_html_entity(const char *s, size_t len, int terminated)
{
	char name[RG_HTML_ENTITY_MAX + 1];
	const struct html_ent *e;

	if (len == 0 || len > RG_HTML_ENTITY_MAX)
		return -1;
	if (s[0] == '#')
		return numeric(s, len);
	memcpy(name, s, len);
	name[len] = '\0';
	if (!terminated) {
		size_t i;

		for (i = 0; i < sizeof(html_legacy) / sizeof(html_legacy[0]); i++)
			if (strcmp(name, html_legacy[i]) == 0)
				break;
		if (i == sizeof(html_legacy) / sizeof(html_legacy[0]))
			return -1;
	}
	e = bsearch(name, html_ents, sizeof(html_ents) / sizeof(html_ents[0]),
	    sizeof(html_ents[0]), ent_cmp);
	return e != NULL ? (long)e->cp : -1;
}

/* rg_utf8_put - UTF-8 encoding of one code point (RFC 3629) */
size_t
rg_utf8_put(unsigned long cp, char out[4])
{
	if (cp > RG_UNICODE_MAX)
		cp = RG_UNICODE_BAD;
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}
