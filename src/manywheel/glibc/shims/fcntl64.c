/* fcntl64 (GLIBC_2.28): what <fcntl.h> calls under -D_FILE_OFFSET_BITS=64, which
 * Python.h sets.  On LP64 struct flock and struct flock64 are the same, so the old
 * fcntl does the same job. */
#include "shim.h"

#include <stdarg.h>

extern int fcntl(int fd, int cmd, ...);

MW_SHIM int fcntl64(int fd, int cmd, ...)
{
    /* Every third argument (int, long or pointer) travels in one 64-bit slot; read
     * it as a pointer, as glibc's own fcntl does, and pass it on unchanged. */
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    return fcntl(fd, cmd, arg);
}
