/*
 * tc_fully_connected_s8_ort: QGemm / QLinearMatMul (constant B) as onnxruntime computes
 * them: per row of the input and output unit u,
 *     acc = bias[u] + sum_d (x[d] + input_offset) * (w[u][d] + filter_offset)
 * then tc_ort_requantize with scale[u] or scale[0] (tc_nn_onnxrt.h). The sum is exact in
 * int32 in any order, so every ISA gives the portable kernel's bytes:
 *
 * Portable C: the loop above.
 * Armv7E-M DSP: two units at a time; each input word is widened once for both with the
 * input offset added (SXTAB16, SXTAB16 ROR #8), the filter words with the filter offset
 * (w + filter_offset fits int16 for uint8 weights too), SMLAD: two MACs each.
 * Helium: four units at a time against the row (tc_mve_dot_1x4, VMLADAVA on int8), the
 * offsets through the sums, exact in int32:
 *     acc = sum x w + input_offset sum w + filter_offset sum x + depth ox ow
 * (sum x from the dot product, sum w once per unit).
 * No scratch.
 */
#include "tc_ort_internal.h"

#if TC_ISA_DSP
/* acc[j] += sum_d (x[d] + x_offset) * (w_j[d] + w_offset) for two filter rows. */
static __attribute__((noinline)) void dot_2(const int8_t *x, const int8_t *w0,
                                            const int8_t *w1, int32_t depth,
                                            int32_t x_offset, int32_t w_offset,
                                            int32_t acc[2])
{
    const int32_t x_offsets = tc_dup16(x_offset), w_offsets = tc_dup16(w_offset);
    int32_t a0 = acc[0], a1 = acc[1];
    const int8_t *const end = x + (depth & ~3);
    while (x < end) {
        const int32_t xv = tc_read_s32(x), v0 = tc_read_s32(w0), v1 = tc_read_s32(w1);
        x += 4;
        w0 += 4;
        w1 += 4;
        const int32_t x02 = tc_sxtab16_even(x_offsets, xv), x13 = tc_sxtab16_odd(x_offsets, xv);
        a0 = tc_smlad(tc_sxtab16_even(w_offsets, v0), x02, a0);
        a0 = tc_smlad(tc_sxtab16_odd(w_offsets, v0), x13, a0);
        a1 = tc_smlad(tc_sxtab16_even(w_offsets, v1), x02, a1);
        a1 = tc_smlad(tc_sxtab16_odd(w_offsets, v1), x13, a1);
    }
    for (int32_t k = 0; k < (depth & 3); k++) {
        const int32_t xk = (int32_t)x[k] + x_offset;
        a0 += xk * ((int32_t)w0[k] + w_offset);
        a1 += xk * ((int32_t)w1[k] + w_offset);
    }
    acc[0] = a0;
    acc[1] = a1;
}
#endif

tc_status tc_fully_connected_s8_ort(const tc_context *ctx, const tc_fc_params *params,
                                    const tc_ort_requant_params *quant,
                                    const tc_dims *input_dims, const int8_t *input,
                                    const tc_dims *filter_dims, const int8_t *filter,
                                    const tc_dims *bias_dims, const int32_t *bias,
                                    const tc_dims *output_dims, int8_t *output)
{
    (void)ctx;
    (void)bias_dims;
    (void)output_dims;
    const int32_t depth = filter_dims->c, units = filter_dims->n;
    if (depth <= 0 || input_dims->c != depth) {
        TC_RETURN_ARG_ERROR();
    }
    const int32_t x_offset = params->input_offset, w_offset = params->filter_offset;
#if TC_ISA_DSP
    for (int32_t row = 0; row < input_dims->n; row++) {
        const int8_t *x = input + (size_t)row * depth;
        int8_t *out = output + (size_t)row * units;
        for (int32_t u = 0; u < units; u += 2) {
            /* An odd last unit is computed twice and stored once. */
            const int32_t n = TC_MIN(2, units - u);
            const int8_t *w0 = filter + (size_t)u * depth;
            int32_t acc[2] = {0, 0};
            dot_2(x, w0, w0 + (size_t)(n - 1) * depth, depth, x_offset, w_offset, acc);
            for (int32_t j = 0; j < n; j++) {
                out[u + j] = tc_ort_requantize(tc_add_wrap(acc[j], tc_conv_bias(bias, u + j)),
                                               quant->scale[quant->per_channel ? u + j : 0],
                                               params->output_offset, &params->activation);
            }
        }
    }
#elif TC_ISA_MVE
    const uint32_t both = (uint32_t)depth * (uint32_t)x_offset * (uint32_t)w_offset;
    for (int32_t u = 0; u < units; u += 4) {
        /* Past the last unit, rows repeat it; those results are dropped. */
        const int32_t n = TC_MIN(4, units - u);
        const int8_t *w[4];
        uint32_t start[4];
        for (int32_t j = 0; j < 4; j++) {
            w[j] = filter + (size_t)(u + TC_MIN(j, n - 1)) * depth;
            start[j] = (uint32_t)x_offset * (uint32_t)tc_mve_sum(w[j], depth) +
                       (uint32_t)tc_conv_bias(bias, u + TC_MIN(j, n - 1)) + both;
        }
        for (int32_t row = 0; row < input_dims->n; row++) {
            int32_t acc[4] = {0, 0, 0, 0};
            const int32_t x_sum = tc_mve_dot_1x4(input + (size_t)row * depth, w[0], w[1], w[2],
                                                 w[3], depth, acc);
            const uint32_t x_term = (uint32_t)w_offset * (uint32_t)x_sum;
            for (int32_t j = 0; j < n; j++) {
                output[(size_t)row * units + u + j] = tc_ort_requantize(
                    (int32_t)((uint32_t)acc[j] + start[j] + x_term),
                    quant->scale[quant->per_channel ? u + j : 0], params->output_offset,
                    &params->activation);
            }
        }
    }
#else
    for (int32_t row = 0; row < input_dims->n; row++) {
        const int8_t *x = input + (size_t)row * depth;
        for (int32_t u = 0; u < units; u++) {
            const int8_t *w = filter + (size_t)u * depth;
            int32_t acc = 0;
            for (int32_t d = 0; d < depth; d++) {
                acc += ((int32_t)x[d] + x_offset) * ((int32_t)w[d] + w_offset);
            }
            acc = tc_add_wrap(acc, tc_conv_bias(bias, u));
            output[(size_t)row * units + u] =
                tc_ort_requantize(acc, quant->scale[quant->per_channel ? u : 0],
                                  params->output_offset, &params->activation);
        }
    }
#endif
    return TC_OK;
}
