/* fstatat, fstatat64 (GLIBC_2.33), through __fxstatat64 (GLIBC_2.4; see stat.c). */
#include "shim.h"

struct stat;
struct stat64;

extern int __fxstatat64(int ver, int dirfd, const char *path, void *buf, int flags);
MW_PIN(__fxstatat64, MW_GLIBC_2_4);

MW_SHIM int fstatat(int dirfd, const char *restrict path, struct stat *restrict buf, int flags)
{
    return __fxstatat64(1, dirfd, path, buf, flags);
}

MW_SHIM int fstatat64(int dirfd, const char *restrict path, struct stat64 *restrict buf,
                      int flags)
{
    return __fxstatat64(1, dirfd, path, buf, flags);
}
