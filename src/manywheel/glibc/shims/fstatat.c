/* fstatat, fstatat64 (GLIBC_2.33), through __fxstatat and __fxstatat64 (GLIBC_2.4 on
 * the arches older than that; see stat.c). */
#include "shim.h"

struct stat;
struct stat64;

extern int __fxstatat64(int ver, int dirfd, const char *path, void *buf, int flags);
MW_PIN(__fxstatat64);
#if MW_ILP32
extern int __fxstatat(int ver, int dirfd, const char *path, void *buf, int flags);
MW_PIN(__fxstatat);
#endif

MW_SHIM int fstatat(int dirfd, const char *restrict path, struct stat *restrict buf, int flags)
{
#if MW_ILP32
    return __fxstatat(MW_STAT_VER, dirfd, path, buf, flags);
#else
    return __fxstatat64(MW_STAT_VER, dirfd, path, buf, flags);
#endif
}

MW_SHIM int fstatat64(int dirfd, const char *restrict path, struct stat64 *restrict buf,
                      int flags)
{
    return __fxstatat64(MW_STAT_VER, dirfd, path, buf, flags);
}
