/* Private header of manywheel's glibc compatibility shims.
 *
 * Every shim is one translation unit, so one member of libmanywheel_shims.a, and
 * the linker pulls in only the members an extension really references.  Each
 * definition is hidden: the shim becomes part of the extension and is never
 * exported, so it cannot interpose on the libc of the system that loads it.
 *
 * The shims must not reference any glibc symbol version newer than the oldest
 * target.  In the real pipeline they are linked through the generated stub
 * libraries, whose default versions are old; but they must also link right
 * against the build host's libc (tests, a missing stub), so every reference
 * whose host default version is new is pinned here with .symver.
 *
 * Include this header first: it undoes build flags that would redirect the
 * functions a shim calls to their new-ABI names.
 */
#ifndef MANYWHEEL_SHIM_H
#define MANYWHEEL_SHIM_H

/* -D_FILE_OFFSET_BITS=64 would turn fcntl into fcntl64, stat into stat64, ...: the
 * very symbols being replaced.  Fortification turns calls into __*_chk calls and
 * defines some of the shimmed functions as inline wrappers. */
#undef _FILE_OFFSET_BITS
#undef _TIME_BITS
#undef _FORTIFY_SOURCE

/* The architectures the shims are written for, and what differs between them.
 * shims.py passes -DMW_ARCH_<name> for the architecture it builds for: a compiler
 * that builds for another one stops here rather than making a wrong archive.
 *
 * MW_STAT_VER and MW_MKNOD_VER are the _STAT_VER and _MKNOD_VER of <bits/stat.h>
 * before glibc 2.33 (Debian bullseye's glibc 2.31 headers; ppc64 and s390x from the
 * glibc 2.31 source): the first argument of __xstat* and __xmknod*, which fail with
 * EINVAL, or fill another structure layout, when given another one. */
#if defined(__x86_64__) && !defined(__ILP32__)
# define MW_STAT_VER 1
# define MW_MKNOD_VER 0
# ifndef MW_ARCH_x86_64
#  error "manywheel shims: this compiler builds for x86_64, not for the architecture requested"
# endif
#elif defined(__i386__)
# define MW_STAT_VER 3
# define MW_MKNOD_VER 1
# ifndef MW_ARCH_i686
#  error "manywheel shims: this compiler builds for i686, not for the architecture requested"
# endif
#elif defined(__aarch64__) && defined(__LP64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
# define MW_STAT_VER 0
# define MW_MKNOD_VER 0
# ifndef MW_ARCH_aarch64
#  error "manywheel shims: this compiler builds for aarch64, not for the architecture requested"
# endif
#elif defined(__arm__) && defined(__ARM_EABI__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
# define MW_STAT_VER 3
# define MW_MKNOD_VER 1
# ifndef MW_ARCH_armv7l
#  error "manywheel shims: this compiler builds for armv7l, not for the architecture requested"
# endif
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
# define MW_STAT_VER 1
# define MW_MKNOD_VER 1
# ifndef MW_ARCH_ppc64le
#  error "manywheel shims: this compiler builds for ppc64le, not for the architecture requested"
# endif
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
# define MW_STAT_VER 1
# define MW_MKNOD_VER 1
# ifndef MW_ARCH_ppc64
#  error "manywheel shims: this compiler builds for ppc64, not for the architecture requested"
# endif
#elif defined(__s390x__)
# define MW_STAT_VER 1
# define MW_MKNOD_VER 0
# ifndef MW_ARCH_s390x
#  error "manywheel shims: this compiler builds for s390x, not for the architecture requested"
# endif
#elif defined(__riscv) && __riscv_xlen == 64 && defined(__LP64__)
# define MW_STAT_VER 0
# define MW_MKNOD_VER 0
# ifndef MW_ARCH_riscv64
#  error "manywheel shims: this compiler builds for riscv64, not for the architecture requested"
# endif
#else
# error "manywheel shims: this compiler builds for an architecture the shims do not support"
#endif

/* 32-bit arches: off_t, ino_t and time_t are 32 bits wide, so struct stat and struct
 * stat64, and struct flock and struct flock64, differ. */
#if __SIZEOF_POINTER__ == 4
# define MW_ILP32 1
#else
# define MW_ILP32 0
#endif

/* Bind every reference to SYM in this object to SYM@MW_VERSION_SYM.  shims.py passes
 * -DMW_VERSION_SYM="GLIBC_x.y" for every MW_PIN(SYM) of a source: the default version
 * of SYM at the oldest manylinux target of the architecture, from manywheel's glibc
 * ABI record.  Without it the compiler stops at this line, naming MW_VERSION_SYM.
 * Write MW_PIN only in the shim sources, one per line, as shims.py reads them. */
#define MW_PIN(sym) __asm__(".symver " #sym "," #sym "@" MW_VERSION_##sym)

/* Marks every definition a shim makes. */
#define MW_SHIM __attribute__((visibility("hidden")))

/* Internal helpers shared between shims are static, so every member stays
 * self-contained. */
#define MW_INTERNAL static __attribute__((unused))

#ifdef MW_WANT_DEADLINES
/* Helpers of the *_clock* shims: old glibc waits only for CLOCK_REALTIME deadlines. */
#include <limits.h>
#include <time.h>

MW_INTERNAL int mw_valid_timespec(const struct timespec *ts)
{
    return ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000L;
}

/* The CLOCK_REALTIME time at which CLOCK's DEADLINE will be reached if both clocks
 * keep the same pace from now on; saturates instead of overflowing.  A deadline
 * already passed maps to now. */
