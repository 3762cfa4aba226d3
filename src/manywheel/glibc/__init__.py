"""glibc facts and generated files: the ABI record, stub libraries, pin header and shims."""
