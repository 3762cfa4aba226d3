/* __libc_single_threaded (GLIBC_2.32): libstdc++ (its headers and libstdc++.a) skips
 * atomic operations while this is nonzero.  Old glibc cannot say, so the answer is
 * always "maybe not single-threaded": 0, which is always correct. */
#include "shim.h"

MW_SHIM char __libc_single_threaded = 0;