MW_INTERNAL struct timespec mw_realtime_deadline(clockid_t clock, const struct timespec *deadline)
{
    const long nsec_per_sec = 1000000000L;
    struct timespec now, rt;
    clock_gettime(clock, &now);
    clock_gettime(CLOCK_REALTIME, &rt);
    /* time_t is long on every supported arch (-U_TIME_BITS keeps it so on 32-bit ones). */
    _Static_assert(sizeof(time_t) == sizeof(long), "time_t is not long");
    const struct timespec latest = {LONG_MAX, 999999999L};
    if (deadline->tv_sec < now.tv_sec
        || (deadline->tv_sec == now.tv_sec && deadline->tv_nsec <= now.tv_nsec))
        return rt;
    /* deadline > now >= 0, so this cannot overflow. */
    time_t left_sec = deadline->tv_sec - now.tv_sec;
    long left_nsec = deadline->tv_nsec - now.tv_nsec;
    if (left_nsec < 0) {
        left_nsec += nsec_per_sec;
        left_sec -= 1;
    }
    struct timespec out;
    out.tv_nsec = rt.tv_nsec + left_nsec;
    time_t carry = 0;
    if (out.tv_nsec >= nsec_per_sec) {
        out.tv_nsec -= nsec_per_sec;
        carry = 1;
    }
    if (__builtin_add_overflow(rt.tv_sec, left_sec, &out.tv_sec)
        || __builtin_add_overflow(out.tv_sec, carry, &out.tv_sec))
        return latest;
    return out;
}

/* Whether CLOCK has reached DEADLINE. */
MW_INTERNAL int mw_deadline_passed(clockid_t clock, const struct timespec *deadline)
{
    struct timespec now;
    clock_gettime(clock, &now);
    return now.tv_sec > deadline->tv_sec
           || (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}
#endif /* MW_WANT_DEADLINES */

#ifdef MW_WANT_RANDOM
/* Helper of the arc4random shims, which cannot fail: the getrandom system call, or
 * /dev/urandom on kernels older than 3.17; abort() if neither works. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

MW_INTERNAL void mw_random_fill(void *buf, size_t len)
{
    int saved_errno = errno; /* arc4random never fails, so it never sets errno */
    unsigned char *p = buf;
    unsigned char *end = p + len;
    int fd = -1;
    while (p < end) {
        long got;
        if (fd < 0) {
            got = syscall(SYS_getrandom, p, (size_t)(end - p), 0u);
            if (got < 0 && errno == ENOSYS) {
                do
                    fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
                while (fd < 0 && errno == EINTR);
                if (fd < 0)
                    abort();
                continue;
            }
        } else {
            got = read(fd, p, (size_t)(end - p));
        }
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            abort();
        p += got;
    }
    if (fd >= 0)
        close(fd);
    errno = saved_errno;
}
#endif /* MW_WANT_RANDOM */

#ifdef MW_WANT_ISOC23_STRTO
/* Template of the __isoc23_strto* and __isoc23_wcsto* shims (GLIBC_2.38: what
 * <stdlib.h>, <inttypes.h> and <wchar.h> call in C23 mode or with _GNU_SOURCE).
 * C23 adds one thing to the C99 functions: with base 0 or 2, a "0b" or "0B" prefix
 * followed by a binary digit.  Such input is parsed here; the rest is the C99
 * function's.  The including file must not define _GNU_SOURCE, or newer headers
 * would redirect the C99 names to these very functions. */
#include <errno.h>
#include <stdint.h>

#define MW_ISOC23_STRTO(name, type, tmin, tmax, chr, isspace_fn, c99_fn, umax_fn)      \
    extern type c99_fn(const chr *restrict, chr **restrict, int);                        \
    extern uintmax_t umax_fn(const chr *restrict, chr **restrict, int);                  \
    MW_SHIM type name(const chr *restrict s, chr **restrict end, int base)               \
    {                                                                                    \
        const chr *p = s;                                                                \
        if (base != 0 && base != 2)                                                      \
            return c99_fn(s, end, base);                                                 \
        while (isspace_fn(*p))                                                           \
            ++p;                                                                         \
        int negative = *p == '-';                                                        \
        if (*p == '-' || *p == '+')                                                      \
            ++p;                                                                         \
        if (p[0] != '0' || (p[1] != 'b' && p[1] != 'B') || (p[2] != '0' && p[2] != '1')) \
            return c99_fn(s, end, base);                                                 \
        int saved_errno = errno;                                                         \
        errno = 0;                                                                       \
        chr *stop;                                                                       \
        uintmax_t magnitude = umax_fn(p + 2, &stop, 2);                                  \
        int overflow = errno == ERANGE;                                                  \
        errno = saved_errno;                                                             \
        if (end != NULL)                                                                 \
            *end = stop;                                                                 \
        /* Signed types reach down to -(tmax + 1); unsigned ones negate modulo 2**N */  \
        /* (tmin is 0), so their limit is tmax either way. */                           \
        int is_signed = (tmin) != 0;                                                     \
        uintmax_t limit = (uintmax_t)(tmax) + (uintmax_t)(negative && is_signed);        \
        if (overflow || magnitude > limit) {                                             \
            errno = ERANGE;                                                              \
            return negative && is_signed ? (tmin) : (tmax);                              \
        }                                                                                \
        if (!negative)                                                                   \
            return (type)magnitude;                                                      \
        if (is_signed && magnitude == limit)                                             \
            return (tmin);                                                               \
        return (type)(0 - (type)magnitude);                                              \
    }
#endif /* MW_WANT_ISOC23_STRTO */

#endif /* MANYWHEEL_SHIM_H */
