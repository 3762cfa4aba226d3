/* __isoc23_vwscanf (GLIBC_2.38): what vwscanf becomes in C23 mode or with _GNU_SOURCE
 * under glibc >= 2.38 headers; forwards to __isoc99_vwscanf (GLIBC_2.7), so C23's %b
 * conversion and "0b" input for %i are not understood. */
#include "shim.h"

#include <stdarg.h>
#include <stdio.h>
#include <wchar.h>

extern int __isoc99_vwscanf(const wchar_t *restrict format, va_list ap);

MW_SHIM int __isoc23_vwscanf(const wchar_t *restrict format, va_list ap)
{
    return __isoc99_vwscanf(format, ap);
}
