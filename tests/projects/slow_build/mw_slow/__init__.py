"""A package whose build is slow on purpose (see setup.py)."""
