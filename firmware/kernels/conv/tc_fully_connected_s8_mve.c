/*
 * The fully connected loop (both requantizations) for Helium: four output units per pass
 * over the input, 16 MACs per VMLADAVA, the tail under a VCTP predicate.
 * Offsets are applied algebraically:
 *   sum((f + fo) * (x + xo)) = sum(f * x) + xo * sum(f) + fo * sum(x) + depth * fo * xo
 * with the terms combined modulo 2^32, as the reference's int32 accumulator wraps, so the
 * result is the reference's exactly.
 */
#include "tc_conv_internal.h"

#if TC_CONV_MVE

#include "tc_conv_mve.h"

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

void tc_fully_connected_s8_run(const tc_fc_params *params, const tc_fc_requant *rq,
                               const tc_dims *input_dims, const int8_t *input,
                               const tc_dims *filter_dims, const int8_t *filter,
                               const int32_t *bias, int8_t *output)
{
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
}

#endif /* TC_CONV_MVE */
