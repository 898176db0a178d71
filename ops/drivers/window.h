/* window.h -- HannWindow, HammingWindow and BlackmanWindow: generalized
 * cosine windows sum_k a_k cos(2 pi k n / N), N = size (periodic) or
 * size - 1 (symmetric), in the type output_datatype names. */
#ifndef KL_WINDOW_H
#define KL_WINDOW_H

#include "../op.h"

keel_status kl_window_infer(kl_opctx *c);
/* coefs: a0, a1, a2 with signs as in the sum above */
keel_status kl_window_run(kl_opctx *c, const double *coefs);

#define KL_WINDOW_OPFILE(NAME, TYPE, A0, A1, A2)                                             \
    static keel_status NAME##_run(kl_opctx *c)                                               \
    {                                                                                        \
        static const double coefs[3] = {A0, A1, A2};                                         \
        return kl_window_run(c, coefs);                                                      \
    }                                                                                        \
    static const kl_op NAME##_op = {.type = TYPE, .since = 17, .min_inputs = 1,              \
                                    .max_inputs = 1, .infer = kl_window_infer,               \
                                    .run = NAME##_run};                                      \
    const kl_op *const kl_opfile_##NAME[] = {&NAME##_op, NULL};

#endif
