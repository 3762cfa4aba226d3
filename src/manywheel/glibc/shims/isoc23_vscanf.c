/* __isoc23_vscanf (GLIBC_2.38): what vscanf becomes in C23 mode or with _GNU_SOURCE
 * under glibc >= 2.38 headers; forwards to __isoc99_vscanf (GLIBC_2.7), so C23's %b
 * conversion and "0b" input for %i are not understood. */
#include "shim.h"

#include <stdarg.h>
#include <stdio.h>

extern int __isoc99_vscanf(const char *restrict format, va_list ap);

MW_SHIM int __isoc23_vscanf(const char *restrict format, va_list ap)
{
    return __isoc99_vscanf(format, ap);
}
