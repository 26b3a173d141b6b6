/*
 * tc_add_s8_ort: QLinearAdd as onnxruntime's AVX2 kernel computes it (tc_nn_onnxrt.h):
 * on the values a = stored + value_offset (likewise b), in onnxruntime's span case
 *     both spans:           t = fmaf(a, r_a, fmaf(b, r_b, F))
 *     b one value per span: t = fmaf(a, r_a, F + b * r_b)   (a one value: the same, swapped)
 * then cvtps2dq (round half to even), saturation to the int8 / uint8 range, minus
 * value_offset, and the fused activation's clamp. The inputs are read through the
 * broadcast walk (tc_ort_broadcast.h); `size` elements of the output.
 */
#include "tc_ort_internal.h"
#include "tc_ort_broadcast.h"

tc_status tc_add_s8_ort(const tc_ort_add_params *params, const int8_t *input1,
                        const int8_t *input2, int8_t *output, int32_t size)
{
    const int32_t off = params->value_offset;
    const int32_t lo = off ? 0 : -128, hi = off ? 255 : 127;
    tc_ort_walk walk;
    tc_ort_walk_start(&walk);
    for (int32_t i = 0; i < size; i++) {
        const float a = (float)((int32_t)input1[walk.at1] + off);
        const float b = (float)((int32_t)input2[walk.at2] + off);
        float t;
        if (params->scalar == 1) {
            t = tc_ort_fma(b, params->ratio_b, params->fixed + a * params->ratio_a);
        } else if (params->scalar == 2) {
            t = tc_ort_fma(a, params->ratio_a, params->fixed + b * params->ratio_b);
        } else {
            t = tc_ort_fma(a, params->ratio_a, tc_ort_fma(b, params->ratio_b, params->fixed));
        }
        int32_t r = tc_ort_cvt(t);
        r = r < lo ? lo : (r > hi ? hi : r);
        r -= off;
        r = r < params->activation.min ? params->activation.min : r;
        r = r > params->activation.max ? params->activation.max : r;
        output[i] = (int8_t)r;
        tc_ort_walk_next(&walk, &params->broadcast);
    }
    return TC_OK;
}
