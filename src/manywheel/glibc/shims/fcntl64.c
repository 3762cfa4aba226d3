/* fcntl64 (GLIBC_2.28): what <fcntl.h> calls under -D_FILE_OFFSET_BITS=64, which
 * Python.h sets.  On 64-bit arches struct flock and struct flock64 are the same, so
 * the old fcntl does the same job.  On 32-bit ones glibc 2.28 gave fcntl a new
 * version that converts the struct flock of the OFD lock commands to a struct
 * flock64; the old version (GLIBC_2.0 on i686, 2.4 on armv7l), like every fcntl
 * before 2.28, hands every command to the fcntl64 system call unchanged, exactly as
 * fcntl64 does. */
#include "shim.h"

#include <stdarg.h>

extern int fcntl(int fd, int cmd, ...);
#if MW_ILP32
MW_PIN(fcntl);
#endif

MW_SHIM int fcntl64(int fd, int cmd, ...)
{
    /* Every third argument (int, long or pointer) travels in one register or stack
     * slot; read it as a pointer, as glibc's own fcntl does, and pass it on unchanged. */
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    return fcntl(fd, cmd, arg);
}
