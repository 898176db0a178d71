/* mean.c -- Mean: the elementwise mean of one or more broadcast inputs. */
#include "drivers/variadic.h"

#define MEAN_SUM(T, U, x, y) ((x) + (y))

KL_BINARY_FN(mean_f32, float, float, MEAN_SUM)
KL_BINARY_FN(mean_f64, double, double, MEAN_SUM)
static const kl_binary_kernel mean_kernels[] = {{KEEL_FLOAT, mean_f32}, {KEEL_DOUBLE, mean_f64}, {0, NULL}};
KL_VARIADIC_OPFILE(mean, "Mean", true)
