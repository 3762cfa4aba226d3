/* stat, stat64 (GLIBC_2.33): before 2.33 <sys/stat.h> made them inline calls to
 * __xstat64, which every glibc still exports.  struct stat and struct stat64 are
 * the same on x86_64, and _STAT_VER is 1 there. */
#include "shim.h"

struct stat;
struct stat64;

extern int __xstat64(int ver, const char *path, void *buf);
MW_PIN(__xstat64, MW_GLIBC_BASE);

MW_SHIM int stat(const char *restrict path, struct stat *restrict buf)
{
    return __xstat64(1, path, buf);
}

MW_SHIM int stat64(const char *restrict path, struct stat64 *restrict buf)
{
    return __xstat64(1, path, buf);
}
