/* lstat, lstat64 (GLIBC_2.33), through __lxstat and __lxstat64 (see stat.c). */
#include "shim.h"

struct stat;
struct stat64;

extern int __lxstat64(int ver, const char *path, void *buf);
MW_PIN(__lxstat64);
#if MW_ILP32
extern int __lxstat(int ver, const char *path, void *buf);
MW_PIN(__lxstat);
#endif

MW_SHIM int lstat(const char *restrict path, struct stat *restrict buf)
{
#if MW_ILP32
    return __lxstat(MW_STAT_VER, path, buf);
#else
    return __lxstat64(MW_STAT_VER, path, buf);
#endif
}

MW_SHIM int lstat64(const char *restrict path, struct stat64 *restrict buf)
{
    return __lxstat64(MW_STAT_VER, path, buf);
}
