/* and.c -- And: x and y on bool tensors, with broadcasting. */
#include "drivers/eltwise.h"

#define AND(T, U, x, y) ((uint8_t)((x) && (y)))

KL_BINARY_FN(and_bool, uint8_t, uint8_t, AND)
static const kl_binary_kernel and_kernels[] = {{KEEL_BOOL, and_bool}, {0, NULL}};
KL_BINARY_OPFILE(and, "And", NULL)
