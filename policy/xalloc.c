/*
 * xalloc.c - allocation that never returns failure (see xalloc.h)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xalloc.h"

/* rg_xmalloc - allocate or abort */
void *
rg_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		rg_panic("out of memory allocating %zu bytes", n);
	return p;
}

/* rg_xcalloc - allocate zeroed memory or abort */
void *
rg_xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		rg_panic("out of memory allocating %zu x %zu bytes", nmemb, size);
	return p;
}

/* rg_xrealloc - resize or abort */
void *
rg_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		rg_panic("out of memory resizing to %zu bytes", n);
	return q;
}

/* rg_xreallocarray - resize to nmemb * size with an overflow check */
void *
rg_xreallocarray(void *p, size_t nmemb, size_t size)
{
	if (size != 0 && nmemb > SIZE_MAX / size)
		rg_panic("allocation overflow: %zu x %zu", nmemb, size);
	return rg_xrealloc(p, nmemb * size);
}

/* rg_xstrdup - copy a C string or abort */
char *
rg_xstrdup(const char *s)
{
	return rg_xmemdup(s, strlen(s));
}

/* rg_xstrndup - copy at most n bytes of a C string */
char *
rg_xstrndup(const char *s, size_t n)
{
	return rg_xmemdup(s, strnlen(s, n));
}

/* rg_xmemdup - copy n bytes and terminate the copy */
char *
rg_xmemdup(const void *p, size_t n)
{
	char *q;

	if (n == SIZE_MAX)
		rg_panic("allocation overflow");
	q = rg_xmalloc(n + 1);
	if (n)
		memcpy(q, p, n);
	q[n] = '\0';
	return q;
}
