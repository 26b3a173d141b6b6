/*
 * MEAN, int8, over any set of NHWC axes: LiteRT's reference_ops::QuantizedMeanOrSum
 * (compute_sum = false), which LiteRT 2.3's BUILTIN_REF resolver runs for every int8
 * MEAN, whether or not input and output quantization match:
 *   sum     = sum of the input values over the reduced axes            (int32)
 *   shifted = sum - input_zero_point * count                           (int32)
 *   out     = clamp(MultiplyByQuantizedMultiplier(shifted, M, S) + output_zero_point)
 * where M, S encode input_scale / output_scale / count (the lowering derives them as
 * LiteRT does: QuantizeMultiplier of the scale ratio, then 1/count folded into the
 * multiplier with a shift of at most 32 bits).
 *
 * An axis is reduced where output_dims has 1 and input_dims does not. The loops visit
 * the output in order and, for each element, the input block that reduces into it; where
 * channels are kept (a global average pool), four neighbouring channels at once, one
 * word read per pixel.
 */
#include "tc_nn_dwconv_pool.h"
#include "tc_nn_simd.h"

/* The SIMD builds' requantization: tc_requantize_fast (the same bits without 64-bit
 * arithmetic); the portable build keeps the reference. */
#if TC_ISA_PORTABLE
#define tc_mean_requantize tc_requantize
#else
#define tc_mean_requantize tc_requantize_fast
#endif

/* Extent of the input an output coordinate covers along one axis: all or just one. */
static inline int32_t span(int32_t in_size, int32_t out_size)
{
    return out_size == 1 ? in_size : 1;
}

tc_status tc_mean_s8(const tc_mean_params *params, const tc_dims *input_dims,
                     const int8_t *input, const tc_dims *output_dims, int8_t *output)
{
    const int32_t in_n = input_dims->n, in_h = input_dims->h;
    const int32_t in_w = input_dims->w, in_c = input_dims->c;
    if ((output_dims->n != in_n && output_dims->n != 1) ||
        (output_dims->h != in_h && output_dims->h != 1) ||
        (output_dims->w != in_w && output_dims->w != 1) ||
        (output_dims->c != in_c && output_dims->c != 1)) {
        TC_RETURN_ARG_ERROR();
    }
    const int32_t span_n = span(in_n, output_dims->n), span_h = span(in_h, output_dims->h);
    const int32_t span_w = span(in_w, output_dims->w), span_c = span(in_c, output_dims->c);
    const int32_t count = span_n * span_h * span_w * span_c;
    const int32_t offset_total = (int32_t)((int64_t)params->input_offset * count);
    /* Where whole rows are reduced, the block's rows are one run of pixels. */
    const int32_t rows = span_w == in_w ? 1 : span_h;
    const int32_t run = span_w == in_w ? span_h * span_w : span_w;

    for (int32_t on = 0; on < output_dims->n; ++on) {
        for (int32_t oh = 0; oh < output_dims->h; ++oh) {
            for (int32_t ow = 0; ow < output_dims->w; ++ow) {
                for (int32_t oc = 0; oc < output_dims->c;) {
                    /* The first input element of this output's block (reduced axes at 0). */
                    const int32_t n0 = span_n == 1 ? on : 0, h0 = span_h == 1 ? oh : 0;
                    const int32_t w0 = span_w == 1 ? ow : 0, c0 = span_c == 1 ? oc : 0;
                    /* Channels kept: four neighbouring outputs at once, one word per pixel. */
                    const int32_t lanes = span_c == 1 && oc + 4 <= output_dims->c ? 4 : 1;
                    int32_t sum[4] = {0, 0, 0, 0};
                    for (int32_t n = n0; n < n0 + span_n; ++n) {
                        for (int32_t h = h0; h < h0 + rows; ++h) {
                            const int8_t *p = input + ((n * in_h + h) * in_w + w0) * in_c + c0;
                            if (lanes == 4) {
                                for (int32_t w = 0; w < run; ++w, p += in_c) {
                                    const uint32_t v = (uint32_t)tc_read_s32(p);
                                    sum[0] += (int8_t)v;
                                    sum[1] += (int8_t)(v >> 8);
                                    sum[2] += (int8_t)(v >> 16);
                                    sum[3] += (int8_t)(v >> 24);
                                }
                                continue;
                            }
                            for (int32_t w = 0; w < run; ++w, p += in_c) {
                                for (int32_t c = 0; c < span_c; ++c) {
                                    sum[0] += p[c];
                                }
                            }
                        }
                    }
                    for (int32_t i = 0; i < lanes; ++i) {
                        const int32_t result = tc_mean_requantize(sum[i] + offset_total,
                                                                  params->multiplier,
                                                                  params->shift) +
                                               params->output_offset;
                        *output++ = (int8_t)TC_CLAMP(result, INT8_MIN, INT8_MAX);
                    }
                    oc += lanes;
                }
            }
        }
    }
    return TC_OK;
}
