/* `biaslab bench` (make bench): training-step speed against dgemm. */
#ifndef BL_BENCH_H
#define BL_BENCH_H

/* Runs the workloads in this process and prints a table; returns an exit
 * code. quick shortens every workload (for a smoke test). */
int bl_bench(int quick);

/* One workload of bench (its table row, without the dgemm reference) at
 * threads OpenBLAS threads, or with name "hvp" the HVP cost line: for
 * tools/bench_torch.py, which runs them in turns with PyTorch's so that
 * both meet the same load. Returns an exit code. */
int bl_bench_one(const char *name, int threads, int quick);

/* The child of bench's kernel comparison: dgemm of its probe matrices at
 * size n on whatever kernels this process loaded, the rate and the product
 * written to path. Returns an exit code. */
int bl_bench_dgemm_probe(int n, const char *path);

#endif
