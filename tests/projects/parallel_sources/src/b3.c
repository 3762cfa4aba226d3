#include "mw_par_generated.h"
long mw_b3(void) { return 3 * MW_PAR_MAGIC; }
