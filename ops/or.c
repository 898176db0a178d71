/* or.c -- Or: x or y on bool tensors, with broadcasting. */
#include "drivers/eltwise.h"

#define OR(T, U, x, y) ((uint8_t)((x) || (y)))

KL_BINARY_FN(or_bool, uint8_t, uint8_t, OR)
static const kl_binary_kernel or_kernels[] = {{KEEL_BOOL, or_bool}, {0, NULL}};
KL_BINARY_OPFILE(or, "Or", NULL)
