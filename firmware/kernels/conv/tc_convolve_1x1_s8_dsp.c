/*
 * tc_convolve_1x1_s8 for Armv7E-M DSP: a GEMM straight from the NHWC input (each pixel's
 * channels are contiguous), two pixels x two output channels per inner loop. Input bytes
 * are widened with SXTB16 and get the input offset with SADD16; filter bytes are widened
 * the same way, so lanes pair up and each SMLAD does two MACs. No scratch.
 */
#include "tc_conv_internal.h"

#if TC_CONV_DSP

#include "tc_conv_dsp.h"

/* Rows x0, x1 (pixels) against rows f0, f1 (channels): acc[channel][pixel]. */
static void dot_2x2(const int8_t *f0, const int8_t *f1, const int8_t *x0, const int8_t *x1,
                    int32_t depth, int32_t input_offset, int32_t acc[2][2])
{
    const int32_t offsets = tc_dup16(input_offset);
    int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
    int32_t k = 0;
    for (; k + 4 <= depth; k += 4) {
        const int32_t v0 = tc_read_s32(x0 + k), v1 = tc_read_s32(x1 + k);
        const int32_t x0e = tc_sadd16(tc_sxtb16_even(v0), offsets);
        const int32_t x0o = tc_sadd16(tc_sxtb16_odd(v0), offsets);
        const int32_t x1e = tc_sadd16(tc_sxtb16_even(v1), offsets);
        const int32_t x1o = tc_sadd16(tc_sxtb16_odd(v1), offsets);
        const int32_t w0 = tc_read_s32(f0 + k), w1 = tc_read_s32(f1 + k);
        const int32_t f0e = tc_sxtb16_even(w0), f0o = tc_sxtb16_odd(w0);
        const int32_t f1e = tc_sxtb16_even(w1), f1o = tc_sxtb16_odd(w1);
        a00 = tc_smlad(f0e, x0e, a00);
        a00 = tc_smlad(f0o, x0o, a00);
        a01 = tc_smlad(f0e, x1e, a01);
        a01 = tc_smlad(f0o, x1o, a01);
        a10 = tc_smlad(f1e, x0e, a10);
        a10 = tc_smlad(f1o, x0o, a10);
        a11 = tc_smlad(f1e, x1e, a11);
        a11 = tc_smlad(f1o, x1o, a11);
    }
    for (; k < depth; ++k) {
        const int32_t in0 = x0[k] + input_offset, in1 = x1[k] + input_offset;
        a00 += f0[k] * in0;
        a01 += f0[k] * in1;
        a10 += f1[k] * in0;
        a11 += f1[k] * in1;
    }
    acc[0][0] = a00;
    acc[0][1] = a01;
    acc[1][0] = a10;
    acc[1][1] = a11;
}

static int32_t dot_1x1(const int8_t *f, const int8_t *x, int32_t depth, int32_t input_offset)
{
    const int32_t offsets = tc_dup16(input_offset);
    int32_t acc = 0;
    int32_t k = 0;
    for (; k + 4 <= depth; k += 4) {
        const int32_t v = tc_read_s32(x + k), w = tc_read_s32(f + k);
        acc = tc_smlad(tc_sxtb16_even(w), tc_sadd16(tc_sxtb16_even(v), offsets), acc);
        acc = tc_smlad(tc_sxtb16_odd(w), tc_sadd16(tc_sxtb16_odd(v), offsets), acc);
    }
    for (; k < depth; ++k) {
        acc += f[k] * (x[k] + input_offset);
    }
    return acc;
}

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
    for (; p + 2 <= pixels; p += 2) {
        const int8_t *x0 = input + p * depth;
        int8_t *out0 = output + p * out_c;
        int8_t *out1 = out0 + out_c;
        int32_t oc = 0;
        for (; oc + 2 <= out_c; oc += 2) {
            int32_t acc[2][2];
            const int8_t *f0 = filter + oc * depth;
            dot_2x2(f0, f0 + depth, x0, x0 + depth, depth, offset, acc);
            store_output(out0, acc[0][0], oc, bias, params, quant);
            store_output(out1, acc[0][1], oc, bias, params, quant);
            store_output(out0, acc[1][0], oc + 1, bias, params, quant);
            store_output(out1, acc[1][1], oc + 1, bias, params, quant);
        }
        if (oc < out_c) {
            const int8_t *f = filter + oc * depth;
            store_output(out0, dot_1x1(f, x0, depth, offset), oc, bias, params, quant);
            store_output(out1, dot_1x1(f, x0 + depth, depth, offset), oc, bias, params, quant);
        }
    }
    if (p < pixels) {
        for (int32_t oc = 0; oc < out_c; ++oc) {
            store_output(output + p * out_c,
                         dot_1x1(filter + oc * depth, input + p * depth, depth, offset), oc,
                         bias, params, quant);
        }
    }
    return TC_OK;
}

#endif /* TC_CONV_DSP */
