/* lstat, lstat64 (GLIBC_2.33), through __lxstat64 (see stat.c). */
#include "shim.h"

struct stat;
struct stat64;

extern int __lxstat64(int ver, const char *path, void *buf);
MW_PIN(__lxstat64, MW_GLIBC_BASE);

MW_SHIM int lstat(const char *restrict path, struct stat *restrict buf)
{
    return __lxstat64(1, path, buf);
}

MW_SHIM int lstat64(const char *restrict path, struct stat64 *restrict buf)
{
    return __lxstat64(1, path, buf);
}
