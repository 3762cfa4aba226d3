/* __isoc23_wcstoll (GLIBC_2.38): wcstoll with C23's "0b" prefix (see MW_ISOC23_STRTO in shim.h). */
#define MW_WANT_ISOC23_STRTO
#include "shim.h"

#include <limits.h>
#include <stddef.h>
#include <wctype.h>

#define MW_ISSPACE(c) iswspace((wint_t)(c))

MW_ISOC23_STRTO(__isoc23_wcstoll, long long, LLONG_MIN, LLONG_MAX, wchar_t, MW_ISSPACE, wcstoll, wcstoumax)
