/* fts64_open, fts64_read, fts64_children, fts64_set, fts64_close (GLIBC_2.23): what
 * <fts.h> calls under -D_FILE_OFFSET_BITS=64, which Python.h sets (older headers
 * refused that combination).  On LP64, FTS64/FTSENT64 and FTS/FTSENT are the same
 * layout, so the old functions do the job.  One member for all five: a program
 * that opens a walk also reads and closes it. */
#include "shim.h"

/* <fts.h> is not included: it declares these names with other types. */
typedef struct mw_fts mw_fts;
typedef struct mw_ftsent mw_ftsent;
typedef int (*mw_fts_compar)(const mw_ftsent **, const mw_ftsent **);

extern mw_fts *fts_open(char *const *paths, int options, mw_fts_compar compar);
extern mw_ftsent *fts_read(mw_fts *fts);
extern mw_ftsent *fts_children(mw_fts *fts, int options);
extern int fts_set(mw_fts *fts, mw_ftsent *entry, int options);
extern int fts_close(mw_fts *fts);

MW_SHIM mw_fts *fts64_open(char *const *paths, int options, mw_fts_compar compar)
{
    return fts_open(paths, options, compar);
}

MW_SHIM mw_ftsent *fts64_read(mw_fts *fts)
{
    return fts_read(fts);
}

MW_SHIM mw_ftsent *fts64_children(mw_fts *fts, int options)
{
    return fts_children(fts, options);
}

MW_SHIM int fts64_set(mw_fts *fts, mw_ftsent *entry, int options)
{
    return fts_set(fts, entry, options);
}

MW_SHIM int fts64_close(mw_fts *fts)
{
    return fts_close(fts);
}
