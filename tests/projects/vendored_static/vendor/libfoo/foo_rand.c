/* The random part of libfoo: getrandom is GLIBC_2.25. */
#include <errno.h>
#include <sys/random.h>

#include "foo.h"

int
foo_random(void *buf, size_t n)
{
    unsigned char *p = buf;

    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

uint64_t
foo_fnv1a(const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t h = 14695981039346656037ULL;

    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}
