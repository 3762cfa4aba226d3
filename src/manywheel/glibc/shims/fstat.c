/* fstat, fstat64 (GLIBC_2.33), through __fxstat64 (see stat.c). */
#include "shim.h"

struct stat;
struct stat64;

extern int __fxstat64(int ver, int fd, void *buf);
MW_PIN(__fxstat64, MW_GLIBC_BASE);

MW_SHIM int fstat(int fd, struct stat *buf)
{
    return __fxstat64(1, fd, buf);
}

MW_SHIM int fstat64(int fd, struct stat64 *buf)
{
    return __fxstat64(1, fd, buf);
}
