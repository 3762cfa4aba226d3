/* Compiled by the host gcc with no manywheel flags: new-glibc references everywhere. */
#include <fcntl.h>
#include <pthread.h>
#include <sys/random.h>
static void *run(void *p) { return p; }
long prebuilt_work(int fd) {
    pthread_t t; char b[8];
    pthread_create(&t, 0, run, 0);
    pthread_join(t, 0);
    return fcntl(fd, F_GETFL) + getrandom(b, sizeof b, 0);
}
