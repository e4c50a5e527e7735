/* The model zoo behind one interface. A model family is one file in
 * src/models/ that fills a table of function pointers (struct
 * bl_model_ops, in the spirit of CoMD's base potential and SUNDIALS'
 * N_Vector ops: required entries, and optional ones left NULL) and one line
 * of the registry in src/models/model.c. Everything outside src/models/
 * sees a model only through this header: its parameter count, its named
 * parameter blocks, its homogeneity degree, its frozen range, and the
 * functions below. Parameters live in one flat double array theta (P). */
#ifndef BL_MODEL_H
#define BL_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "bl_config.h"
#include "bl_data.h"

#define BL_MAX_BLOCKS 130

/* The best normalized margin a model family can be compared with:
 * none; gamma_SVM (a linear model); (1 + s) / 4 gamma_SVM, the optimum on
 * symmetric data (a two-layer net); that, or on planar data the exact
 * optimum by linear programming (a bias-free two-layer net). */
enum bl_margin_kind { BL_MARGIN_NONE, BL_MARGIN_LINEAR, BL_MARGIN_TWO_LAYER,
                      BL_MARGIN_TWO_LAYER_PLANAR };

/* A named view of theta: a (rows, cols) row-major matrix at offset, e.g.
 * "W1" (64, 20) or "b1" (64, 1). The output's layout attribute lists them. */
struct bl_param_block {
    char name[16];
    int rows, cols;
    long offset;
};

struct bl_model {
    const struct bl_model_ops *ops;
    long n_params;                 /* P */
    int inputs, outputs;           /* features (or index arity) in, values out per example */
    /* f(c theta) = c^degree f(theta) for c > 0; 0 when not homogeneous */
    int degree;
    /* the L of normalized margins q / ||theta||^L: degree, or for a model
     * with biases its nominal depth (the margin is then not scale-invariant) */
    int margin_degree;
    long frozen_lo, frozen_hi;     /* theta[lo, hi) stays at its initial value */
    int n_blocks;
    struct bl_param_block blocks[BL_MAX_BLOCKS];
    void *impl;                    /* the family's own description */
};

/* Buffers of one model for at most max_batch examples, sized once. */
struct bl_workspace {
    int max_batch;
    double *dout;   /* (max_batch, outputs): d loss / d outputs, written by the loss */
    double *rdout;  /* (max_batch, outputs): R{dout} for HVPs, or NULL */
    void *impl;     /* the family's pointers into block */
    double *block;  /* the one allocation behind everything here */
};

