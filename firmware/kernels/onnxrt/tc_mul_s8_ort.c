/*
 * tc_mul_s8_ort: QLinearMul as onnxruntime's SSE2 kernel computes it (tc_nn_onnxrt.h):
 *     p = (a - zp_a) * (b - zp_b)                   exact, int32
 *     t = (float)p * R + (float)zp_c                two float32 roundings (no fma)
 * then cvtps2dq (round half to even), saturation to the int8 / uint8 range, minus
 * value_offset, and the fused activation's clamp. The inputs are read through the
 * broadcast walk (tc_ort_broadcast.h); `size` elements of the output.
 */
#include "tc_ort_internal.h"
#include "tc_ort_broadcast.h"

tc_status tc_mul_s8_ort(const tc_ort_mul_params *params, const int8_t *input1,
                        const int8_t *input2, int8_t *output, int32_t size)
{
    const int32_t off = params->value_offset;
    const int32_t lo = off ? 0 : -128, hi = off ? 255 : 127;
    tc_ort_walk walk;
    tc_ort_walk_start(&walk);
    for (int32_t i = 0; i < size; i++) {
        const int32_t a = (int32_t)input1[walk.at1] + params->input1_offset;
        const int32_t b = (int32_t)input2[walk.at2] + params->input2_offset;
        const float scaled = (float)(a * b) * params->scale;
        const float t = scaled + params->output_zero_point;
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
