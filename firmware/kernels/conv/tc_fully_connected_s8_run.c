/*
 * tc_fully_connected_s8_run: the accumulate-and-store loop of both fully connected kernels
 * (either requantization), private to the family. Inner loops per ISA:
 *
 * Portable C: TFLite's reference loop.
 *
 * Armv7E-M DSP: two output units per pass over the input, the input widened once
 * (SXTB16 + SADD16 of the input offset) for both filter rows, two MACs per SMLAD. A
 * nonzero filter offset is added algebraically:
 * sum((f + fo) * (x + xo)) = sum(f * (x + xo)) + fo * sum(x + xo), exact in int32.
 *
 * Helium: four output units per pass over the input, 16 MACs per VMLADAVA, the tail under
 * a VCTP predicate. Offsets are applied algebraically:
 *   sum((f + fo) * (x + xo)) = sum(f * x) + xo * sum(f) + fo * sum(x) + depth * fo * xo
 * with the terms combined modulo 2^32, as the reference's int32 accumulator wraps, so the
 * result is the reference's exactly.
 */
#include "tc_conv_internal.h"

#if TC_ISA_DSP

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

#elif TC_ISA_MVE

#define UNITS 4

static inline void store_output(int8_t *out, uint32_t acc, int32_t u, const int32_t *bias,
                                const tc_fc_params *params, const tc_fc_requant *rq)
{
    out[u] = tc_fc_output(rq, params, (int32_t)(acc + (uint32_t)tc_conv_bias(bias, u)), u);
}

/* dot + xo * f_sum + the per-batch term fo * sum(x) + depth * fo * xo. */
static inline uint32_t with_offsets(int32_t dot, int32_t f_sum, int32_t input_offset,
                                    uint32_t batch_term)
{
    return (uint32_t)dot + (uint32_t)input_offset * (uint32_t)f_sum + batch_term;
}

#endif

void tc_fully_connected_s8_run(const tc_fc_params *params, const tc_fc_requant *rq,
                               const tc_dims *input_dims, const int8_t *input,
                               const tc_dims *filter_dims, const int8_t *filter,
                               const int32_t *bias, int8_t *output)
{
#if TC_ISA_DSP
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
#elif TC_ISA_MVE
    const int32_t depth = filter_dims->c;
    const int32_t units = filter_dims->n;
    const int32_t xo = params->input_offset;
    const int32_t fo = params->filter_offset;
    for (int32_t b = 0; b < input_dims->n; ++b) {
        const int8_t *x = input + b * depth;
        int8_t *out = output + b * units;
        const int32_t x_sum = tc_mve_sum(x, depth);
        const uint32_t batch_term =
            (uint32_t)fo * (uint32_t)x_sum + (uint32_t)depth * (uint32_t)fo * (uint32_t)xo;
        int32_t u = 0;
        for (; u + UNITS <= units; u += UNITS) {
            const int8_t *f0 = filter + u * depth;
            int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            for (int32_t k = 0; k < depth; k += 16) {
                const mve_pred16_t tail = vctp8q((uint32_t)(depth - k));
                const int8x16_t v = vldrbq_z_s8(x + k, tail);
                const int8x16_t w0 = vldrbq_z_s8(f0 + k, tail);
                const int8x16_t w1 = vldrbq_z_s8(f0 + depth + k, tail);
                const int8x16_t w2 = vldrbq_z_s8(f0 + 2 * depth + k, tail);
                const int8x16_t w3 = vldrbq_z_s8(f0 + 3 * depth + k, tail);
                a0 = vmladavaq_s8(a0, w0, v);
                a1 = vmladavaq_s8(a1, w1, v);
                a2 = vmladavaq_s8(a2, w2, v);
                a3 = vmladavaq_s8(a3, w3, v);
                s0 = vaddvaq_s8(s0, w0);
                s1 = vaddvaq_s8(s1, w1);
                s2 = vaddvaq_s8(s2, w2);
                s3 = vaddvaq_s8(s3, w3);
            }
            store_output(out, with_offsets(a0, s0, xo, batch_term), u, bias, params, rq);
            store_output(out, with_offsets(a1, s1, xo, batch_term), u + 1, bias, params, rq);
            store_output(out, with_offsets(a2, s2, xo, batch_term), u + 2, bias, params, rq);
            store_output(out, with_offsets(a3, s3, xo, batch_term), u + 3, bias, params, rq);
        }
        for (; u < units; ++u) {
            int32_t acc[UNITS] = {0, 0, 0, 0};
            const int8_t *f = filter + u * depth;
            /* One row: its sum comes back from the dot product with it as "a". */
            const int32_t f_sum = tc_mve_dot_1x4(f, x, x, x, x, depth, acc);
            store_output(out, with_offsets(acc[0], f_sum, xo, batch_term), u, bias, params, rq);
        }
    }
#else
    const int32_t depth = filter_dims->c;
    const int32_t units = filter_dims->n;
    for (int32_t b = 0; b < input_dims->n; ++b) {
        const int8_t *in = input + b * depth;
        for (int32_t u = 0; u < units; ++u) {
            const int8_t *f = filter + u * depth;
            int32_t acc = 0;
            for (int32_t k = 0; k < depth; ++k) {
                acc += (f[k] + params->filter_offset) * (in[k] + params->input_offset);
            }
            acc += tc_conv_bias(bias, u);
            output[b * units + u] = tc_fc_output(rq, params, acc, u);
        }
    }
#endif
}
