/* registry.h -- looking up operator implementations. */
#ifndef KL_REGISTRY_H
#define KL_REGISTRY_H
#include "op.h"

/* The built-in implementation of (domain, type) for opset version
 * `opset`, or NULL. */
const kl_op *kl_registry_find(const char *domain, const char *type, int opset);
/* Whether any version of (domain, type) exists. */
bool kl_registry_knows(const char *domain, const char *type);
#endif
