#include "mw_par_generated.h"
long mw_b1(void) { return 1 * MW_PAR_MAGIC; }
