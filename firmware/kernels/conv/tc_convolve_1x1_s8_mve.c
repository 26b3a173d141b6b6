/*
 * tc_convolve_1x1_s8 for Helium: a GEMM straight from the NHWC input, one filter row
 * against four pixel rows per pass (tc_mve_dot_1x4: 16 bytes per VMLADAVA, the tail under
 * a VCTP predicate). The input offset is applied once per dot product:
 * sum(f * (x + offset)) = sum(f * x) + offset * sum(f), exact in int32. No scratch.
 */
#include "tc_conv_internal.h"

#if TC_CONV_MVE

#include "tc_conv_mve.h"

#define PIXELS 4

static inline void store_output(int8_t *out, int32_t acc, int32_t oc, const int32_t *bias,
                                const tc_conv_params *params,
                                const tc_per_channel_quant_params *quant)
{
    out[oc] = tc_conv_output(acc + tc_conv_bias(bias, oc), quant->multiplier[oc],
                             quant->shift[oc], params->output_offset, params->activation);
}

tc_status tc_convolve_1x1_s8(const tc_context *ctx, const tc_conv_params *params,
                             const tc_per_channel_quant_params *quant,
                             const tc_dims *input_dims, const int8_t *input,
                             const tc_dims *filter_dims, const int8_t *filter,
                             const tc_dims *bias_dims, const int32_t *bias,
                             const tc_dims *output_dims, int8_t *output)
{
    (void)ctx;
    (void)bias_dims;
    if (!tc_conv_1x1_args_valid(params, quant, input_dims, input, filter_dims, filter,
                                output_dims, output)) {
        return TC_ARG_ERROR;
    }
    const int32_t pixels = input_dims->n * input_dims->h * input_dims->w;
    const int32_t depth = input_dims->c;
    const int32_t out_c = output_dims->c;
    const int32_t offset = params->input_offset;
    for (int32_t p = 0; p < pixels; p += PIXELS) {
        /* Past the last pixel, rows repeat the first; those results are dropped. */
        const int32_t n_px = TC_MIN(PIXELS, pixels - p);
        const int8_t *x0 = input + p * depth;
        const int8_t *x1 = x0 + (n_px > 1 ? depth : 0);
        const int8_t *x2 = x0 + (n_px > 2 ? 2 * depth : 0);
        const int8_t *x3 = x0 + (n_px > 3 ? 3 * depth : 0);
        for (int32_t oc = 0; oc < out_c; ++oc) {
            const int8_t *row = filter + oc * depth;
            int32_t acc[PIXELS] = {0, 0, 0, 0};
            const int32_t offset_term = tc_mve_dot_1x4(row, x0, x1, x2, x3, depth, acc) * offset;
            for (int32_t j = 0; j < n_px; ++j) {
                store_output(output + (p + j) * out_c, acc[j] + offset_term, oc, bias, params,
                             quant);
            }
        }
    }
    return TC_OK;
}

#endif /* TC_CONV_MVE */
