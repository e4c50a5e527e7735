/* `biaslab bench` (make bench): training-step speed against dgemm. */
#ifndef BL_BENCH_H
#define BL_BENCH_H

/* Runs the workloads in this process and prints a table; returns an exit
 * code. quick shortens every workload (for a smoke test). */
int bl_bench(int quick);

/* The child of bench's kernel comparison: dgemm of its probe matrices at
 * size n on whatever kernels this process loaded, the rate and the product
 * written to path. Returns an exit code. */
int bl_bench_dgemm_probe(int n, const char *path);

#endif
