/* arc4random_uniform (GLIBC_2.36): uniform in [0, upper), without modulo bias: draws
 * below 2**32 mod upper are rejected, leaving a whole number of copies of the range. */
#define MW_WANT_RANDOM
#include "shim.h"

#include <stdint.h>

MW_SHIM uint32_t arc4random_uniform(uint32_t upper)
{
    if (upper < 2)
        return 0;
    uint32_t floor = (uint32_t)(-upper) % upper; /* == 2**32 mod upper */
    uint32_t value;
    do
        mw_random_fill(&value, sizeof value);
    while (value < floor);
    return value % upper;
}
