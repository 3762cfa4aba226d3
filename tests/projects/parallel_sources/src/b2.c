#include "mw_par_generated.h"
long mw_b2(void) { return 2 * MW_PAR_MAGIC; }
