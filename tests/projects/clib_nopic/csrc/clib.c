/* The project's own library, built by setuptools' build_clib. */
int mwclib_answer(void) { return 42; }
