/* pthread_rwlock_clockrdlock (GLIBC_2.30, in libc since 2.34): libstdc++'s
 * shared_timed_mutex waits for steady_clock deadlines with it.  A CLOCK_MONOTONIC
 * deadline is converted to CLOCK_REALTIME for pthread_rwlock_timedrdlock, again
 * after a timeout that came early because the wall clock jumped. */
#define MW_WANT_DEADLINES
#include "shim.h"

#include <errno.h>
#include <pthread.h>

MW_PIN(pthread_rwlock_timedrdlock);

MW_SHIM int pthread_rwlock_clockrdlock(pthread_rwlock_t *restrict rwlock, clockid_t clock,
                                       const struct timespec *restrict deadline)
{
    /* An invalid deadline goes through unchanged (see pthread_mutex_clocklock.c). */
    if (clock == CLOCK_REALTIME || (clock == CLOCK_MONOTONIC && !mw_valid_timespec(deadline)))
        return pthread_rwlock_timedrdlock(rwlock, deadline);
    if (clock != CLOCK_MONOTONIC)
        return EINVAL;
    for (;;) {
        struct timespec rt = mw_realtime_deadline(clock, deadline);
        int err = pthread_rwlock_timedrdlock(rwlock, &rt);
        if (err != ETIMEDOUT || mw_deadline_passed(clock, deadline))
            return err;
    }
}
