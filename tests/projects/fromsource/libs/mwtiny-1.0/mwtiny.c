#include <math.h>
#include <string.h>
#include <stdlib.h>
#include "mwtiny.h"
/* exp and getrandom-free: memcpy and exp are what a 2.17 baseline pins (GLIBC_2.14 / 2.29 on the host) */
int mwtiny_answer(void) { char b[8]; memcpy(b, "abcdefg", 8); return (int)(exp(0.0) * 41.0) + (b[0] == 'a'); }
const char *mwtiny_where(void) { return MWTINY_WHERE; }
