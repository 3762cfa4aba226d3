#include <math.h>
#include "mw_par_generated.h"
long mw_a2(void) { return 2 * MW_PAR_MAGIC + (long)sqrt(2.0 * 2.0); }
