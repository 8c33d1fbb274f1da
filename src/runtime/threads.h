/* Thread count policy: one number for octet's OpenMP loops and the BLAS it calls. */
#ifndef OT_THREADS_H
#define OT_THREADS_H

int ot_threads_resolve(int requested);   /* 0 -> number of cores */
void ot_threads_apply(int n);            /* tell BLAS how many threads to use */
int ot_cpu_count(void);

#endif
