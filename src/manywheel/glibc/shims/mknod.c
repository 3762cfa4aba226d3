/* mknod (GLIBC_2.33), through __xmknod; _MKNOD_VER is 0 on x86_64. */
#include "shim.h"

#include <sys/types.h>

extern int __xmknod(int ver, const char *path, mode_t mode, dev_t *dev);
MW_PIN(__xmknod, MW_GLIBC_BASE);

MW_SHIM int mknod(const char *path, mode_t mode, dev_t dev)
{
    return __xmknod(0, path, mode, &dev);
}
