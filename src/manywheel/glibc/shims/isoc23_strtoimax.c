/* __isoc23_strtoimax (GLIBC_2.38): strtoimax with C23's "0b" prefix (see MW_ISOC23_STRTO in shim.h). */
#define MW_WANT_ISOC23_STRTO
#include "shim.h"

#include <ctype.h>
#include <limits.h>
#include <stddef.h>

#define MW_ISSPACE(c) isspace((unsigned char)(c))

MW_ISOC23_STRTO(__isoc23_strtoimax, intmax_t, INTMAX_MIN, INTMAX_MAX, char, MW_ISSPACE, strtoimax, strtoumax)