struct bl_model_ops {
    const char *name;
    /* --- required --- */
    /* Shapes from the config and the data (inputs per example, outputs);
     * fills n_params, degree, blocks, frozen range and impl. Returns 0, or
     * non-zero with err set. */
    int (*build)(struct bl_model *m, const struct bl_model_cfg *cfg, int inputs, int outputs,
                 char *err, size_t err_len);
    void (*free)(struct bl_model *m);
    /* theta (P) at initialization, from the stream (seed, BL_STREAM_INIT) */
    void (*init)(const struct bl_model *m, uint64_t seed, double *theta);
    /* doubles of workspace for max_batch examples (with HVP buffers when hvp) */
    size_t (*workspace_doubles)(const struct bl_model *m, int max_batch, int hvp);
    /* carve ws->impl's buffers out of block (workspace_doubles of them) */
    void (*workspace_bind)(const struct bl_model *m, struct bl_workspace *ws, double *block,
                           int hvp);
    /* outputs (b->n, outputs) for the batch; points into ws */
    const double *(*forward)(const struct bl_model *m, const double *theta,
                             const struct bl_batch *b, struct bl_workspace *ws);
    /* grad (P) = sum_i (d out_i / d theta)^T dout_i after forward on b; dout
     * (n, outputs), may be ws->dout */
    void (*backward)(const struct bl_model *m, const double *theta, const struct bl_batch *b,
                     const double *dout, struct bl_workspace *ws, double *grad);
    /* --- optional: NULL when the family has none --- */
    /* R-operator (Pearlmutter): after forward, R{outputs} along v (P) */
    const double *(*rforward)(const struct bl_model *m, const double *theta, const double *v,
                              const struct bl_batch *b, struct bl_workspace *ws);
    /* hv (P) = sum_i H_i v of the summed loss, given dout and rdout = R{dout} */
    void (*rbackward)(const struct bl_model *m, const double *theta, const double *v,
                      const struct bl_batch *b, const double *dout, const double *rdout,
                      struct bl_workspace *ws, double *hv);
    /* A model that is its own objective, without data (the quadratic):
     * returns log of the objective at theta and, when grad is given, grad
     * (P) = gradient * exp(-log objective); hv (P) = Hessian times v. */
    double (*objective)(const struct bl_model *m, const double *theta, double *grad);
    void (*objective_hvp)(const struct bl_model *m, const double *theta, const double *v,
                          double *hv);
    /* A data-free model whose steps see a noisy gradient (noisy_quadratic):
     * log of the objective and grad (P) = (gradient + noise) * exp(-log
     * objective), the noise a function of (seed, step) alone */
    double (*objective_noisy)(const struct bl_model *m, const double *theta, uint64_t seed,
                              long step, double *grad);
    /* A binary model's effective linear predictor w (inputs): w for a linear
     * model, sum_k a_k w_k for a two-layer net; for the margin references */
    void (*linear_predictor)(const struct bl_model *m, const double *theta, double *w);
    /* The first layer's neurons as the rows of a (rows, inputs) matrix inside
     * theta (stable rank, alignments); NULL when there is no such layer */
    const double *(*feature_layer)(const struct bl_model *m, const double *theta, int *rows);
    /* Which best-margin reference applies (SCIENCE.md 1-2), and the slope s
     * of a two-layer net's leaky ReLU (0 relu, 1 identity) */
    enum bl_margin_kind (*margin_reference)(const struct bl_model *m, double *slope);
    /* A model whose output at the index pair (i, j) is the entry W_ij of one
     * symmetric matrix W (factorization): returns its order d and, when w is
     * not NULL, writes W (d, d) row-major into w. Its kernel regime at a
     * symmetric init fits the observed entries and their transposes and is 0
     * elsewhere (SCIENCE.md 3): the matrix-completion references use that. */
    int (*symmetric_matrix)(const struct bl_model *m, const double *theta, double *w);
    /* The empirical neural tangent kernel at theta, averaged over the k
     * outputs: K_ij = (1/k) sum_c <d f_c(x_i) / d theta, d f_c(x_j) / d theta>
     * for the examples i of rows and j of cols, K (rows->n, cols->n)
     * row-major; for the kernel-regime references, in closed form */
    void (*ntk_gram)(const struct bl_model *m, const double *theta, const struct bl_batch *rows,
                     const struct bl_batch *cols, double *K);
    /* floating-point operations of one forward + backward over n examples */
    double (*step_flops)(const struct bl_model *m, int n);
    /* --- optional facts, 0 when they do not hold --- */
    /* Every coordinate of theta starts at the same value theta[0] (a diagonal
     * net): the output keeps it per task as init_coordinate. */
    int uniform_init;
    /* The family's kernel regime is the max-L2-margin linear classifier and
     * its rich regime the max-L1-margin one (a diagonal net, SCIENCE.md 3):
     * measure.reference = svm then solves both. */
    int l1_l2_references;
};

/* Build the model cfg describes for data with inputs features (or index
 * arity) and outputs outputs. Returns 0, or non-zero with err set. */
int bl_model_build(struct bl_model *m, const struct bl_model_cfg *cfg, int inputs, int outputs,
                   char *err, size_t err_len);
void bl_model_free(struct bl_model *m);

/* "W1(64,20) W2(1,64)": the blocks in theta order (a vector block as "b1(64)") */
void bl_model_layout(const struct bl_model *m, char *buf, size_t len);

static inline void bl_model_init(const struct bl_model *m, uint64_t seed, double *theta)
{
    m->ops->init(m, seed, theta);
}

/* A workspace for at most max_batch examples; hvp adds the buffers of
 * Hessian-vector products (the model must have rforward/rbackward). */
void bl_workspace_alloc(struct bl_workspace *ws, const struct bl_model *m, int max_batch,
                        int hvp);
void bl_workspace_free(struct bl_workspace *ws);
/* Bytes of such a workspace, for memory estimates. */
double bl_workspace_bytes(const struct bl_model *m, int max_batch, int hvp);

const double *bl_model_forward(const struct bl_model *m, const double *theta,
                               const struct bl_batch *b, struct bl_workspace *ws);
void bl_model_backward(const struct bl_model *m, const double *theta, const struct bl_batch *b,
                       const double *dout, struct bl_workspace *ws, double *grad);

/* Whether the family offers exact Hessian-vector products. */
int bl_model_has_hvp(const struct bl_model *m);

/* The model's best-margin reference (NONE when its family has none). */
enum bl_margin_kind bl_model_margin_reference(const struct bl_model *m, double *slope);

/* Floating-point operations of one forward + backward over n examples. */
double bl_model_step_flops(const struct bl_model *m, int n);

/* The registry: the ops of model.kind. */
const struct bl_model_ops *bl_model_family(enum bl_model_kind kind);

/* For families: append a block (name, rows, cols) at the end of theta. */
void bl_model_add_block(struct bl_model *m, const char *name, int rows, int cols);

#endif
