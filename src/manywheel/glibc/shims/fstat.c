/* fstat, fstat64 (GLIBC_2.33), through __fxstat and __fxstat64 (see stat.c). */
#include "shim.h"

struct stat;
struct stat64;

extern int __fxstat64(int ver, int fd, void *buf);
MW_PIN(__fxstat64);
#if MW_ILP32
extern int __fxstat(int ver, int fd, void *buf);
MW_PIN(__fxstat);
#endif

MW_SHIM int fstat(int fd, struct stat *buf)
{
#if MW_ILP32
    return __fxstat(MW_STAT_VER, fd, buf);
#else
    return __fxstat64(MW_STAT_VER, fd, buf);
#endif
}

MW_SHIM int fstat64(int fd, struct stat64 *buf)
{
    return __fxstat64(MW_STAT_VER, fd, buf);
}
