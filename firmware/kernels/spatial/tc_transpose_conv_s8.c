/*
 * TRANSPOSE_CONV, int8 activations, int8 per-channel weights, int32 bias: TFLite's
 * reference_integer_ops::TransposeConv, bit for bit (the walk: tc_transpose_conv_internal.h).
 *
 *   acc[b, oy, ox, o] += sum_c (in[b, y, x, c] + input_offset) * w[o, fy, fx, c]
 * into int32 accumulators (LiteRT's scratch tensor). TFLite adds one product at a time in
 * int32; the sums here wrap the same way (uint32), and wrapping addition does not depend
 * on the order (DSP: SMLAD pairs; Helium: four output channels per pass, VMLADAVA). Then
 * per output channel:
 *   out = clamp(requantize(acc + bias[o], multiplier[o], shift[o]) + output_offset).
 */
#include "tc_transpose_conv_internal.h"

static inline void tap_s8(const tc_conv_params *params, const void *input, const int8_t *w,
                          int32_t in_c, int32_t out_c, int32_t tap_stride, uint8_t *acc)
{
    const int8_t *in = (const int8_t *)input;
    uint32_t *a = (uint32_t *)(void *)acc;
    int32_t o = 0;
#if TC_ISA_MVE
    /* Four output channels per pass: sum_c x * w_j by VMLADAVA, plus
     * input_offset * sum_c w_j. */
    for (; o + 4 <= out_c; o += 4) {
        int32_t dots[4] = {0, 0, 0, 0};
        (void)tc_mve_dot_1x4(in, w, w + tap_stride, w + 2 * tap_stride, w + 3 * tap_stride,
                             in_c, dots);
        for (int32_t j = 0; j < 4; ++j) {
            const int32_t w_sum = tc_mve_sum(w, in_c);
            a[o + j] += (uint32_t)dots[j] + (uint32_t)params->input_offset * (uint32_t)w_sum;
            w += tap_stride;
        }
    }
#endif
    for (; o < out_c; ++o) {
        a[o] += tc_spatial_dot_s8(w, in, in_c, params->input_offset);
        w += tap_stride;
    }
}

static inline void finish_s8(const tc_conv_params *params,
                             const tc_per_channel_quant_params *quant, const uint8_t *acc,
                             const void *bias, int32_t o, void *output, int32_t index)
{
    uint32_t total = *(const uint32_t *)(const void *)acc;
    if (bias != NULL) {
        total += (uint32_t)((const int32_t *)bias)[o];
    }
    const int32_t scaled = tc_requantize((int32_t)total, quant->multiplier[o], quant->shift[o]);
    ((int8_t *)output)[index] =
        tc_clamp_s8(tc_add_wrap(scaled, params->output_offset), params->activation);
}

tc_status tc_transpose_conv_s8(const tc_context *ctx, const tc_conv_params *params,
                               const tc_per_channel_quant_params *quant,
                               const tc_dims *input_dims, const int8_t *input,
                               const tc_dims *filter_dims, const int8_t *filter,
                               const tc_dims *bias_dims, const int32_t *bias,
                               const tc_dims *output_dims, int8_t *output)
{
    (void)bias_dims;
    return tc_transpose_conv_walk(ctx, params, quant, input_dims, input, sizeof(int8_t),
                                  filter_dims, filter, bias, output_dims, output,
                                  sizeof(int32_t),
                                  tc_transpose_conv_s8_get_buffer_size(output_dims), tap_s8,
                                  finish_s8);
}
