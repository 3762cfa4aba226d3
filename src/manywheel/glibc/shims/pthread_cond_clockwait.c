/* pthread_cond_clockwait (GLIBC_2.30, in libc since 2.34): libstdc++'s
 * condition_variable waits for steady_clock deadlines with it.
 *
 * A CLOCK_MONOTONIC deadline is converted to CLOCK_REALTIME for
 * pthread_cond_timedwait.  If the wall clock jumps forward and the wait times out
 * early, 0 is returned (a spurious wakeup, which callers must handle anyway), never
 * ETIMEDOUT before the deadline.  Assumes the condition variable uses the default
 * clock (CLOCK_REALTIME), as libstdc++'s do; one initialized with a
 * pthread_condattr_setclock(CLOCK_MONOTONIC) attribute cannot be told apart. */
#define MW_WANT_DEADLINES
#include "shim.h"

#include <errno.h>
#include <pthread.h>

MW_SHIM int pthread_cond_clockwait(pthread_cond_t *restrict cond, pthread_mutex_t *restrict mutex,
                                   clockid_t clock, const struct timespec *restrict deadline)
{
    if (clock == CLOCK_REALTIME)
        return pthread_cond_timedwait(cond, mutex, deadline);
    if (clock != CLOCK_MONOTONIC)
        return EINVAL;
    if (!mw_valid_timespec(deadline))
        return EINVAL;
    struct timespec rt = mw_realtime_deadline(clock, deadline);
    int err = pthread_cond_timedwait(cond, mutex, &rt);
    if (err == ETIMEDOUT && !mw_deadline_passed(clock, deadline))
        err = 0;
    return err;
}
