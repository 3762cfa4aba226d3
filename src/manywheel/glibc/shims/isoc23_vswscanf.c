/* __isoc23_vswscanf (GLIBC_2.38): what vswscanf becomes in C23 mode or with _GNU_SOURCE
 * under glibc >= 2.38 headers; forwards to __isoc99_vswscanf (GLIBC_2.7), so C23's %b
 * conversion and "0b" input for %i are not understood. */
#include "shim.h"

#include <stdarg.h>
#include <stdio.h>
#include <wchar.h>

extern int __isoc99_vswscanf(const wchar_t *restrict s, const wchar_t *restrict format, va_list ap);

MW_SHIM int __isoc23_vswscanf(const wchar_t *restrict s, const wchar_t *restrict format, va_list ap)
{
    return __isoc99_vswscanf(s, format, ap);
}
