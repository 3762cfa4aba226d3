#include <math.h>
#include "mw_par_generated.h"
long mw_a3(void) { return 3 * MW_PAR_MAGIC + (long)sqrt(3.0 * 3.0); }
