/* The model zoo behind one interface. A model is a stack of dense layers
 * (linear: one layer; mlp: depth layers) whose parameters live in one flat
 * double array: every layer's weight matrix in order, each row-major with
 * shape (out, in), then every layer's bias vector (when bias is on). */
#ifndef BL_MODEL_H
#define BL_MODEL_H

#include <stdint.h>

#include "bl_config.h"

#define BL_MAX_LAYERS 64

struct bl_model {
    int n_layers;                    /* weight layers L */
    int dims[BL_MAX_LAYERS + 1];     /* dims[0] inputs ... dims[L] outputs */
    enum bl_activation activation;   /* between layers, not after the last */
    double leaky_slope;
    int bias;
    double init_scale;
    long n_params;
    long weight_offset[BL_MAX_LAYERS]; /* W_l (dims[l+1], dims[l]) at theta + offset */
    long bias_offset[BL_MAX_LAYERS];   /* b_l (dims[l+1]), or -1 */
    int degree;                      /* homogeneity degree: L when bias-free, else 0 */
    int normalize;                   /* hidden pre-activations RMS-normalized */
};

/* Per-batch buffers, sized once for at most max_batch examples. */
struct bl_workspace {
    int max_batch;
    double *post[BL_MAX_LAYERS]; /* a_l = phi(z_l) (batch, dims[l+1]); last = outputs.
                                  * z_l is not kept: for relu and leaky relu
                                  * (slope >= 0) z > 0 exactly when a > 0, so
                                  * phi'(z) is read off a */
    double *delta;               /* (batch, max dim) gradient wrt a pre-activation */
    double *delta_prev;          /* (batch, max dim) the same for the layer below */
    double *block;               /* one allocation holding all of the above */
    /* Hessian-vector products (bl_workspace_alloc_hvp), R{.} = directional
     * derivative along v (Pearlmutter's R-operator): */
    double *rpost[BL_MAX_LAYERS]; /* R{a_l} (batch, dims[l+1]); last = R{outputs} */
    double *rdelta;               /* (batch, max dim) R{delta} */
    double *rdelta_prev;          /* (batch, max dim) */
    double *rblock;
    /* normalized hidden layers: h = c / r, c = z - mean(z), r = sqrt(mean c^2),
     * per example */
    double *norm_h[BL_MAX_LAYERS];  /* (batch, dims[l+1]) */
    double *norm_r[BL_MAX_LAYERS];  /* (batch) */
    double *rnorm_h[BL_MAX_LAYERS]; /* (batch, dims[l+1]) R{h} */
    double *rnorm_r[BL_MAX_LAYERS]; /* (batch) R{r} */
    double *norm_block;
};

/* Build the layer shapes for inputs of dim features and outputs outputs. */
void bl_model_build(struct bl_model *m, const struct bl_model_cfg *cfg, int dim, int outputs);

/* A layout string for the output file, e.g. "W1(64,20) W2(1,64)". */
void bl_model_layout(const struct bl_model *m, char *buf, size_t len);

/* theta (n_params) = init_scale * N(0, 1/fan_in) weights, zero biases, from
 * the stream (seed, BL_STREAM_INIT). */
void bl_model_init(const struct bl_model *m, uint64_t seed, double *theta);

void bl_workspace_alloc(struct bl_workspace *ws, const struct bl_model *m, int max_batch);
void bl_workspace_free(struct bl_workspace *ws);

/* Outputs (n, dims[L]) for inputs x (n, dims[0]); points into ws. */
const double *bl_model_forward(const struct bl_model *m, const double *theta,
                               const double *x, int n, struct bl_workspace *ws);

/* grad (n_params) = sum_i d out_i/d theta^T dout_i, after bl_model_forward on
 * the same x. dout (n, dims[L]) may be ws->delta. */
void bl_model_backward(const struct bl_model *m, const double *theta, const double *x,
                       int n, const double *dout, struct bl_workspace *ws, double *grad);

/* Add the buffers for Hessian-vector products to ws. */
void bl_workspace_alloc_hvp(struct bl_workspace *ws, const struct bl_model *m);

/* R-forward: after bl_model_forward on x, the directional derivative of every
 * activation along v (n_params); returns R{outputs} (n, dims[L]) in ws. */
const double *bl_model_rforward(const struct bl_model *m, const double *theta,
                                const double *v, const double *x, int n,
                                struct bl_workspace *ws);

/* R-backward: given dout = d l / d out (n, dims[L]) and rdout = R{dout} =
 * (d^2 l / d out^2) R{out}, writes hv (n_params) = sum_i H_i v, the product of
 * v with the Hessian of the summed loss. Exact for relu, leaky relu and
 * identity, whose second derivative vanishes away from 0. dout and rdout may
 * be ws->delta and ws->rdelta. */
void bl_model_rbackward(const struct bl_model *m, const double *theta, const double *v,
                        const double *x, int n, const double *dout, const double *rdout,
                        struct bl_workspace *ws, double *hv);

/* Floating-point operations of one forward + backward over n examples. */
double bl_model_step_flops(const struct bl_model *m, int n);

#endif
