/*
 * tc_softmax_s8_ort: QLinearSoftmax as onnxruntime's CPU kernel computes it
 * (tc_nn_onnxrt.h), `rows` rows of `depth` contiguous elements:
 *     m = max(x)                          on the stored int8 (the same order as uint8)
 *     sum = sum of table[m - x]           float32 additions in element order
 *     t = (table[m - x] * y_scale) / sum  two float32 roundings (no fma)
 *     y = saturate(round_half_even(t) + zp_y) - value_offset
 * t <= y_scale <= 2^22 (checked on the host), so tc_ort_round applies. The row is read
 * twice before its outputs are written, element by element: the kernel runs in place.
 * float32 only (VFP single precision, or IEEE soft-float on ARMv6-M): no libm.
 */
#include "tc_ort_internal.h"

tc_status tc_softmax_s8_ort(const tc_ort_softmax_params *params, const int8_t *input,
                            int8_t *output, int32_t rows, int32_t depth)
{
    if (params == NULL || params->table == NULL || input == NULL || output == NULL ||
        rows < 0 || depth < 1) {
        TC_RETURN_ARG_ERROR();
    }
    const float *table = params->table;
    const int32_t off = params->value_offset;
    const int32_t lo = off ? 0 : -128, hi = off ? 255 : 127;
    for (int32_t r = 0; r < rows; r++) {
        const int8_t *x = input + (size_t)r * (size_t)depth;
        int8_t *y = output + (size_t)r * (size_t)depth;
        int32_t m = x[0];
        for (int32_t i = 1; i < depth; i++) {
            m = x[i] > m ? x[i] : m;
        }
        float sum = 0.0f;
        for (int32_t i = 0; i < depth; i++) {
            sum += table[m - x[i]];
        }
        for (int32_t i = 0; i < depth; i++) {
            const float scaled = table[m - x[i]] * params->y_scale;
            int32_t q = tc_ort_round(scaled / sum) + params->output_zero_point;
            q = q < lo ? lo : (q > hi ? hi : q);
            y[i] = (int8_t)(q - off);
        }
    }
    return TC_OK;
}
