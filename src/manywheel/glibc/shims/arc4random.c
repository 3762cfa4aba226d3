/* arc4random (GLIBC_2.36): libstdc++'s random_device ("default" and "arc4random")
 * calls it.  Each call asks the kernel (see mw_random_fill in shim.h). */
#define MW_WANT_RANDOM
#include "shim.h"

#include <stdint.h>

MW_SHIM uint32_t arc4random(void)
{
    uint32_t value;
    mw_random_fill(&value, sizeof value);
    return value;
}
