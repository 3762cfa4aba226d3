/* getrandom (GLIBC_2.25): the system call itself.  On a kernel older than 3.17 it
 * fails with ENOSYS, as glibc's does. */
#include "shim.h"

#include <stddef.h>
#include <sys/syscall.h>
#include <sys/types.h>

extern long syscall(long number, ...);

MW_SHIM ssize_t getrandom(void *buf, size_t len, unsigned int flags)
{
    return syscall(SYS_getrandom, buf, len, flags);
}
