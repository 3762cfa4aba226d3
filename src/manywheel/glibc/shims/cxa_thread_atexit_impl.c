/* __cxa_thread_atexit_impl (GLIBC_2.18): registers the destructor of a thread_local
 * object; libstdc++'s __cxa_thread_atexit calls it.
 *
 * On glibc >= 2.18 the real one is looked up at run time and called: it also keeps
 * the registering object loaded until the destructors have run.  The lookup goes
 * through dlsym rather than a weak reference, because the manylinux 2_5/2_12/2_17
 * policies forbid a (non-weak) reference to this symbol and a versioned weak one
 * would still need GLIBC_2.18.
 *
 * Without it (glibc 2.17), destructors are kept in a per-thread list held in a
 * pthread key of this object: the key's destructor runs the list when a thread
 * exits, and an exit handler runs the list of the thread that calls exit().  The
 * object holding this code (the extension) is then made unloadable
 * (RTLD_NODELETE), since threads may still hold pointers into it.  Limits of the
 * fallback: the exiting thread's destructors run among the atexit handlers rather
 * than before all of them, and if no key or memory is left a destructor is not
 * registered (the object leaks, nothing crashes).
 */
#define _GNU_SOURCE
#include "shim.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>

MW_PIN(dlsym);
MW_PIN(dladdr);
MW_PIN(dlopen);
MW_PIN(pthread_once);
MW_PIN(pthread_key_create);
MW_PIN(pthread_getspecific);
MW_PIN(pthread_setspecific);

typedef void (*mw_dtor_fn)(void *);
typedef int (*mw_impl_fn)(mw_dtor_fn, void *, void *);

extern int __cxa_atexit(mw_dtor_fn fn, void *arg, void *dso_handle);
extern void *__dso_handle __attribute__((visibility("hidden")));

struct mw_tls_dtor {
    mw_dtor_fn fn;
    void *obj;
    struct mw_tls_dtor *next;
};

static pthread_key_t mw_key;
static pthread_once_t mw_once = PTHREAD_ONCE_INIT;
static int mw_key_ok;

/* Runs the calling thread's destructors, newest first, including any that a
 * destructor registers while they run. */
static void mw_run_pending(void)
{
    struct mw_tls_dtor *d;
    while ((d = pthread_getspecific(mw_key)) != NULL) {
        pthread_setspecific(mw_key, d->next);
        d->fn(d->obj);
        free(d);
    }
}

static void mw_on_thread_exit(void *head)
{
    /* pthread cleared the slot before calling us; put the list back so that
     * destructors registering new ones extend it. */
    pthread_setspecific(mw_key, head);
    mw_run_pending();
}

static void mw_on_exit(void *unused)
{
    (void)unused;
    mw_run_pending();
}

static void mw_init_fallback(void)
{
    if (pthread_key_create(&mw_key, mw_on_thread_exit) != 0)
        return;
    mw_key_ok = 1;
    __cxa_atexit(mw_on_exit, NULL, &__dso_handle);
    /* Threads now hold pointers to code in this object: never unload it. */
    Dl_info info;
    if (dladdr((void *)mw_on_thread_exit, &info) && info.dli_fname && info.dli_fname[0])
        (void)dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE);
}

/* The real implementation, or NULL; looked up once (a racing second lookup is
 * harmless). */
static mw_impl_fn mw_real_impl(void)
{
#ifdef MANYWHEEL_SHIM_TEST_FALLBACK
    return NULL; /* tests exercise the glibc 2.17 path on a newer host */
#else
    static void *cached;
    static int looked_up;
    if (__atomic_load_n(&looked_up, __ATOMIC_ACQUIRE))
        return (mw_impl_fn)__atomic_load_n(&cached, __ATOMIC_RELAXED);
    /* Our own definition is hidden, so this finds only a libc's. */
    void *found = dlsym(RTLD_DEFAULT, "__cxa_thread_atexit_impl");
    __atomic_store_n(&cached, found, __ATOMIC_RELAXED);
    __atomic_store_n(&looked_up, 1, __ATOMIC_RELEASE);
    return (mw_impl_fn)found;
#endif
}

MW_SHIM int __cxa_thread_atexit_impl(mw_dtor_fn fn, void *obj, void *dso_symbol)
{
    mw_impl_fn real = mw_real_impl();
    if (real != NULL)
        return real(fn, obj, dso_symbol);

    pthread_once(&mw_once, mw_init_fallback);
    if (!mw_key_ok)
        return -1;
    struct mw_tls_dtor *d = malloc(sizeof *d);
    if (d == NULL)
        return -1;
    d->fn = fn;
    d->obj = obj;
    d->next = pthread_getspecific(mw_key);
    if (pthread_setspecific(mw_key, d) != 0) {
        free(d);
        return -1;
    }
    return 0;
}
