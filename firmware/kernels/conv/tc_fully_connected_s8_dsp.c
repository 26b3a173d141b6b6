/*
 * The fully connected loop (both requantizations) for Armv7E-M DSP: two output units per
 * pass over the input, the input widened once (SXTB16 + SADD16 of the input offset) for
 * both filter rows, two MACs per SMLAD. A nonzero filter offset is added algebraically:
 * sum((f + fo) * (x + xo)) = sum(f * (x + xo)) + fo * sum(x + xo), exact in int32.
 */
#include "tc_conv_internal.h"

#if TC_CONV_DSP

#include "tc_conv_dsp.h"

static void dot_2(const int8_t *f0, const int8_t *f1, const int8_t *x, int32_t depth,
                  int32_t input_offset, int32_t *acc0, int32_t *acc1)
{
    const int32_t offsets = tc_dup16(input_offset);
    int32_t a0 = 0, a1 = 0;
    int32_t k = 0;
    for (; k + 4 <= depth; k += 4) {
        const int32_t v = tc_read_s32(x + k);
        const int32_t xe = tc_sadd16(tc_sxtb16_even(v), offsets);
        const int32_t xo = tc_sadd16(tc_sxtb16_odd(v), offsets);
        const int32_t w0 = tc_read_s32(f0 + k), w1 = tc_read_s32(f1 + k);
        a0 = tc_smlad(tc_sxtb16_even(w0), xe, a0);
        a0 = tc_smlad(tc_sxtb16_odd(w0), xo, a0);
        a1 = tc_smlad(tc_sxtb16_even(w1), xe, a1);
        a1 = tc_smlad(tc_sxtb16_odd(w1), xo, a1);
    }
    for (; k < depth; ++k) {
        const int32_t in = x[k] + input_offset;
        a0 += f0[k] * in;
        a1 += f1[k] * in;
    }
    *acc0 = a0;
    *acc1 = a1;
}

static int32_t dot_1(const int8_t *f, const int8_t *x, int32_t depth, int32_t input_offset)
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

static inline void store_output(int8_t *out, int32_t acc, int32_t u, const int32_t *bias,
                                const tc_fc_params *params, const tc_fc_requant *rq)
{
    out[u] = tc_fc_output(rq, params, acc + tc_conv_bias(bias, u), u);
}

void tc_fully_connected_s8_run(const tc_fc_params *params, const tc_fc_requant *rq,
                               const tc_dims *input_dims, const int8_t *input,
                               const tc_dims *filter_dims, const int8_t *filter,
                               const int32_t *bias, int8_t *output)
{
    const int32_t depth = filter_dims->c;
    const int32_t units = filter_dims->n;
    const int32_t input_offset = params->input_offset;
    for (int32_t b = 0; b < input_dims->n; ++b) {
        const int8_t *x = input + b * depth;
        int8_t *out = output + b * units;
        int32_t filter_offset_term = 0;
        if (params->filter_offset != 0) {
            int32_t x_sum = 0;
            for (int32_t k = 0; k < depth; ++k) {
                x_sum += x[k] + input_offset;
            }
            filter_offset_term = params->filter_offset * x_sum;
        }
        int32_t u = 0;
        for (; u + 2 <= units; u += 2) {
            int32_t acc0, acc1;
            const int8_t *f0 = filter + u * depth;
            dot_2(f0, f0 + depth, x, depth, input_offset, &acc0, &acc1);
            store_output(out, acc0 + filter_offset_term, u, bias, params, rq);
            store_output(out, acc1 + filter_offset_term, u + 1, bias, params, rq);
        }
        if (u < units) {
            store_output(out, dot_1(filter + u * depth, x, depth, input_offset) +
                                  filter_offset_term, u, bias, params, rq);
        }
    }
}

#endif /* TC_CONV_DSP */
