/*
 * tc_add_s8_ort: QLinearAdd as onnxruntime's AVX2 kernel computes it (tc_nn_onnxrt.h):
 * on the values a = stored + value_offset (likewise b),
 *     both full size:  t = fmaf(a, r_a, fmaf(b, r_b, F))
 *     b one value:     t = fmaf(a, r_a, F + b * r_b)   (a one value: the same, swapped)
 * then cvtps2dq (round half to even), saturation to the int8 / uint8 range, minus
 * value_offset, and the fused activation's clamp. `size` elements of the output.
 */
#include "tc_ort_internal.h"

tc_status tc_add_s8_ort(const tc_ort_add_params *params, const int8_t *input1,
                        const int8_t *input2, int8_t *output, int32_t size)
{
    const int32_t off = params->value_offset;
    const int32_t lo = off ? 0 : -128, hi = off ? 255 : 127;
    float fixed = params->fixed;
    if (params->scalar == 1) {
        fixed = fixed + (float)((int32_t)input1[0] + off) * params->ratio_a;
    } else if (params->scalar == 2) {
        fixed = fixed + (float)((int32_t)input2[0] + off) * params->ratio_b;
    }
    for (int32_t i = 0; i < size; i++) {
        float t;
        if (params->scalar == 1) {
            t = tc_ort_fma((float)((int32_t)input2[i] + off), params->ratio_b, fixed);
        } else if (params->scalar == 2) {
            t = tc_ort_fma((float)((int32_t)input1[i] + off), params->ratio_a, fixed);
        } else {
            const float tb = tc_ort_fma((float)((int32_t)input2[i] + off), params->ratio_b,
                                        fixed);
            t = tc_ort_fma((float)((int32_t)input1[i] + off), params->ratio_a, tb);
        }
        int32_t r = tc_ort_cvt(t);
        r = r < lo ? lo : (r > hi ? hi : r);
        r -= off;
        r = r < params->activation.min ? params->activation.min : r;
        r = r > params->activation.max ? params->activation.max : r;
        output[i] = (int8_t)r;
    }
    return TC_OK;
}
