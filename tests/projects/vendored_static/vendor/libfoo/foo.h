/* libfoo: a tiny vendored library, built as a static archive by setup.py. */
#ifndef FOO_H
#define FOO_H

#include <stddef.h>
#include <stdint.h>

/* Size of the file at path in *size; 0 on success, else an errno value. */
int foo_file_size(const char *path, long long *size);

/* Fills buf with n random bytes (getrandom); 0 on success, else an errno value. */
int foo_random(void *buf, size_t n);

/* FNV-1a 64-bit hash of n bytes. */
uint64_t foo_fnv1a(const void *data, size_t n);

#endif
