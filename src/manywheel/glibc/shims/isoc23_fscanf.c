/* __isoc23_fscanf (GLIBC_2.38): what fscanf becomes in C23 mode or with _GNU_SOURCE
 * under glibc >= 2.38 headers; forwards to __isoc99_vfscanf (GLIBC_2.7), so C23's %b
 * conversion and "0b" input for %i are not understood. */
#include "shim.h"

#include <stdarg.h>
#include <stdio.h>

extern int __isoc99_vfscanf(FILE *restrict stream, const char *restrict format, va_list ap);

MW_SHIM int __isoc23_fscanf(FILE *restrict stream, const char *restrict format, ...)
{
    va_list ap;
    va_start(ap, format);
    int n = __isoc99_vfscanf(stream, format, ap);
    va_end(ap);
    return n;
}
