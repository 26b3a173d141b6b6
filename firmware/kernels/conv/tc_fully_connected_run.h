/*
 * Private to the two fully connected kernels: their accumulate-and-store loop, included
 * by each (tc_fully_connected_s8.c, tc_fully_connected_f64_s8.c) with TC_FC_F64 set to
 * its requantization, so a model links only the one it uses. Arguments are already
 * checked.
 *
 * Portable C: TFLite's reference loop.
 *
 * Armv7E-M DSP: four output units per pass over the input (tc_fc_dot_4; layers of one or
 * two units tc_fc_dot_2). Each input word is widened once for the four filter rows,
 * the input offset added in the same instruction (SXTAB16), two MACs per SMLAD: 16 MACs
 * cost 5 loads, 2 SXTAB16, 8 SXTB16 and 8 SMLAD. A nonzero filter offset is added
 * algebraically: sum((f + fo) * (x + xo)) = sum(f * (x + xo)) + fo * sum(x + xo), exact
 * in int32.
 *
 * Helium: two output units per pass (tc_fc_dot_2), 16 MACs per VMLADAVA, the tail under a
 * VCTP predicate; the requantization four units at a time. Offsets are applied
 * algebraically:
 *   sum((f + fo) * (x + xo)) = sum(f * x) + xo * sum(f) + fo * sum(x) + depth * fo * xo
 * with the terms combined modulo 2^32, as the reference's int32 accumulator wraps, so the
 * result is the reference's exactly.
 *
 * Accumulators of up to 32 units are requantized together (tc_fc_store_n). The double
 * requantization takes a 32-bit fast path (tc_fc_round_scaled_fast) whenever it provably
 * gives tc_round_scaled_f64's result, which is almost always; the rest after the loop.
 */
#ifndef TC_FULLY_CONNECTED_RUN_H
#define TC_FULLY_CONNECTED_RUN_H

#include "tc_conv_internal.h"

/*
 * The double requantization's fast path: tc_round_scaled_f64(acc, m, e) =
 * round(fl(acc * m * 2^-e)), fl the double product, in 32-bit arithmetic where that
 * provably gives the same result; returns 0 where the exact routine must decide.
 * For 0 <= m < 2^53 and r = e - 54 in [1, 31] (scales below 1/4), with R = r + 32:
 * - P = acc * floor(m / 2^22) (one SMULL, |P| < 2^62) differs from acc * m / 2^22 by less
 *   than |acc| <= 2^31, and the double product from the exact one by a relative 2^-53,
 *   less than 2^9 of P's units: the double product / 2^22 lies within 2^32 of P.
 * - round() is floor(x + 1/2) except at exact halves: q = floor((fl / 2^22 + 2^(R-1)) /
 *   2^R). With t = P + 2^(R-1), whose high word is hi(P) + 2^(r-1), all values within
 *   2^32 of t give t >> R unless a multiple of 2^R lies within 2^32 of t, that is unless
 *   bits r-1..0 of t's high word are all 0 or all 1 (an exact half is such a case).
 * |q| < 2^30, so the int32 conversion never overflows on the fast path.
 */
static inline int tc_fc_round_scaled_fast(int32_t acc, int64_t mantissa, int32_t exponent,
                                          int32_t *scaled)
{
    const int32_t r = exponent - 54;
    if ((uint32_t)(r - 1) < 31u) {
        const int32_t m = (int32_t)((uint64_t)mantissa >> 22);
        const int32_t t = (int32_t)(((int64_t)acc * m) >> 32) + (1 << (r - 1));
        const uint32_t mask = (1u << r) - 1u;
        *scaled = t >> r;
        return (((uint32_t)t + 1u) & mask) > 1u;
    }
    return 0;
}

/* Requantization per unit: the double scale (TC_FC_F64, the including kernel's choice) or
 * TFLite's fixed-point multiplier. */
#if TC_FC_F64
typedef tc_f64_scale_params tc_fc_scale;
#else
typedef tc_per_channel_quant_params tc_fc_scale;
#endif

