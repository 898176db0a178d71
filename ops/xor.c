/* xor.c -- Xor: x xor y on bool tensors, with broadcasting. */
#include "drivers/eltwise.h"

#define XOR(T, U, x, y) ((uint8_t)(!(x) != !(y)))

KL_BINARY_FN(xor_bool, uint8_t, uint8_t, XOR)
static const kl_binary_kernel xor_kernels[] = {{KEEL_BOOL, xor_bool}, {0, NULL}};
KL_BINARY_OPFILE(xor, "Xor", NULL)
