#include <math.h>
#include "mw_par_generated.h"
long mw_a1(void) { return 1 * MW_PAR_MAGIC + (long)sqrt(1.0 * 1.0); }
