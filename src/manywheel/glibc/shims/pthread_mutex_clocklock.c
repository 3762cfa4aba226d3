/* pthread_mutex_clocklock (GLIBC_2.30, in libc since 2.34): libstdc++'s timed_mutex
 * waits for steady_clock deadlines with it.  A CLOCK_MONOTONIC deadline is converted
 * to CLOCK_REALTIME for pthread_mutex_timedlock, again after a timeout that came
 * early because the wall clock jumped. */
#define MW_WANT_DEADLINES
#include "shim.h"

#include <errno.h>
#include <pthread.h>

MW_PIN(pthread_mutex_timedlock);

MW_SHIM int pthread_mutex_clocklock(pthread_mutex_t *restrict mutex, clockid_t clock,
                                    const struct timespec *restrict deadline)
{
    /* An invalid deadline goes through unchanged: the timed variant takes a free
     * mutex anyway and reports EINVAL only when it would have to wait. */
    if (clock == CLOCK_REALTIME || (clock == CLOCK_MONOTONIC && !mw_valid_timespec(deadline)))
        return pthread_mutex_timedlock(mutex, deadline);
    if (clock != CLOCK_MONOTONIC)
        return EINVAL;
    for (;;) {
        struct timespec rt = mw_realtime_deadline(clock, deadline);
        int err = pthread_mutex_timedlock(mutex, &rt);
        if (err != ETIMEDOUT || mw_deadline_passed(clock, deadline))
            return err;
    }
}
