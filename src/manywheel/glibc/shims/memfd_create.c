/* memfd_create (GLIBC_2.27): the system call itself (ENOSYS before Linux 3.17). */
#include "shim.h"

#include <sys/syscall.h>

extern long syscall(long number, ...);

MW_SHIM int memfd_create(const char *name, unsigned int flags)
{
    return (int)syscall(SYS_memfd_create, name, flags);
}
