/* Optimizer updates on flat parameter arrays. The gradient arrives scaled
 * (see train.c): the step is step_scale * grad plus weight decay. */
#ifndef BL_OPTIM_H
#define BL_OPTIM_H

#include "bl_config.h"

/* gd, sgd: theta -= step_scale * grad + decay * theta.
 * momentum (heavy ball): v = mu v + step_scale * grad + decay * theta;
 * theta -= v. decay is lr * weight_decay. theta, grad, velocity: (n). */
void bl_optim_step(const struct bl_optim_cfg *cfg, long n, double step_scale,
                   const double *grad, double decay, double *theta, double *velocity);

#endif
