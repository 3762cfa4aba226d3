/* mknodat (GLIBC_2.33), through __xmknodat (GLIBC_2.4); _MKNOD_VER is 0 on x86_64. */
#include "shim.h"

#include <sys/types.h>

extern int __xmknodat(int ver, int dirfd, const char *path, mode_t mode, dev_t *dev);
MW_PIN(__xmknodat, MW_GLIBC_2_4);

MW_SHIM int mknodat(int dirfd, const char *path, mode_t mode, dev_t dev)
{
    return __xmknodat(0, dirfd, path, mode, &dev);
}
