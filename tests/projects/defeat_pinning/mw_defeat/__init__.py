"""A package crafted to defeat ABI pinning (see setup.py)."""
