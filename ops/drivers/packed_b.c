/* packed_b.c -- see packed_b.h. */
#include <stdint.h>
#include <string.h>

#include "packed_b.h"
#include "../kernels/kernels.h"
#include "../../runtime/exec.h"

/* kl_pack_fn's forms. */
enum { FORM_PLAIN = 1, FORM_TRANSPOSED = 2 };

bool kl_packed_b_pays(const kl_kernels *kern, int64_t n, const void *b)
{
    return !kl_pw_wide(kern) || n % 16 != 0 || (uintptr_t)b % 64 != 0;
}

/* B in the layout of the tiles of c's session (c->env->kern); env is
 * only the allocator: for a pack shared by the model's sessions it is the
 * model's, whose table is that of the CPU's best instruction set, not
 * necessarily the session's. */
static void *pack(kl_env *env, kl_opctx *c, int form, size_t *bytes)
{
    const kl_kernels *kern = c->env->kern;
    const kl_tensor *b = c->in[1];
    const int64_t rows = b->dims[b->rank - 2], cols = b->dims[b->rank - 1];
    const bool t = form == FORM_TRANSPOSED;
    const int64_t k = t ? cols : rows, n = t ? rows : cols;
    *bytes = kl_pw_xpack_floats(kern, k, n) * sizeof(float);
    float *xp = kl_alloc(env, *bytes);
    if (xp)
        kl_pw_xpack(kern, k, n, b->data, t ? 1 : n, t ? k : 1, xp);
    return xp;
}

keel_status kl_packed_b_prepare(kl_opctx *c, bool transposed)
{
    kl_packed_b *st = kl_alloc(c->env, sizeof *st);
    if (!st)
        return KEEL_ERR_NOMEM;
    memset(st, 0, sizeof *st);
    const int form = transposed ? FORM_TRANSPOSED : FORM_PLAIN;
    const void *packed;
    keel_status rc = kl_shared_pack(c, 1, form, pack, &packed);
    if (!rc && !packed && !(packed = st->own = pack(c->env, c, form, &st->bytes)))
        rc = KEEL_ERR_NOMEM;
    if (rc) {
        kl_free(c->env, st, sizeof *st);
        return rc;
    }
    st->xp = packed;
    c->state = st;
    return KEEL_OK;
}

void kl_packed_b_release(kl_env *env, void *state)
{
    kl_packed_b *st = state;
    if (!st)
        return;
    kl_free(env, st->own, st->bytes);
    kl_free(env, st, sizeof *st);
}