/* Add the output zero point, clamp. */
static inline int8_t tc_fc_output_s8(const tc_fc_params *params, int32_t scaled)
{
    return tc_clamp_s8(tc_add_wrap(scaled, params->output_offset), params->activation);
}

/* The exact requantization of one unit, out of the hot loops. */
static __attribute__((noinline, cold, unused)) int8_t tc_fc_store_exact(
    const tc_fc_params *params, const tc_fc_scale *scale, int32_t acc, int32_t u)
{
#if TC_FC_F64
    return tc_fc_output_s8(params,
                           tc_round_scaled_f64(acc, scale->mantissa[u], scale->exponent[u]));
#else
    return tc_fc_output_s8(params, tc_requantize(acc, scale->multiplier[u], scale->shift[u]));
#endif
}

#if TC_ISA_DSP
/* One input word (4 bytes, the offset added) times the next word of each of the four rows:
 * 5 LDR, 2 SXTAB16, 8 SXTB16 and 8 SMLAD. */
#define TC_FC_ROW_STEP(acc, load)                                                        \
    load "\n\t"                                                                        \
    "sxtb16 %[t], %[w]\n\t"                                                             \
    "smlad %[" acc "], %[t], %[xe], %[" acc "]\n\t"                                     \
    "sxtb16 %[w], %[w], ror #8\n\t"                                                     \
    "smlad %[" acc "], %[w], %[v], %[" acc "]\n\t"
#define TC_FC_DOT_STEP                                                                   \
    "ldr %[v], [%[x]], #4\n\t"                                                          \
    "sxtab16 %[xe], %[off], %[v]\n\t"                                                   \
    "sxtab16 %[v], %[off], %[v], ror #8\n\t"                                            \
    TC_FC_ROW_STEP("a1", "ldr %[w], [%[p], %[d]]")                                       \
    TC_FC_ROW_STEP("a0", "ldr %[w], [%[p]], #4")                                         \
    TC_FC_ROW_STEP("a3", "ldr %[w], [%[q], %[d]]")                                       \
    TC_FC_ROW_STEP("a2", "ldr %[w], [%[q]], #4")

/* acc = sum_k f_i[k] * (x[k] + offset) for two filter rows (layers of one or two units):
 * 16 MACs cost 10 loads, 4 SXTAB16, 8 SXTB16 and 8 SMLAD. */
static __attribute__((noinline, unused)) void tc_fc_dot_2(const int8_t *f0, const int8_t *f1,
                                                          const int8_t *x, int32_t depth,
                                                          int32_t offset, int32_t acc[2])
{
    const int32_t offsets = tc_dup16(offset);
    int32_t a0 = 0, a1 = 0;
    int32_t k = 0;
    for (; k + 4 <= depth; k += 4) {
        const int32_t v = tc_read_s32(x + k);
        const int32_t xe = tc_sxtab16_even(offsets, v), xo = tc_sxtab16_odd(offsets, v);
        const int32_t w0 = tc_read_s32(f0 + k), w1 = tc_read_s32(f1 + k);
        a0 = tc_smlad(tc_sxtb16_even(w0), xe, a0);
        a0 = tc_smlad(tc_sxtb16_odd(w0), xo, a0);
        a1 = tc_smlad(tc_sxtb16_even(w1), xe, a1);
        a1 = tc_smlad(tc_sxtb16_odd(w1), xo, a1);
    }
    for (; k < depth; ++k) {
        const int32_t in = x[k] + offset;
        a0 += f0[k] * in;
        a1 += f1[k] * in;
    }
    acc[0] = a0;
    acc[1] = a1;
}

/* acc = sum_k f[k] * (x[k] + offset) for the four filter rows p, p + d, q, q + d (rows
 * addressed in pairs: the loop's values fit in 14 registers). Not inlined, so that the
 * registers are its own. */
