/* arc4random_buf (GLIBC_2.36): fills the buffer from the kernel (see shim.h). */
#define MW_WANT_RANDOM
#include "shim.h"

#include <stddef.h>

MW_SHIM void arc4random_buf(void *buf, size_t len)
{
    mw_random_fill(buf, len);
}
