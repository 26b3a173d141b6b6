/*
 * tc_convolve_1x1_s8 for Helium: a GEMM straight from the NHWC input, one filter row
 * against four pixel rows per pass, 16 bytes per VMLADAVA, the tail under a VCTP
 * predicate. The input offset is applied once per dot product:
 * sum(f * (x + offset)) = sum(f * x) + offset * sum(f), exact in int32. No scratch.
 */
#include "tc_conv_internal.h"

#if TC_CONV_MVE

#include <arm_mve.h>

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
    int32_t p = 0;
    for (; p + PIXELS <= pixels; p += PIXELS) {
        const int8_t *x0 = input + p * depth;
        int8_t *out = output + p * out_c;
        for (int32_t oc = 0; oc < out_c; ++oc) {
            const int8_t *row = filter + oc * depth;
            int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, f_sum = 0;
            for (int32_t k = 0; k < depth; k += 16) {
                const mve_pred16_t tail = vctp8q((uint32_t)(depth - k));
                const int8x16_t f = vldrbq_z_s8(row + k, tail);
                f_sum = vaddvaq_s8(f_sum, f);
                a0 = vmladavaq_s8(a0, f, vldrbq_z_s8(x0 + k, tail));
                a1 = vmladavaq_s8(a1, f, vldrbq_z_s8(x0 + depth + k, tail));
                a2 = vmladavaq_s8(a2, f, vldrbq_z_s8(x0 + 2 * depth + k, tail));
                a3 = vmladavaq_s8(a3, f, vldrbq_z_s8(x0 + 3 * depth + k, tail));
            }
            const int32_t offset_term = f_sum * offset;
            store_output(out, a0 + offset_term, oc, bias, params, quant);
            store_output(out + out_c, a1 + offset_term, oc, bias, params, quant);
            store_output(out + 2 * out_c, a2 + offset_term, oc, bias, params, quant);
            store_output(out + 3 * out_c, a3 + offset_term, oc, bias, params, quant);
        }
    }
    for (; p < pixels; ++p) {
        const int8_t *x = input + p * depth;
        for (int32_t oc = 0; oc < out_c; ++oc) {
            const int8_t *row = filter + oc * depth;
            int32_t acc = 0, f_sum = 0;
            for (int32_t k = 0; k < depth; k += 16) {
                const mve_pred16_t tail = vctp8q((uint32_t)(depth - k));
                const int8x16_t f = vldrbq_z_s8(row + k, tail);
                f_sum = vaddvaq_s8(f_sum, f);
                acc = vmladavaq_s8(acc, f, vldrbq_z_s8(x + k, tail));
            }
            store_output(output + p * out_c, acc + f_sum * offset, oc, bias, params, quant);
        }
    }
    return TC_OK;
}

#endif /* TC_CONV_MVE */
