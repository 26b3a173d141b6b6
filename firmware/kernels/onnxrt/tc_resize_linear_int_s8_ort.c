/*
 * tc_resize_linear_int_s8_ort: Resize (mode linear) of a quantized tensor as onnxruntime
 * 1.32 runs it in NHWC (QOperator form between QLinearConvs, NhwcUpsampleBilinearInteger;
 * tc_nn_onnxrt.h): 10-bit fixed-point weights from the host, an int32 sum of the four
 * neighbours, divided by 2^20 toward zero. Integer only (no float, no libm).
 */
#include "tc_ort_internal.h"

tc_status tc_resize_linear_int_s8_ort(const tc_ort_resize_linear_int_params *params,
                                      const tc_dims *input_dims, const int8_t *input,
                                      const tc_dims *output_dims, int8_t *output)
{
    if (params == NULL || params->rows == NULL || params->cols == NULL ||
        params->row_weights == NULL || params->col_weights == NULL || input_dims == NULL ||
        output_dims == NULL || input == NULL || output == NULL ||
        input_dims->n != output_dims->n || input_dims->c != output_dims->c ||
        (params->value_offset != 0 && params->value_offset != 128)) {
        TC_RETURN_ARG_ERROR();
    }
    const int32_t ih = input_dims->h, iw = input_dims->w, ch = input_dims->c;
    const int32_t off = params->value_offset;
    for (int32_t x = 0; x < output_dims->w; x++) {
        const int32_t *cx = params->cols + 2 * x, *wx = params->col_weights + 2 * x;
        if (cx[0] < 0 || cx[0] >= iw || cx[1] < 0 || cx[1] >= iw || wx[0] < 0 ||
            wx[1] < 0 || wx[0] + wx[1] > 1024) {
            TC_RETURN_ARG_ERROR();
        }
    }
    int8_t *out = output;
    for (int32_t b = 0; b < output_dims->n; b++) {
        const int8_t *in_batch = input + (size_t)b * (size_t)ih * (size_t)iw * (size_t)ch;
        for (int32_t oy = 0; oy < output_dims->h; oy++) {
            const int32_t y1 = params->rows[2 * oy], y2 = params->rows[2 * oy + 1];
            const int32_t dy1 = params->row_weights[2 * oy];
            const int32_t dy2 = params->row_weights[2 * oy + 1];
            if (y1 < 0 || y1 >= ih || y2 < 0 || y2 >= ih || dy1 < 0 || dy2 < 0 ||
                dy1 + dy2 > 1024) {
                TC_RETURN_ARG_ERROR();
            }
            const int8_t *r1 = in_batch + (size_t)y1 * (size_t)iw * (size_t)ch;
            const int8_t *r2 = in_batch + (size_t)y2 * (size_t)iw * (size_t)ch;
            for (int32_t ox = 0; ox < output_dims->w; ox++) {
                const size_t x1 = (size_t)params->cols[2 * ox] * (size_t)ch;
                const size_t x2 = (size_t)params->cols[2 * ox + 1] * (size_t)ch;
                const int32_t dx1 = params->col_weights[2 * ox];
                const int32_t dx2 = params->col_weights[2 * ox + 1];
                /* the four weights sum to at most 2^20, |v| <= 255: |S| < 2^28 */
                const int32_t w11 = dx2 * dy2, w21 = dx1 * dy2, w12 = dx2 * dy1, w22 = dx1 * dy1;
                for (int32_t c = 0; c < ch; c++) {
                    const int32_t s = w11 * ((int32_t)r1[x1 + (size_t)c] + off) +
                                      w21 * ((int32_t)r1[x2 + (size_t)c] + off) +
                                      w12 * ((int32_t)r2[x1 + (size_t)c] + off) +
                                      w22 * ((int32_t)r2[x2 + (size_t)c] + off);
                    *out++ = (int8_t)(s / (1 << 20) - off);
                }
            }
        }
    }
    return TC_OK;
}
