/*
 * Private to the two 16x8 fully connected kernels (tc_fully_connected_s16.c,
 * tc_fully_connected_f64_s16.c): their loop, included with TC_FC_S16_F64 set to the
 * requantization. TFLite's reference FullyConnected / FullyConnectedPerChannel for int16
 * input, int8 weights, int64 bias:
 *   acc = sum((filter + filter_offset) * input) + bias[u]    (int64, input offset 0)
 * computed two units at a time as tc_dot2_s16_s8(input, filter rows) + filter_offset *
 * sum(input) (exact), then
 * requantized per unit: LiteRT's double scale (TC_FC_S16_F64) or TFLite Micro's
 * fixed-point multiplier (tc_requantize_s64), plus the output offset, clamped.
 */
#ifndef TC_FULLY_CONNECTED_S16_RUN_H
#define TC_FULLY_CONNECTED_S16_RUN_H

#include "tc_conv_internal.h"
#include "tc_nn_s16_support.h"

#if TC_FC_S16_F64
typedef tc_f64_scale_params tc_fc_s16_scale;
#else
typedef tc_per_channel_quant_params tc_fc_s16_scale;
#endif

static inline int16_t tc_fc_s16_output(const tc_fc_params *params, const tc_fc_s16_scale *scale,
                                       const int64_t *bias, int32_t u, int64_t acc)
{
    if (bias != NULL) {
        acc += bias[u];
    }
#if TC_FC_S16_F64
    const int32_t scaled =
        acc >= INT32_MIN && acc <= INT32_MAX
            ? tc_round_scaled_f64((int32_t)acc, scale->mantissa[u], scale->exponent[u])
            : tc_round_scaled_f64_s64(acc, scale->mantissa[u], scale->exponent[u]);
#else
    const int32_t scaled = tc_requantize_s64(acc, scale->multiplier[u], scale->shift[u]);
#endif
    return tc_clamp_s16(tc_add_wrap(scaled, params->output_offset), params->activation);
}

static tc_status tc_fc_s16_run(const tc_fc_params *params, const tc_fc_s16_scale *scale,
                               const tc_dims *input_dims, const int16_t *input,
                               const tc_dims *filter_dims, const int8_t *filter,
                               const int64_t *bias, const tc_dims *output_dims,
                               int16_t *output)
{
    const int32_t depth = filter_dims->c, units = filter_dims->n;
    if (params->input_offset != 0 || input_dims->c != depth || output_dims->c != units ||
        input_dims->n != output_dims->n || depth < 1) {
        TC_RETURN_ARG_ERROR();
    }
    for (int32_t b = 0; b < input_dims->n; ++b) {
        const int16_t *x = input + b * depth;
        int64_t input_sum = 0;
        if (params->filter_offset != 0) {
            for (int32_t k = 0; k < depth; ++k) {
                input_sum += x[k];
            }
        }
        for (int32_t u = 0; u < units; u += 2) {
            /* Two units per pass over the input (the last one alone). */
            const int pair = u + 1 < units;
            int64_t acc[2] = {0, 0};
            const int8_t *f0 = filter + u * depth;
            tc_dot2_s16_s8(x, f0, pair ? f0 + depth : f0, depth, &acc[0], &acc[1]);
            for (int32_t j = 0; j <= pair; ++j) {
                *output++ = tc_fc_s16_output(params, scale, bias, u + j,
                                             acc[j] + (int64_t)params->filter_offset * input_sum);
            }
        }
    }
    return TC_OK;
}

#endif /* TC_FULLY_CONNECTED_S16_RUN_H */
