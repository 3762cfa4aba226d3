"""``manywheel wheels``: the whole wheel matrix (every Python x architecture) built from one sdist
and each wheel tested where it must run.

``identifiers`` names the cells and selects them, ``config`` reads the options, ``interpreters``
finds the host Pythons, ``roots`` the roots the wheels are tested in, ``plan`` puts them together
before anything is built, ``testing`` runs one wheel's test and ``runner`` runs the plan.
"""
