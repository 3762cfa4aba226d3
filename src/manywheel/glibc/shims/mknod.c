/* mknod (GLIBC_2.33), through __xmknod with _MKNOD_VER (MW_MKNOD_VER in shim.h). */
#include "shim.h"

#include <sys/types.h>

extern int __xmknod(int ver, const char *path, mode_t mode, dev_t *dev);
MW_PIN(__xmknod);

MW_SHIM int mknod(const char *path, mode_t mode, dev_t dev)
{
    return __xmknod(MW_MKNOD_VER, path, mode, &dev);
}
