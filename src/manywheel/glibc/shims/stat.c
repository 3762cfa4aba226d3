/* stat, stat64 (GLIBC_2.33): before 2.33 <sys/stat.h> made them inline calls to
 * __xstat and __xstat64, which every glibc still exports, with _STAT_VER (MW_STAT_VER)
 * first.  On 64-bit arches struct stat and struct stat64 are the same and __xstat64
 * fills both; on 32-bit ones struct stat has 32-bit sizes and inode numbers, and only
 * __xstat fills it (failing with EOVERFLOW where they do not fit). */
#include "shim.h"

struct stat;
struct stat64;

extern int __xstat64(int ver, const char *path, void *buf);
MW_PIN(__xstat64);
#if MW_ILP32
extern int __xstat(int ver, const char *path, void *buf);
MW_PIN(__xstat);
#endif

MW_SHIM int stat(const char *restrict path, struct stat *restrict buf)
{
#if MW_ILP32
    return __xstat(MW_STAT_VER, path, buf);
#else
    return __xstat64(MW_STAT_VER, path, buf);
#endif
}

MW_SHIM int stat64(const char *restrict path, struct stat64 *restrict buf)
{
    return __xstat64(MW_STAT_VER, path, buf);
}
