/* The project's own shared library, which the module finds through its RUNPATH ($ORIGIN/lib). */
int mwrcore_triple(int n) { return 3 * n; }
