#include <math.h>
#include "mw_par_generated.h"
long mw_a4(void) { return 4 * MW_PAR_MAGIC + (long)sqrt(4.0 * 4.0); }
