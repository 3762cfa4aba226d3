/* getentropy (GLIBC_2.25): at most 256 bytes (else EIO), filled completely from the
 * getrandom system call, retrying on EINTR; other errors (ENOSYS, EFAULT) pass on. */
#include "shim.h"

#include <errno.h>
#include <stddef.h>
#include <sys/syscall.h>

extern long syscall(long number, ...);

MW_SHIM int getentropy(void *buf, size_t len)
{
    if (len > 256) {
        errno = EIO;
        return -1;
    }
    unsigned char *p = buf;
    unsigned char *end = p + len;
    while (p < end) {
        long got = syscall(SYS_getrandom, p, (size_t)(end - p), 0u);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (got == 0) { /* cannot happen; never loop forever */
            errno = EIO;
            return -1;
        }
        p += got;
    }
    return 0;
}
