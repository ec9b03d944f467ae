/*
 * strutil.c - small string helpers (see strutil.h)
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strutil.h"
#include "xalloc.h"

size_t
rg_strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size > 0) {
		size_t n = len < size - 1 ? len : size - 1;

		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

size_t
rg_strlcat(char *dst, const char *src, size_t size)
{
	size_t dlen = strnlen(dst, size);

	if (dlen == size)
		return size + strlen(src);
	return dlen + rg_strlcpy(dst + dlen, src, size - dlen);
}

char *
rg_str_trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

void
rg_str_lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

size_t
rg_str_levenshtein(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), *row, prev, tmp, best;

	if (la > 256 || lb > 256)
		return SIZE_MAX;
	row = rg_xcalloc(lb + 1, sizeof(*row));
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			tmp = row[j];
			best = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = tmp;
		}
	}
	best = row[lb];
	free(row);
	return best;
}

int
rg_str_parse_ll(const char *s, long long *out)
{
	char *end;
	long long v;

	if (*s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

/*
 * rg_str_sanitize - make text safe for an SMTP reply: libmilter refuses CR
 * and LF, and treats a single '%' as a format character, so control bytes
 * become '?' and '%' is doubled. The result is always terminated.
 */
void
rg_str_sanitize(char *dst, size_t size, const char *src)
{
	size_t o = 0;

	if (size == 0)
		return;
	for (; *src && o + 1 < size; src++) {
		unsigned char c = (unsigned char)*src;

		if (c == '%') {
			if (o + 2 >= size)
				break;
			dst[o++] = '%';
			dst[o++] = '%';
		} else if (c < 0x20 || c == 0x7f) {
			dst[o++] = '?';
		} else {
			dst[o++] = (char)c;
		}
	}
	dst[o] = '\0';
}
