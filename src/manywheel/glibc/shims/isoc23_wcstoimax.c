/* __isoc23_wcstoimax (GLIBC_2.38): wcstoimax with C23's "0b" prefix (see MW_ISOC23_STRTO in shim.h). */
#define MW_WANT_ISOC23_STRTO
#include "shim.h"

#include <limits.h>
#include <stddef.h>
#include <wctype.h>

#define MW_ISSPACE(c) iswspace((wint_t)(c))

MW_ISOC23_STRTO(__isoc23_wcstoimax, intmax_t, INTMAX_MIN, INTMAX_MAX, wchar_t, MW_ISSPACE, wcstoimax, wcstoumax)
