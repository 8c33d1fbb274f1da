#include "runtime/threads.h"

#include <unistd.h>

#include "kernels/sgemm.h"

int ot_cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int ot_threads_resolve(int requested) {
    if (requested > 0) return requested > 256 ? 256 : requested;
    return ot_cpu_count();
}

void ot_threads_apply(int n) { ot_sgemm_set_threads(n); }
