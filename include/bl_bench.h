/* `biaslab bench` (make bench): training-step speed against dgemm. */
#ifndef BL_BENCH_H
#define BL_BENCH_H

/* Runs the workloads in this process and prints a table; returns an exit
 * code. quick shortens every workload (for a smoke test). */
int bl_bench(int quick);

#endif
