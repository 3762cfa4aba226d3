/* __isoc23_strtoll (GLIBC_2.38): strtoll with C23's "0b" prefix (see MW_ISOC23_STRTO in shim.h). */
#define MW_WANT_ISOC23_STRTO
#include "shim.h"

#include <ctype.h>
#include <limits.h>
#include <stddef.h>

#define MW_ISSPACE(c) isspace((unsigned char)(c))

MW_ISOC23_STRTO(__isoc23_strtoll, long long, LLONG_MIN, LLONG_MAX, char, MW_ISSPACE, strtoll, strtoumax)
