/*
 * tc_resize_linear_s8_ort: Resize (mode linear) as onnxruntime 1.32 runs a QDQ one
 * (tc_nn_onnxrt.h): DequantizeLinear, UpsampleBilinear's float32 interpolation with the
 * host's index and weight tables, QuantizeLinear (divide, clamp, round half to even);
 * with params->truncate, a QOperator one in NCHW (the values interpolated, truncated).
 * float32 only (VFP single precision, or IEEE soft-float on ARMv6-M), each operation
 * rounded on its own (built with -ffp-contract=off): no libm.
 */
#include "tc_ort_internal.h"

static inline float tc_resize_dq(int8_t q, int32_t zero_point, float scale)
{
    return (float)((int32_t)q - zero_point) * scale;
}

tc_status tc_resize_linear_s8_ort(const tc_ort_resize_linear_params *params,
                                  const tc_dims *input_dims, const int8_t *input,
                                  const tc_dims *output_dims, int8_t *output)
{
    if (params == NULL || params->rows == NULL || params->cols == NULL ||
        params->row_weights == NULL || params->col_weights == NULL || input_dims == NULL ||
        output_dims == NULL || input == NULL || output == NULL ||
        input_dims->n != output_dims->n || input_dims->c != output_dims->c) {
        TC_RETURN_ARG_ERROR();
    }
    const int32_t ih = input_dims->h, iw = input_dims->w, ch = input_dims->c;
    const int32_t zx = params->input_zero_point, zy = params->output_zero_point;
    const float sx = params->input_scale, sy = params->output_scale;
    const float lo = (float)(-128 - zy), hi = (float)(127 - zy);
    for (int32_t x = 0; x < 2 * output_dims->w; x++) {
        if (params->cols[x] < 0 || params->cols[x] >= iw) {
            TC_RETURN_ARG_ERROR();
        }
    }
    int8_t *out = output;
    for (int32_t b = 0; b < output_dims->n; b++) {
        const int8_t *in_batch = input + (size_t)b * (size_t)ih * (size_t)iw * (size_t)ch;
        for (int32_t oy = 0; oy < output_dims->h; oy++) {
            const int32_t y1 = params->rows[2 * oy], y2 = params->rows[2 * oy + 1];
            if (y1 < 0 || y1 >= ih || y2 < 0 || y2 >= ih) {
                TC_RETURN_ARG_ERROR();
            }
            const float dy1 = params->row_weights[2 * oy], dy2 = params->row_weights[2 * oy + 1];
            const int8_t *r1 = in_batch + (size_t)y1 * (size_t)iw * (size_t)ch;
            const int8_t *r2 = in_batch + (size_t)y2 * (size_t)iw * (size_t)ch;
            for (int32_t ox = 0; ox < output_dims->w; ox++) {
                const size_t x1 = (size_t)params->cols[2 * ox] * (size_t)ch;
                const size_t x2 = (size_t)params->cols[2 * ox + 1] * (size_t)ch;
                const float dx1 = params->col_weights[2 * ox];
                const float dx2 = params->col_weights[2 * ox + 1];
                const float c11 = dx2 * dy2, c21 = dx1 * dy2, c12 = dx2 * dy1, c22 = dx1 * dy1;
                for (int32_t c = 0; c < ch; c++) {
                    float v = c11 * tc_resize_dq(r1[x1 + (size_t)c], zx, sx);
                    v = v + c21 * tc_resize_dq(r1[x2 + (size_t)c], zx, sx);
                    v = v + c12 * tc_resize_dq(r2[x1 + (size_t)c], zx, sx);
                    v = v + c22 * tc_resize_dq(r2[x2 + (size_t)c], zx, sx);
                    float t = v / sy;
                    t = t < lo ? lo : (t > hi ? hi : t);
                    *out++ = (int8_t)((params->truncate ? (int32_t)t : tc_ort_round(t)) + zy);
                }
            }
        }
    }
    return TC_OK;
}
