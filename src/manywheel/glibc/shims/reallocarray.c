/* reallocarray (GLIBC_2.26): realloc(ptr, nmemb * size) that fails with ENOMEM
 * instead of overflowing. */
#include "shim.h"

#include <errno.h>
#include <stddef.h>

extern void *realloc(void *ptr, size_t size);

MW_SHIM void *reallocarray(void *ptr, size_t nmemb, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(nmemb, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(ptr, total);
}
