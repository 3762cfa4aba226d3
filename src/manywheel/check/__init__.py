"""The checker: read ELF files and wheels, judge them against the policies, report.

``manywheel check`` runs on this package alone (with the policies, the glibc ABI record
and the wheel reader it shares with the build): nothing here imports the build side
(settings, baseline, toolchain, the inner build, the wrapper).
"""