static __attribute__((noinline, unused)) void tc_fc_dot_4(const int8_t *p, const int8_t *q,
                                                          int32_t d, const int8_t *x,
                                                          int32_t depth, int32_t offset,
                                                          int32_t acc[4])
{
    const int32_t offsets = tc_dup16(offset);
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    const int8_t *const end = x + (depth & ~3);
    if (x < end) {
        /* Two words per iteration, 24 instructions per 16 MACs; an odd number of words
         * enters at the second. In assembly: GCC's schedule of the same code needs more
         * registers than there are and spills. */
        int32_t v, xe, w, t = (depth >> 2) & 1;
        __asm__ volatile("cmp %[t], #0\n\t"
                         "bne 2f\n\t"
                         "1:\n\t" TC_FC_DOT_STEP "2:\n\t" TC_FC_DOT_STEP
                         "cmp %[x], %[end]\n\t"
                         "blo 1b"
                         : [x] "+r"(x), [p] "+r"(p), [q] "+r"(q), [a0] "+r"(a0),
                           [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [v] "=&r"(v),
                           [xe] "=&r"(xe), [w] "=&r"(w), [t] "+&r"(t)
                         : [d] "r"(d), [off] "r"(offsets), [end] "r"(end)
                         : "cc", "memory");
    }
    for (int32_t k = 0; k < (depth & 3); ++k) {
        const int32_t in = x[k] + offset;
        a0 += p[k] * in;
        a1 += p[d + k] * in;
        a2 += q[k] * in;
        a3 += q[d + k] * in;
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}
#endif

#if TC_ISA_MVE
/* acc[i] = sum_k f_i[k] * x[k] and sums[i] = sum_k f_i[k] for two filter rows: 16 MACs
 * per VMLADAVA, then one tail under a VCTP predicate. Two rows a pass keep the loop's values in
 * registers (VMLADAVA and VADDVA accumulate into even registers only). */
static __attribute__((noinline)) void tc_fc_dot_2(const int8_t *f0, const int8_t *f1,
                                                  const int8_t *x, int32_t depth,
                                                  int32_t *acc, int32_t *sums)
{
    int32_t a0 = 0, a1 = 0, s0 = 0, s1 = 0;
    const int32_t k = depth & ~15;
    for (const int8_t *const end = x + k; x < end; x += 16, f0 += 16, f1 += 16) {
        const int8x16_t v = vldrbq_s8(x);
        const int8x16_t w0 = vldrbq_s8(f0);
        const int8x16_t w1 = vldrbq_s8(f1);
        a0 = vmladavaq_s8(a0, w0, v);
        a1 = vmladavaq_s8(a1, w1, v);
        s0 = vaddvaq_s8(s0, w0);
        s1 = vaddvaq_s8(s1, w1);
    }
    if (k < depth) {
        const mve_pred16_t tail = vctp8q((uint32_t)(depth - k));
        const int8x16_t v = vldrbq_z_s8(x, tail);
        const int8x16_t w0 = vldrbq_z_s8(f0, tail);
        const int8x16_t w1 = vldrbq_z_s8(f1, tail);
        a0 = vmladavaq_s8(a0, w0, v);
        a1 = vmladavaq_s8(a1, w1, v);
        s0 = vaddvaq_s8(s0, w0);
        s1 = vaddvaq_s8(s1, w1);
    }
    acc[0] = a0;
    acc[1] = a1;
    sums[0] = s0;
    sums[1] = s1;
}

/* The same for the four filter rows p, p + d, q, q + d. */
static inline void tc_fc_dot_4(const int8_t *p, const int8_t *q, int32_t d, const int8_t *x,
                               int32_t depth, int32_t acc[4], int32_t sums[4])
{
    tc_fc_dot_2(p, p + d, x, depth, acc, sums);
    tc_fc_dot_2(q, q + d, x, depth, acc + 2, sums + 2);
}
#endif

/* What storing a unit's output needs, fixed for one batch. */
typedef struct {
    const tc_fc_params *params;
    const tc_fc_scale *scale;
    const int32_t *bias;
    int8_t *out;
    uint32_t batch_term; /* added to every unit's accumulator (filter offset terms) */
} tc_fc_out;

/* Outputs of the n <= 32 units from `first` on (accumulators acc[0..n-1]; for Helium
 * sums[0..n-1] are the rows' filter sums, times the input offset). The double
 * requantization's rare exact cases are done after the loop, so that the loop calls
 * nothing and keeps its values in registers. Not inlined, for the same reason. */
static __attribute__((noinline, unused)) void tc_fc_store_n(const tc_fc_out *o,
                                                            const int32_t *acc,
                                                            const int32_t *sums,
                                                            int32_t first, int32_t n)
{
    (void)sums;
    /* Local copies: the byte stores could alias the structs. */
    const tc_fc_params params = *o->params;
    const tc_fc_scale scale = *o->scale;
    const int32_t *bias = o->bias;
    const uint32_t batch_term = o->batch_term;
    int8_t *out = o->out;
    int32_t exact[32]; /* units left to the exact routine */
    int32_t exacts = 0;
    int32_t i = 0;
#if TC_ISA_MVE && TC_FC_F64
    /* tc_fc_round_scaled_fast on four units per pass: VMULH is the high word of the
     * product, VSHL by lanes the per-unit shifts (negative: arithmetic right shift); the
     * mantissas' words deinterleaved by VLD2. Lanes the fast path refuses go to exact[]. */
    const int32x4_t one = vdupq_n_s32(1);
    for (; i + 4 <= n; i += 4) {
        const int32_t u = first + i;
        int32x4_t total = vaddq_n_s32(vldrwq_s32(acc + i), (int32_t)batch_term);
        if (bias != NULL) {
            total = vaddq_s32(total, vldrwq_s32(bias + u));
        }
        total = vmlaq_n_s32(total, vldrwq_s32(sums + i), params.input_offset);
        const int32x4_t r = vsubq_n_s32(vldrwq_s32(scale.exponent + u), 54);
        const int32x4x2_t words = vld2q_s32((const int32_t *)(scale.mantissa + u));
        const uint32x4_t m = vsliq_n_u32(vshrq_n_u32(vreinterpretq_u32_s32(words.val[0]), 22),
                                         vreinterpretq_u32_s32(words.val[1]), 10);
        const int32x4_t t = vaddq_s32(vmulhq_s32(total, vreinterpretq_s32_u32(m)),
                                      vshlq_s32(one, vsubq_n_s32(r, 1)));
        const uint32x4_t mask = vreinterpretq_u32_s32(vsubq_n_s32(vshlq_s32(one, r), 1));
        const mve_pred16_t fast =
            vcmphiq_n_u32(vandq_u32(vreinterpretq_u32_s32(vaddq_n_s32(t, 1)), mask), 1u) &
            (mve_pred16_t)~vcmphiq_n_u32(vreinterpretq_u32_s32(vsubq_n_s32(r, 1)), 30u);
        int32x4_t y = vaddq_n_s32(vshlq_s32(t, vnegq_s32(r)), params.output_offset);
        y = vminq_s32(vmaxq_s32(y, vdupq_n_s32(params.activation.min)),
                      vdupq_n_s32(params.activation.max));
        vstrbq_p_s32(out + u, y, fast);
        for (int32_t k = 0; k < 4; ++k) {
            if (!(fast & (1u << (4 * k)))) {
                exact[exacts++] = i + k;
            }
        }
    }
#endif
    for (; i < n; ++i) {
        const int32_t u = first + i;
        uint32_t total = (uint32_t)acc[i] + batch_term;
        if (bias != NULL) {
            total += (uint32_t)bias[u];
        }
#if TC_ISA_MVE
        total += (uint32_t)params.input_offset * (uint32_t)sums[i];
#endif
#if TC_FC_F64
        int32_t scaled;
        if (!tc_fc_round_scaled_fast((int32_t)total, scale.mantissa[u], scale.exponent[u],
                                     &scaled)) {
            exact[exacts++] = i;
            continue;
        }
#else
        const int32_t scaled =
            tc_requantize((int32_t)total, scale.multiplier[u], scale.shift[u]);
#endif
        out[u] = tc_fc_output_s8(&params, scaled);
    }
    while (exacts > 0) {
        const int32_t i = exact[--exacts], u = first + i;
        uint32_t total = (uint32_t)acc[i] + batch_term + (uint32_t)tc_conv_bias(bias, u);
#if TC_ISA_MVE
        total += (uint32_t)params.input_offset * (uint32_t)sums[i];
#endif
        out[u] = tc_fc_store_exact(&params, &scale, (int32_t)total, u);
    }
}

static inline __attribute__((always_inline)) void tc_fc_run(
    const tc_fc_params *params, const tc_fc_scale *scale, const tc_dims *input_dims,
    const int8_t *input, const tc_dims *filter_dims, const int8_t *filter,
    const int32_t *bias, int8_t *output)
{
    const int32_t depth = filter_dims->c;
    const int32_t units = filter_dims->n;
    const int32_t xo = params->input_offset;
    const int32_t fo = params->filter_offset;
    for (int32_t b = 0; b < input_dims->n; ++b) {
        const int8_t *x = input + b * depth;
        int8_t *out = output + b * units;
#if TC_ISA_DSP || TC_ISA_MVE
#if TC_ISA_DSP
        /* fo * sum(x + xo), added to every unit. */
        uint32_t batch_term = 0;
        if (fo != 0) {
            int32_t x_sum = 0;
            for (int32_t k = 0; k < depth; ++k) {
                x_sum += x[k] + xo;
            }
            batch_term = (uint32_t)fo * (uint32_t)x_sum;
        }
#else
        /* fo * sum(x) + depth * fo * xo, added to every unit. */
        const uint32_t batch_term = (uint32_t)fo * (uint32_t)tc_mve_sum(x, depth) +
                                    (uint32_t)depth * (uint32_t)fo * (uint32_t)xo;
#endif
        const tc_fc_out o = {params, scale, bias, out, batch_term};
        /* Accumulators of up to 32 units, requantized together. */
        int32_t acc[32];
#if TC_ISA_MVE
        int32_t sums[32];
#else
        int32_t *const sums = NULL;
#endif
        int32_t stored = 0; /* units before this are out */
        for (int32_t u = 0; u < units; u += 4) {
            /* Four rows first, first + step, second, second + step: units u..u+3, or for
             * the last, partial group the last four units (recomputed ones store the same
             * bytes), or with fewer than four units rows 0, 1, 1, 2 / 0, 1, 0, 1 / 0. */
            int32_t first = u, second = u + 2, step = 1;
            if (u + 4 > units) {
                tc_fc_store_n(&o, acc, sums, stored, u - stored);
                first = units >= 4 ? units - 4 : 0;
                second = units >= 3 ? units - 2 : 0;
                step = units >= 2 ? 1 : 0;
                stored = first;
            }
            int32_t *const a = acc + (first - stored);
#if TC_ISA_DSP
            if (units < 3) { /* one or two rows: not four, two of them repeated */
                tc_fc_dot_2(filter, filter + (units - 1) * depth, x, depth, xo, a);
            } else {
                tc_fc_dot_4(filter + first * depth, filter + second * depth, step * depth, x,
                            depth, xo, a);
            }
#else
            int32_t *const s = sums + (first - stored);
            tc_fc_dot_4(filter + first * depth, filter + second * depth, step * depth, x,
                        depth, a, s);
#endif
            if (units == 3) { /* rows 0, 1, 1, 2 */
                a[2] = a[3];
#if TC_ISA_MVE
                s[2] = s[3];
#endif
            }
            const int32_t done = first + (units < 4 ? units : 4);
            if (done - stored == 32 || done == units) {
                tc_fc_store_n(&o, acc, sums, stored, done - stored);
                stored = done;
            }
        }
#else
        for (int32_t u = 0; u < units; ++u) {
            const int8_t *f = filter + u * depth;
            int32_t acc = 0;
            for (int32_t k = 0; k < depth; ++k) {
                acc += (f[k] + fo) * (x[k] + xo);
            }
            acc = tc_add_wrap(acc, tc_conv_bias(bias, u));
#if TC_FC_F64
            int32_t scaled;
            out[u] = tc_fc_round_scaled_fast(acc, scale->mantissa[u], scale->exponent[u], &scaled)
                         ? tc_fc_output_s8(params, scaled)
                         : tc_fc_store_exact(params, scale, acc, u);
#else
            out[u] = tc_fc_store_exact(params, scale, acc, u);
#endif
        }
#endif
    }
}

#endif /* TC_FULLY_CONNECTED_RUN_H */
