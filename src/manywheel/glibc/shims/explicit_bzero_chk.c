/* __explicit_bzero_chk (GLIBC_2.25): what explicit_bzero becomes under
 * _FORTIFY_SOURCE; fails like the other __*_chk functions when the object is
 * smaller than the length. */
#include "shim.h"

#include <stddef.h>

extern void *memset(void *dst, int c, size_t len);
extern void __chk_fail(void) __attribute__((noreturn));

MW_SHIM void __explicit_bzero_chk(void *dst, size_t len, size_t dstlen)
{
    if (dstlen < len)
        __chk_fail();
    memset(dst, 0, len);
    __asm__ __volatile__("" : : "r"(dst) : "memory");
}
