/*
 * Allocation. x*() abort on OOM: use them for our own bounded sizes. For a
 * size the client controls, use xmalloc_checked() and fail just that request.
 */
#ifndef COMMON_ALLOC_H
#define COMMON_ALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns NULL when n exceeds limit or memory is short; never aborts. */
void *xmalloc_checked(size_t n, size_t limit);

#endif
