/*
 * TRANSPOSE_CONV 16x8: int16 activations (zero point 0), int8 per-channel weights, int64
 * bias: TFLite's reference_integer_ops::TransposeConv<int64_t>, bit for bit.
 *
 * The scatter of tc_transpose_conv_s8 into int64 accumulators (ctx->buf, LiteRT's int64
 * scratch tensor): acc[b, oy, ox, o] += sum_c in[b, y, x, c] * w[o, fy, fx, c]; then
 *   out = clamp(requantize_s64(acc + bias[o], multiplier[o], shift[o]))
 * with TFLite's 64-bit MultiplyByQuantizedMultiplier (tc_requantize_s64); no output offset
 * (LiteRT's int16 kernel adds none: the zero points are 0).
 */
#include "tc_spatial_internal.h"

tc_status tc_transpose_conv_s16(const tc_context *ctx, const tc_conv_params *params,
                                const tc_per_channel_quant_params *quant,
                                const tc_dims *input_dims, const int16_t *input,
                                const tc_dims *filter_dims, const int8_t *filter,
                                const tc_dims *bias_dims, const int64_t *bias,
                                const tc_dims *output_dims, int16_t *output)
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
        ctx->size < tc_transpose_conv_s16_get_buffer_size(output_dims) ||
        filter_dims->c != in_c || output_dims->c != out_c || output_dims->n != batches ||
        params->stride.h < 1 || params->stride.w < 1) {
        TC_RETURN_ARG_ERROR();
    }
    const int32_t tap_stride = k_h * k_w * in_c;
    const int32_t count = batches * out_h * out_w * out_c;
    uint8_t *acc = (uint8_t *)ctx->buf; /* int64 per output element, 4-byte aligned */
    memset(acc, 0, (size_t)count * sizeof(int64_t));

    for (int32_t b = 0; b < batches; ++b) {
        for (int32_t y = 0; y < in_h; ++y) {
            const int32_t oy0 = y * params->stride.h - params->padding.h;
            for (int32_t x = 0; x < in_w; ++x) {
                const int32_t ox0 = x * params->stride.w - params->padding.w;
                const int16_t *in = input + (((size_t)b * in_h + y) * in_w + x) * in_c;
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
                        uint8_t *a = acc + (((size_t)b * out_h + oy) * out_w + ox) * out_c *
                                               sizeof(int64_t);
                        const int8_t *w = filter + (fy * k_w + fx) * in_c;
                        for (int32_t o = 0; o < out_c; ++o) {
                            int64_t sum = 0;
                            for (int32_t c = 0; c < in_c; ++c) {
                                sum += (int32_t)in[c] * w[c];
                            }
                            uint8_t *slot = a + (size_t)o * sizeof(int64_t);
                            tc_store_s64(slot, tc_load_s64(slot) + sum);
                            w += tap_stride;
                        }
                    }
                }
            }
        }
    }

    for (int32_t i = 0; i < count; i += out_c) {
        for (int32_t o = 0; o < out_c; ++o) {
            int64_t total = tc_load_s64(acc + ((size_t)i + o) * sizeof(int64_t));
            if (bias != NULL) {
                total += tc_load_s64(&bias[o]);
            }
            int32_t scaled = tc_requantize_s64(total, quant->multiplier[o], quant->shift[o]);
            scaled = TC_CLAMP(scaled, params->activation.min, params->activation.max);
            output[i + o] = (int16_t)scaled;
        }
    }
    return TC_OK;
}
