/* __wrap_sysconf, for -Wl,--wrap=sysconf.  With _GNU_SOURCE, glibc >= 2.34 defines
 * SIGSTKSZ and MINSIGSTKSZ as sysconf(_SC_SIGSTKSZ) and sysconf(_SC_MINSIGSTKSZ);
 * an older glibc answers -1 (EINVAL) and the program sizes a signal stack with it.
 * When the real sysconf fails for those two names, answer as glibc 2.34 does: the
 * minimum is what the kernel says (AT_MINSIGSTKSZ: Linux >= 5.14 on x86, 4.18 on
 * aarch64), else on x86 the processor's XSAVE area plus the signal frame, at least
 * the arch's old constant MINSIGSTKSZ (2048; 5120 on aarch64, 4096 on ppc64*); the
 * suggested size is four times that, at least the old SIGSTKSZ (8192; 16384 on
 * aarch64 and ppc64*).  Everything else is the real sysconf's answer. */
#undef _GNU_SOURCE /* keep MINSIGSTKSZ and SIGSTKSZ the arch's constants */
#undef _DYNAMIC_STACK_SIZE_SOURCE
#include "shim.h"

#include <errno.h>
#include <signal.h>

_Static_assert(__builtin_constant_p(MINSIGSTKSZ) && __builtin_constant_p(SIGSTKSZ),
               "MINSIGSTKSZ and SIGSTKSZ must be the constants of <bits/sigstack.h>");

/* Values of glibc >= 2.34's <bits/confname.h>, absent from older headers; the same
 * on every arch, like the auxiliary vector's AT_MINSIGSTKSZ. */
#define MW_SC_MINSIGSTKSZ 249
#define MW_SC_SIGSTKSZ 250
#define MW_AT_MINSIGSTKSZ 51
#define MW_LEGACY_MINSIGSTKSZ ((long)MINSIGSTKSZ)
#define MW_LEGACY_SIGSTKSZ ((long)SIGSTKSZ)

extern long __real_sysconf(int name);
/* Weak and unversioned: getauxval is GLIBC_2.16, absent from older targets. */
extern unsigned long getauxval(unsigned long type) __attribute__((weak));

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

/* Room for the kernel's signal frame around the XSAVE area (siginfo, ucontext,
 * alignment); the kernel itself needs 944 bytes with AVX-512, so round up. */
#define MW_SIGFRAME_OVERHEAD 1024L

static long mw_xsave_size(void)
{
    unsigned int eax, ebx, ecx, edx;
    if (__get_cpuid_max(0, 0) < 0xd)
        return 0;
    __cpuid(1, eax, ebx, ecx, edx);
    if (!(ecx & bit_OSXSAVE))
        return 0;
    /* EBX: bytes needed by the state components the OS enabled in XCR0. */
    __cpuid_count(0xd, 0, eax, ebx, ecx, edx);
    return (long)ebx;
}
#else
/* Elsewhere the signal frame has no processor-dependent part that MINSIGSTKSZ does
 * not cover (glibc 2.34 falls back to the constant too). */
#define MW_SIGFRAME_OVERHEAD 0L

static long mw_xsave_size(void)
{
    return 0;
}
#endif

static long mw_min_sigstack_size(void)
{
    long size = 0;
    if (getauxval != 0)
        size = (long)getauxval(MW_AT_MINSIGSTKSZ);
    if (size == 0) {
        long xsave = mw_xsave_size();
        if (xsave > 0)
            size = (xsave + MW_SIGFRAME_OVERHEAD + 63) & ~63L;
    }
    return size > MW_LEGACY_MINSIGSTKSZ ? size : MW_LEGACY_MINSIGSTKSZ;
}

MW_SHIM long __wrap_sysconf(int name)
{
    int saved_errno = errno;
    long value = __real_sysconf(name);
    if (value != -1 || (name != MW_SC_MINSIGSTKSZ && name != MW_SC_SIGSTKSZ))
        return value;
    errno = saved_errno;
    long min = mw_min_sigstack_size();
    if (name == MW_SC_MINSIGSTKSZ)
        return min;
    return 4 * min > MW_LEGACY_SIGSTKSZ ? 4 * min : MW_LEGACY_SIGSTKSZ;
}
