/*
 * TRANSPOSE_CONV, int8 activations, int8 per-channel weights, int32 bias: TFLite's
 * reference_integer_ops::TransposeConv, bit for bit.
 *
 * Scatter: for every input pixel (b, y, x) and filter tap (fy, fx) whose output pixel
 * (y * stride_h - pad_h + fy, x * stride_w - pad_w + fx) lies inside the output,
 *   acc[b, oy, ox, o] += sum_c (in[b, y, x, c] + input_offset) * w[o, fy, fx, c]
 * into the int32 accumulators in ctx->buf (one per output element; LiteRT's scratch tensor).
 * TFLite adds one product at a time in int32; the sums here wrap the same way (uint32),
 * and wrapping addition does not depend on the order (DSP: SMLAD pairs; Helium: four
 * output channels per pass, VMLADAVA). Then per output channel:
 *   out = clamp(requantize(acc + bias[o], multiplier[o], shift[o]) + output_offset).
 */
#include "tc_spatial_internal.h"


tc_status tc_transpose_conv_s8(const tc_context *ctx, const tc_conv_params *params,
                               const tc_per_channel_quant_params *quant,
                               const tc_dims *input_dims, const int8_t *input,
                               const tc_dims *filter_dims, const int8_t *filter,
                               const tc_dims *bias_dims, const int32_t *bias,
                               const tc_dims *output_dims, int8_t *output)
{
    (void)bias_dims;
    const int32_t batches = input_dims->n;
    const int32_t in_h = input_dims->h;
    const int32_t in_w = input_dims->w;
    const int32_t in_c = input_dims->c;
    const int32_t out_c = filter_dims->n;
    const int32_t k_h = filter_dims->h;
    const int32_t k_w = filter_dims->w;
    const int32_t out_h = output_dims->h;
    const int32_t out_w = output_dims->w;
    if (ctx == NULL || ctx->buf == NULL ||
        ctx->size < tc_transpose_conv_s8_get_buffer_size(output_dims) ||
        filter_dims->c != in_c || output_dims->c != out_c || output_dims->n != batches ||
        params->stride.h < 1 || params->stride.w < 1) {
        TC_RETURN_ARG_ERROR();
    }
    const int32_t tap_stride = k_h * k_w * in_c; /* from one output channel's filter to the next */
    const int32_t count = batches * out_h * out_w * out_c;
    uint32_t *acc = (uint32_t *)ctx->buf;
    memset(acc, 0, (size_t)count * sizeof(uint32_t));

    for (int32_t b = 0; b < batches; ++b) {
        for (int32_t y = 0; y < in_h; ++y) {
            const int32_t oy0 = y * params->stride.h - params->padding.h;
            for (int32_t x = 0; x < in_w; ++x) {
                const int32_t ox0 = x * params->stride.w - params->padding.w;
                const int8_t *in = input + (((size_t)b * in_h + y) * in_w + x) * in_c;
                for (int32_t fy = 0; fy < k_h; ++fy) {
                    const int32_t oy = oy0 + fy;
                    if (oy < 0 || oy >= out_h) {
                        continue;
                    }
                    for (int32_t fx = 0; fx < k_w; ++fx) {
                        const int32_t ox = ox0 + fx;
                        if (ox < 0 || ox >= out_w) {
                            continue;
                        }
                        uint32_t *a = acc + (((size_t)b * out_h + oy) * out_w + ox) * out_c;
                        const int8_t *w = filter + (fy * k_w + fx) * in_c;
                        int32_t o = 0;
#if TC_ISA_MVE
                        /* Four output channels per pass: sum_c x * w_j by VMLADAVA, plus
                         * input_offset * sum_c w_j. */
                        for (; o + 4 <= out_c; o += 4) {
                            int32_t dots[4] = {0, 0, 0, 0};
                            (void)tc_mve_dot_1x4(in, w, w + tap_stride, w + 2 * tap_stride,
                                                 w + 3 * tap_stride, in_c, dots);
                            for (int32_t j = 0; j < 4; ++j) {
                                const int32_t w_sum = tc_mve_sum(w, in_c);
                                a[o + j] += (uint32_t)dots[j] +
                                            (uint32_t)params->input_offset * (uint32_t)w_sum;
                                w += tap_stride;
                            }
                        }
#endif
                        for (; o < out_c; ++o) {
                            a[o] += tc_spatial_dot_s8(w, in, in_c, params->input_offset);
                            w += tap_stride;
                        }
                    }
                }
            }
        }
    }

    for (int32_t i = 0; i < count; i += out_c) {
        for (int32_t o = 0; o < out_c; ++o) {
            uint32_t total = acc[i + o];
            if (bias != NULL) {
                total += (uint32_t)bias[o];
            }
            const int32_t scaled = tc_requantize((int32_t)total, quant->multiplier[o],
                                                 quant->shift[o]);
            output[i + o] = tc_clamp_s8(tc_add_wrap(scaled, params->output_offset),
                                        params->activation);
        }
    }
    return TC_OK;
}
