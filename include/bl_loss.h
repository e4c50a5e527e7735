/* Per-example losses on model outputs, evaluated in log space so that
 * margins in the hundreds and losses far below 1e-300 stay exact.
 * Binary losses (logistic, exponential, squared with one output) read the
 * label as y = +1 for class 1 and y = -1 for class 0. On a batch with real
 * targets (regression) only the squared loss applies, l = 1/2 |f - t|^2,
 * and there is no margin (NaN). */
#ifndef BL_LOSS_H
#define BL_LOSS_H

#include "bl_config.h"
#include "bl_data.h"

/* For each example i of out (n, k): log_loss[i] = log l_i (may be -inf when
 * l_i is exactly 0, e.g. a perfect squared fit) and margin[i] = q_i: y f for
 * one output, else the true logit minus the largest other logit (NaN for
 * real targets). */
void bl_loss_forward(enum bl_loss_kind kind, const double *out, const struct bl_batch *b, int k,
                     double *log_loss, double *margin);

/* dout (n, k) = d l_i / d out_i * exp(-log_scale). Choosing log_scale = log of
 * the summed loss keeps these O(1) when the losses themselves underflow. */
void bl_loss_backward(enum bl_loss_kind kind, const double *out, const struct bl_batch *b, int k,
                      double log_scale, double *dout);

/* The same two, sharing work: bl_loss_forward that also writes to keep (n)
 * what the gradient would recompute (the logistic loss's softplus(y f), the
 * cross-entropy's log sum_{j != y} e^{f_j - f_y}; nothing for the others),
 * and bl_loss_backward that reads it (kept from a forward on the same out).
 * Bitwise the same results as the pair above; keep/kept may be NULL. */
void bl_loss_forward_keep(enum bl_loss_kind kind, const double *out, const struct bl_batch *b,
                          int k, double *log_loss, double *margin, double *keep);
void bl_loss_backward_kept(enum bl_loss_kind kind, const double *out, const struct bl_batch *b,
                           int k, double log_scale, const double *kept, double *dout);

/* rdout (n, k) = (d^2 l_i / d out_i^2) rout_i * exp(-log_scale): the loss
 * Hessian with respect to the outputs applied to rout (n, k), scaled like
 * bl_loss_backward so it stays O(1) when the losses underflow. */
void bl_loss_hessian_vec(enum bl_loss_kind kind, const double *out, const struct bl_batch *b,
                         int k, double log_scale, const double *rout, double *rdout);

/* l^{-1}(L) for the summed loss L = exp(log_loss_sum): the smoothed margin's
 * numerator (SCIENCE.md section 1). NaN for squared loss, which has none. */
double bl_loss_inverse(enum bl_loss_kind kind, double log_loss_sum);

/* log(exp(a) + exp(b)) without overflow; -inf is the identity. */
double bl_log_add_exp(double a, double b);

/* log(1 + exp(x)), accurate for every x. */
double bl_softplus(double x);

#endif
