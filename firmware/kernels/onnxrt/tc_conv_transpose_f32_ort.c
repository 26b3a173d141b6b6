/*
 * tc_conv_transpose_f32_ort: DequantizeLinear -> ConvTranspose -> QuantizeLinear as
 * onnxruntime's CPU EP runs it, in float32 (tc_nn_onnxrt.h states the arithmetic):
 * ConvTranspose<float> is an SGEMM (MLAS, CblasTrans on the weights) into a column
 * buffer, Col2im into the zeroed output, then the bias. Per output element:
 *     col(tap) = fmaf chains over the group's input channels in order, in blocks of 128
 *                (MLAS_SGEMM_STRIDEK): part = fmaf(w, x, ... fmaf(w0, x0, 0)),
 *                col = part of block 0, then col = col + part of each next block
 *     y = ((0 + col(tap 0)) + col(tap 1)) + ...   taps (kh, kw) in row-major order
 *     y = y + bias[oc]
 *     y = min(max(y, act_min), act_max)   (a Relu / Clip in float, before QuantizeLinear)
 *     q = saturate(round_half_even(y / y_scale) + zp_y)
 * with x = (float)(stored - zp_x) * x_scale and the weights as DequantizeLinear makes them
 * ((float)(w - zp_w) * w_scale, computed on the host). The per-element computation needs
 * no column buffer and no scratch. Compiled with fp-contract off (tc_ort_internal.h).
 */
#include "tc_ort_internal.h"

#define TC_ORT_SGEMM_STRIDEK 128

tc_status tc_conv_transpose_f32_ort(const tc_ort_conv_transpose_params *params,
                                    const tc_dims *input_dims, const int8_t *input,
                                    const tc_dims *filter_dims, const tc_dims *output_dims,
                                    int8_t *output)
{
    if (params == NULL || params->weights == NULL || input_dims == NULL || input == NULL ||
        filter_dims == NULL || output_dims == NULL || output == NULL ||
        params->groups < 1 || params->stride.h < 1 || params->stride.w < 1 ||
        params->dilation.h < 1 || params->dilation.w < 1 ||
        !(params->act_min <= params->act_max) ||
        filter_dims->n != output_dims->c || filter_dims->n % params->groups != 0 ||
        filter_dims->c * params->groups != input_dims->c) {
        TC_RETURN_ARG_ERROR();
    }
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w, k_c = filter_dims->c;
    const int32_t oc_per_group = out_c / params->groups;
    const int32_t s_h = params->stride.h, s_w = params->stride.w;
    const int32_t d_h = params->dilation.h, d_w = params->dilation.w;
    const int32_t x_zp = params->input_zero_point, y_zp = params->output_zero_point;
    const float x_scale = params->input_scale, y_scale = params->output_scale;
    const float lo = (float)(-128 - y_zp), hi = (float)(127 - y_zp);

    for (int32_t b = 0; b < output_dims->n; b++) {
        const int8_t *in_b = input + (size_t)b * (size_t)in_h * (size_t)in_w * (size_t)in_c;
        for (int32_t oy = 0; oy < out_h; oy++) {
            for (int32_t ox = 0; ox < out_w; ox++) {
                int8_t *out = output + (((size_t)b * (size_t)out_h + (size_t)oy) *
                                        (size_t)out_w + (size_t)ox) * (size_t)out_c;
                for (int32_t oc = 0; oc < out_c; oc++) {
                    const int32_t c0 = (oc / oc_per_group) * k_c;
                    const float *w_oc = params->weights + (size_t)oc * (size_t)k_h *
                                        (size_t)k_w * (size_t)k_c;
                    float y = 0.0f;
                    for (int32_t ky = 0; ky < k_h; ky++) {
                        const int32_t ny = oy + params->padding.h - ky * d_h;
                        if (ny < 0 || ny % s_h != 0 || ny / s_h >= in_h) {
                            continue;
                        }
                        for (int32_t kx = 0; kx < k_w; kx++) {
                            const int32_t nx = ox + params->padding.w - kx * d_w;
                            if (nx < 0 || nx % s_w != 0 || nx / s_w >= in_w) {
                                continue;
                            }
                            const int8_t *x = in_b + ((size_t)(ny / s_h) * (size_t)in_w +
                                                      (size_t)(nx / s_w)) * (size_t)in_c + c0;
                            const float *w = w_oc + ((size_t)ky * (size_t)k_w + (size_t)kx) *
                                             (size_t)k_c;
                            float col = 0.0f;
                            for (int32_t k0 = 0; k0 < k_c; k0 += TC_ORT_SGEMM_STRIDEK) {
                                const int32_t k1 = k_c - k0 > TC_ORT_SGEMM_STRIDEK
                                                   ? k0 + TC_ORT_SGEMM_STRIDEK : k_c;
                                float part = 0.0f;
                                for (int32_t k = k0; k < k1; k++) {
                                    const float xf = (float)((int32_t)x[k] - x_zp) * x_scale;
                                    part = tc_ort_fma(w[k], xf, part);
                                }
                                col = k0 == 0 ? part : col + part;
                            }
                            y = y + col;
                        }
                    }
                    if (params->bias != NULL) {
                        y = y + params->bias[oc];
                    }
                    y = y < params->act_min ? params->act_min : y;
                    y = y > params->act_max ? params->act_max : y;
                    float t = y / y_scale;
                    t = t >= lo ? t : lo; /* MlasQuantizeLinear: max, min (NaN: lo), round */
                    t = t > hi ? hi : t;
                    out[oc] = (int8_t)(tc_ort_round(t) + y_zp);
                }
            }
        }
    }
    return TC_OK;
}
