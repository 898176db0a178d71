/* registry.c -- the one table of built-in operator implementations. */
#include <string.h>

#include "registry.h"

#define X(f) extern const kl_op *const kl_opfile_##f[];
#include "oplist.h"
#undef X

static const kl_op *const *const kl_opfiles[] = {
#define X(f) kl_opfile_##f,
#include "oplist.h"
#undef X
};

#define N_FILES (sizeof kl_opfiles / sizeof kl_opfiles[0])

static bool matches(const kl_op *op, const char *domain, const char *type)
{
    return strcmp(op->type, type) == 0 && strcmp(kl_domain(op->domain), kl_domain(domain)) == 0;
}

const kl_op *kl_registry_find(const char *domain, const char *type, int opset)
{
    for (size_t f = 0; f < N_FILES; f++)
        for (const kl_op *const *op = kl_opfiles[f]; *op; op++)
            if (matches(*op, domain, type) && opset >= (*op)->since &&
                ((*op)->until == 0 || opset <= (*op)->until))
                return *op;
    return NULL;
}

bool kl_registry_knows(const char *domain, const char *type)
{
    for (size_t f = 0; f < N_FILES; f++)
        for (const kl_op *const *op = kl_opfiles[f]; *op; op++)
            if (matches(*op, domain, type))
                return true;
    return false;
}
