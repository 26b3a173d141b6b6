/*
 * tc_convolve_1x1_s8: a 1x1, stride 1, ungrouped CONV_2D is a GEMM,
 * output[pixel][oc] = sum_ic filter[oc][ic] * (input[pixel][ic] + input_offset) + bias[oc],
 * requantized per output channel exactly like tc_convolve_s8; straight from the NHWC
 * input (each pixel's channels are contiguous), no scratch. Inner loops per ISA:
 *
 * Portable C: the plain GEMM.
 *
 * Armv7E-M DSP: two pixels x two output channels per inner loop (tc_dsp_mac_2x2_raw:
 * SXTB16 widening, two MACs per SMLAD), the input offset added as
 * offset * sum(filter row) once per channel.
 *
 * Helium: one filter row against four pixel rows per pass (tc_mve_dot_1x4: 16 bytes per
 * VMLADAVA, the tail under a VCTP predicate). The input offset is applied once per dot
 * product: sum(f * (x + offset)) = sum(f * x) + offset * sum(f), exact in int32.
 */
#include "tc_conv_internal.h"

#if TC_ISA_MVE
#define PIXELS 4
#endif

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
#if TC_ISA_DSP
    for (int32_t oc = 0; oc < out_c; oc += 2) {
        /* An odd last channel is computed twice and stored once. */
        const int both = oc + 1 < out_c;
        const int8_t *f0 = filter + oc * depth;
        const int8_t *f1 = both ? f0 + depth : f0;
        /* The input offset, once per channel: sum(f * (x + offset)) = sum(f * x) +
         * offset * sum(f). */
        const int32_t offset_term0 = params->input_offset * tc_dsp_sum(f0, depth);
        const int32_t offset_term1 = params->input_offset * tc_dsp_sum(f1, depth);
        for (int32_t p = 0; p < pixels; p += 2) {
            /* A last odd pixel is computed twice and stored once. */
            const int pair = p + 1 < pixels;
            const int8_t *x0 = input + p * depth;
            int32_t acc[4] = {offset_term0, offset_term0, offset_term1, offset_term1};
            tc_dsp_mac_2x2_raw(f0, f1, x0, pair ? x0 + depth : x0, depth, acc);
            int8_t *out0 = output + p * out_c;
            store_output(out0, acc[0], oc, bias, params, quant);
            if (pair) {
                store_output(out0 + out_c, acc[1], oc, bias, params, quant);
            }
            if (both) {
                store_output(out0, acc[2], oc + 1, bias, params, quant);
                if (pair) {
                    store_output(out0 + out_c, acc[3], oc + 1, bias, params, quant);
                }
            }
        }
    }
#elif TC_ISA_MVE
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
#else
    for (int32_t p = 0; p < pixels; ++p) {
        const int8_t *in = input + p * depth;
        for (int32_t oc = 0; oc < out_c; ++oc) {
            const int8_t *f = filter + oc * depth;
            int32_t acc = 0;
            for (int32_t k = 0; k < depth; ++k) {
                acc += f[k] * (in[k] + params->input_offset);
            }
            acc += tc_conv_bias(bias, oc);
            output[p * out_c + oc] = tc_conv_output(acc, quant->multiplier[oc], quant->shift[oc],
                                                    params->output_offset, params->activation);
        }
    }
#endif
    return TC_OK;
}
