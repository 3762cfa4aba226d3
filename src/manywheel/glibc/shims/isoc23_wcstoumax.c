/* __isoc23_wcstoumax (GLIBC_2.38): wcstoumax with C23's "0b" prefix (see MW_ISOC23_STRTO in shim.h). */
#define MW_WANT_ISOC23_STRTO
#include "shim.h"

#include <limits.h>
#include <stddef.h>
#include <wctype.h>

#define MW_ISSPACE(c) iswspace((wint_t)(c))

MW_ISOC23_STRTO(__isoc23_wcstoumax, uintmax_t, 0, UINTMAX_MAX, wchar_t, MW_ISSPACE, wcstoumax, wcstoumax)
