/* The file part of libfoo: stat() is stat64@GLIBC_2.33 on a modern host. */
#define _FILE_OFFSET_BITS 64
#include <errno.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "foo.h"

int
foo_file_size(const char *path, long long *size)
{
    struct stat st;

    if (stat(path, &st) != 0)
        return errno;
    *size = (long long)st.st_size;
    return 0;
}
