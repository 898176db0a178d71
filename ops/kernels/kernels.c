/* kernels.c -- the kernel tables (see kernels.h) and the epilogue's entry
 * point. */
#include "kernels.h"

#define KL_KENTRY_none(NAME) {NULL, 0}
#define KL_KENTRY_generic(NAME) {klk_##NAME##_generic, KEEL_ISA_GENERIC}
#define KL_KENTRY_avx2(NAME) {klk_##NAME##_avx2, KEEL_ISA_AVX2}
#define KL_KENTRY_avx512(NAME) {klk_##NAME##_avx512, KEEL_ISA_AVX512}
#define KL_KENTRY(NAME, V) .NAME = KL_KENTRY_##V(NAME),
#define KL_GENERIC(NAME, G, A2, A5) KL_KENTRY(NAME, G)

const kl_kernels kl_kernels_generic = {.isa = KEEL_ISA_GENERIC, KL_KERNEL_LIST(KL_GENERIC)};

#ifdef KL_X86
#define KL_AVX2(NAME, G, A2, A5) KL_KENTRY(NAME, A2)
#define KL_AVX512(NAME, G, A2, A5) KL_KENTRY(NAME, A5)
static const kl_kernels kl_kernels_avx2 = {.isa = KEEL_ISA_AVX2, .block = 8, KL_KERNEL_LIST(KL_AVX2)};
static const kl_kernels kl_kernels_avx512 = {.isa = KEEL_ISA_AVX512, .block = 16, KL_KERNEL_LIST(KL_AVX512)};
#endif

const kl_kernels *kl_kernels_for(int isa)
{
#ifdef KL_X86
    if (isa >= KEEL_ISA_AVX512)
        return &kl_kernels_avx512;
    if (isa >= KEEL_ISA_AVX2)
        return &kl_kernels_avx2;
#endif
    (void)isa;
    return &kl_kernels_generic;
}

int kl_kernels_count(const kl_kernels *k, int isa)
{
    int n = 0;
#define KL_KCOUNT(NAME, G, A2, A5) n += k->NAME.fn && k->NAME.isa == isa;
    KL_KERNEL_LIST(KL_KCOUNT)
    return n;
}

void kl_epilogue_apply(const kl_epilogue *e, float *out, size_t offset, size_t n)
{
    kl_epilogue_bias_apply(e, 0.0f, out, offset, n);
}

void kl_epilogue_bias_apply(const kl_epilogue *e, float bias, float *out, size_t offset, size_t n)
{
    (e->kern ? e->kern : &kl_kernels_generic)->epilogue.fn(e, bias, out, offset, n);
}

void kl_epilogue_apply_rows(const kl_epilogue *e, float *y, size_t offset, int64_t rows, int64_t ldy, int64_t j0,
                            int64_t j1)
{
    if (j1 - j0 == ldy) {
        kl_epilogue_apply(e, y, offset, (size_t)(rows * ldy));
        return;
    }
    for (int64_t r = 0; r < rows; r++)
        kl_epilogue_apply(e, y + r * ldy + j0, offset + (size_t)(r * ldy + j0), (size_t)(j1 - j0));
}
