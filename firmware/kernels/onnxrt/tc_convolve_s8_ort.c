/*
 * tc_convolve_s8_ort: QLinearConv as onnxruntime computes it. NHWC input, OHWI filter
 * (c = input channels per group), int32 accumulator
 *     acc = bias[oc] + sum (x + input_offset) * (w + filter_offset)
 * over the taps inside the image (padding reads the input zero point: contributes 0), then
 * tc_ort_requantize (float32 scale per channel, clamp, round half to even; see
 * tc_nn_onnxrt.h). Portable C on every ISA.
 */
#include "tc_ort_internal.h"

tc_status tc_convolve_s8_ort(const tc_context *ctx, const tc_conv_params *params,
                             const tc_ort_requant_params *quant,
                             const tc_dims *input_dims, const int8_t *input,
                             const tc_dims *filter_dims, const int8_t *filter,
                             const tc_dims *bias_dims, const int32_t *bias,
                             const tc_dims *output_dims, int8_t *output)
{
    (void)ctx;
    (void)bias_dims;
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w, k_c = filter_dims->c;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
    if (k_c <= 0 || in_c % k_c != 0 || filter_dims->n != out_c) {
        TC_RETURN_ARG_ERROR();
    }
    const int32_t groups = in_c / k_c;
    const int32_t oc_per_group = out_c / groups;
    const int32_t filter_offset = quant->filter_offset;
    for (int32_t b = 0; b < input_dims->n; b++) {
        const int8_t *in_b = input + (size_t)b * in_h * in_w * in_c;
        for (int32_t oy = 0; oy < out_h; oy++) {
            for (int32_t ox = 0; ox < out_w; ox++) {
                const int32_t y0 = oy * params->stride.h - params->padding.h;
                const int32_t x0 = ox * params->stride.w - params->padding.w;
                for (int32_t oc = 0; oc < out_c; oc++) {
                    const int32_t g = oc / oc_per_group;
                    const int8_t *w_oc = filter + (size_t)oc * k_h * k_w * k_c;
                    int32_t acc = bias != NULL ? bias[oc] : 0;
                    for (int32_t ky = 0; ky < k_h; ky++) {
                        const int32_t iy = y0 + ky * params->dilation.h;
                        if (iy < 0 || iy >= in_h) {
                            continue;
                        }
                        for (int32_t kx = 0; kx < k_w; kx++) {
                            const int32_t ix = x0 + kx * params->dilation.w;
                            if (ix < 0 || ix >= in_w) {
                                continue;
                            }
                            const int8_t *px = in_b + ((size_t)iy * in_w + ix) * in_c + g * k_c;
                            const int8_t *pw = w_oc + ((size_t)ky * k_w + kx) * k_c;
                            for (int32_t ic = 0; ic < k_c; ic++) {
                                acc += ((int32_t)px[ic] + params->input_offset) *
                                       ((int32_t)pw[ic] + filter_offset);
                            }
                        }
                    }
                    const float scale = quant->scale[quant->per_channel ? oc : 0];
                    output[(((size_t)b * out_h + oy) * out_w + ox) * out_c + oc] =
                        tc_ort_requantize(acc, scale, params->output_offset,
                                          &params->activation);
                }
            }
        }
    }
    return TC_OK;
}
