"""The compiler wrapper's side: run for every compile and link of the inner build.

Every module here uses the standard library only and imports nothing from the rest of
manywheel: the wrapper starts as a script (``python -S -E ccwrap.py``), hundreds of times
a build, in about 12 ms, and finds its siblings beside it.  The build side imports the
contracts defined here (the wrapper's configuration, the link log, the ELF edits).
"""
