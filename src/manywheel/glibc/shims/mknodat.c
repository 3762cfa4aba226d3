/* mknodat (GLIBC_2.33), through __xmknodat (GLIBC_2.4 on the arches older than that)
 * with _MKNOD_VER (MW_MKNOD_VER in shim.h). */
#include "shim.h"

#include <sys/types.h>

extern int __xmknodat(int ver, int dirfd, const char *path, mode_t mode, dev_t *dev);
MW_PIN(__xmknodat);

MW_SHIM int mknodat(int dirfd, const char *path, mode_t mode, dev_t dev)
{
    return __xmknodat(MW_MKNOD_VER, dirfd, path, mode, &dev);
}
