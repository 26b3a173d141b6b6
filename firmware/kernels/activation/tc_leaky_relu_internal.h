/*
 * Private to tc_leaky_relu_s8 / _s16: TFLite's reference_ops::QuantizeLeakyRelu, the same
 * arithmetic for int8 and int16 (`size` 1 or 2, a constant in each caller), clamped to the
 * output type's range:
 *   x = in + input_offset
 *   out = clamp(output_offset + (x >= 0 ? requantize(x, identity) : requantize(x, alpha)))
 * A negative alpha (alpha_multiplier < 0) is applied as its magnitude, then negated.
 *
 * The same bytes on every ISA: the portable build requantizes with tc_requantize (the
 * definition), the DSP build with tc_requantize_fast (the same bits without a 64-bit
 * division), Helium four lanes a pass (tc_requantize_x4, tc_requantize bit for bit, both
 * branches computed and the lane's one kept), the tail under a VCTP predicate.
 */
#ifndef TC_LEAKY_RELU_INTERNAL_H
#define TC_LEAKY_RELU_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "tc_nn_elementwise.h"
#include "tc_nn_simd.h"
#include "tc_nn_support.h"

#if TC_ISA_PORTABLE
#define tc_leaky_requantize tc_requantize
#else
#define tc_leaky_requantize tc_requantize_fast
#endif

#if TC_ISA_MVE
static inline void tc_leaky_relu_mve(const tc_leaky_relu_params *p, int32_t alpha_magnitude,
                                     int32_t count, const void *input, void *output,
                                     size_t size, int32_t lo, int32_t hi)
{
    const int alpha_negative = p->alpha_multiplier < 0;
    for (int32_t i = 0; i < count; i += 4) {
        const mve_pred16_t pred = vctp32q((uint32_t)(count - i));
        const int32x4_t in = size == 1 ? vldrbq_z_s32((const int8_t *)input + i, pred)
                                       : vldrhq_z_s32((const int16_t *)input + i, pred);
        const int32x4_t x = vaddq_n_s32(in, p->input_offset);
        const int32x4_t pos = tc_requantize_x4(x, p->identity_multiplier, p->identity_shift);
        int32x4_t neg = tc_requantize_x4(x, alpha_magnitude, p->alpha_shift);
        if (alpha_negative) {
            neg = vnegq_s32(neg);
        }
        int32x4_t y = vpselq_s32(pos, neg, vcmpgeq_n_s32(x, 0));
        y = vaddq_n_s32(y, p->output_offset);
        y = vminq_s32(vmaxq_s32(y, vdupq_n_s32(lo)), vdupq_n_s32(hi));
        if (size == 1) {
            vstrbq_p_s32((int8_t *)output + i, y, pred);
        } else {
            vstrhq_p_s32((int16_t *)output + i, y, pred);
        }
    }
}
#endif

static inline tc_status tc_leaky_relu_elements(const tc_leaky_relu_params *params,
                                               int32_t count, const void *input,
                                               void *output, size_t size)
{
    if (params == NULL || input == NULL || output == NULL || count < 0 ||
        params->alpha_multiplier == INT32_MIN) {
        TC_RETURN_ARG_ERROR();
    }
    const tc_leaky_relu_params p = *params;
    const int alpha_negative = p.alpha_multiplier < 0;
    const int32_t alpha_magnitude = alpha_negative ? -p.alpha_multiplier : p.alpha_multiplier;
    const int32_t lo = size == 1 ? INT8_MIN : INT16_MIN;
    const int32_t hi = size == 1 ? INT8_MAX : INT16_MAX;
#if TC_ISA_MVE
    tc_leaky_relu_mve(&p, alpha_magnitude, count, input, output, size, lo, hi);
#else
    for (int32_t i = 0; i < count; ++i) {
        const int32_t x = tc_load_sized(input, i, size) + p.input_offset;
        int32_t y;
        if (x >= 0) {
            y = tc_leaky_requantize(x, p.identity_multiplier, p.identity_shift);
        } else {
            y = tc_leaky_requantize(x, alpha_magnitude, p.alpha_shift);
            y = alpha_negative ? -y : y;
        }
        tc_store_sized(output, i, TC_CLAMP(tc_add_wrap(p.output_offset, y), lo, hi), size);
    }
#endif
    return TC_OK;
}

#endif /* TC_LEAKY_RELU_INTERNAL_H */
