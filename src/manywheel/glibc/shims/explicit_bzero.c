/* explicit_bzero (GLIBC_2.25): memset that the compiler may not drop. */
#include "shim.h"

#include <stddef.h>

extern void *memset(void *dst, int c, size_t len);

MW_SHIM void explicit_bzero(void *dst, size_t len)
{
    memset(dst, 0, len);
    /* The memory is "used" afterwards, so the stores cannot be elided. */
    __asm__ __volatile__("" : : "r"(dst) : "memory");
}
