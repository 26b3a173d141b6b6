/*
 * Private Helium helpers of the convolution family (only included when TC_CONV_MVE).
 */
#ifndef TC_CONV_MVE_H
#define TC_CONV_MVE_H

#include <arm_mve.h>

#include "tc_conv_internal.h"

/*
 * acc[j] += sum_k a[k] * b_j[k] for one vector a against four (a filter row against four
 * im2col columns or pixels, or an input run against four filter rows); returns sum_k a[k]
 * (the filter sum the input offset needs). One load of a per four VMLADAVA; full vectors
 * first, then one tail under a VCTP predicate (lanes past the end load as 0 and add
 * nothing). Not inlined: in a function of its own the loop keeps its values in registers,
 * where GCC spills them inside the kernels' loop nests.
 */
static __attribute__((noinline, unused)) int32_t tc_mve_dot_1x4(const int8_t *a,
                                                                const int8_t *b0,
                                                                const int8_t *b1,
                                                                const int8_t *b2,
                                                                const int8_t *b3, int32_t n,
                                                                int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3], sum = 0;
    int32_t k = 0;
    for (; k + 16 <= n; k += 16) {
        const int8x16_t v = vldrbq_s8(a + k);
        sum = vaddvaq_s8(sum, v);
        a0 = vmladavaq_s8(a0, v, vldrbq_s8(b0 + k));
        a1 = vmladavaq_s8(a1, v, vldrbq_s8(b1 + k));
        a2 = vmladavaq_s8(a2, v, vldrbq_s8(b2 + k));
        a3 = vmladavaq_s8(a3, v, vldrbq_s8(b3 + k));
    }
    if (k < n) {
        const mve_pred16_t tail = vctp8q((uint32_t)(n - k));
        const int8x16_t v = vldrbq_z_s8(a + k, tail);
        sum = vaddvaq_s8(sum, v);
        a0 = vmladavaq_s8(a0, v, vldrbq_z_s8(b0 + k, tail));
        a1 = vmladavaq_s8(a1, v, vldrbq_z_s8(b1 + k, tail));
        a2 = vmladavaq_s8(a2, v, vldrbq_z_s8(b2 + k, tail));
        a3 = vmladavaq_s8(a3, v, vldrbq_z_s8(b3 + k, tail));
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
    return sum;
}

/* Sum of n bytes. */
static inline int32_t tc_mve_sum(const int8_t *f, int32_t n)
{
    int32_t sum = 0;
    for (int32_t k = 0; k < n; k += 16) {
        sum = vaddvaq_s8(sum, vldrbq_z_s8(f + k, vctp8q((uint32_t)(n - k))));
    }
    return sum;
}

#endif /* TC_CONV_MVE_H */
