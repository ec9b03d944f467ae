/*
 * xalloc.h - allocation that never returns failure
 *
 * rg_xmalloc() and friends either succeed or abort the process through
 * rg_panic(): a milter that runs out of memory is killed, and the MTA
 * applies its milter_default_action (tempfail), so no message slips through
 * unchecked. Sizes are checked for overflow before they are multiplied.
 */
#ifndef RG_XALLOC_H
#define RG_XALLOC_H

#include <stddef.h>

void *rg_xmalloc(size_t n);
void *rg_xcalloc(size_t nmemb, size_t size);
void *rg_xrealloc(void *p, size_t n);
/* rg_xreallocarray - resize to nmemb * size, aborting on overflow */
void *rg_xreallocarray(void *p, size_t nmemb, size_t size);
char *rg_xstrdup(const char *s);
char *rg_xstrndup(const char *s, size_t n);
/* rg_xmemdup - copy n bytes and add a NUL, so the copy is also a C string */
char *rg_xmemdup(const void *p, size_t n);

#endif
