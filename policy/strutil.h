/*
 * strutil.h - small string helpers
 *
 * glibc 2.36 (Debian 12) has no strlcpy; rg_strlcpy has the BSD contract:
 * it returns strlen(src), so truncation is "result >= size".
 */
#ifndef RG_STRUTIL_H
#define RG_STRUTIL_H

#include <stddef.h>

size_t rg_strlcpy(char *dst, const char *src, size_t size);
size_t rg_strlcat(char *dst, const char *src, size_t size);
/* rg_str_trim - strip leading and trailing white space in place */
char *rg_str_trim(char *s);
void rg_str_lower(char *s);
/* rg_str_levenshtein - edit distance, for "did you mean" hints */
size_t rg_str_levenshtein(const char *a, const char *b);
/* rg_str_parse_ll - whole-string decimal; 0 on success, -1 otherwise */
int rg_str_parse_ll(const char *s, long long *out);
/* rg_str_printable - copy with control bytes and '%' made safe for replies */
void rg_str_sanitize(char *dst, size_t size, const char *src);

#endif
