/*
 * tc_convolve_1x1_s8: a 1x1, stride 1, ungrouped CONV_2D is a GEMM,
 * output[pixel][oc] = sum_ic filter[oc][ic] * (input[pixel][ic] + input_offset) + bias[oc],
 * requantized per output channel exactly like tc_convolve_s8; straight from the NHWC
 * input (each pixel's channels are contiguous), no scratch. Inner loops per ISA:
 *
 * Portable C: the plain GEMM.
 *
 * Armv7E-M DSP: two pixels x two output channels per inner loop (SXTB16 widening, two
 * MACs per SMLAD; 16 MACs cost 4 LDR, 8 SXTB16 and 8 SMLAD), the second pixel and
 * filter row addressed from the first by one register offset (depth) so the loop keeps
 * every value in registers; an odd last pixel or channel goes one row at a time. Per output
 * channel, once per call: bias + input_offset * sum(filter row) as the accumulators' start
 * (just the bias where the code generator folded the offset into it: input_offset 0),
 * and the narrow requantization's constants (tc_requantize_narrow: five instructions per
 * output, the output offset included). Layers the code generator did not mark narrow
 * (tc_quant_narrow) take the portable loop.
 *
 * Helium: one filter row against four pixel rows per pass (tc_mve_dot_1x4: 16 bytes per
 * VMLADAVA, the tail under a VCTP predicate). The input offset is applied once per dot
 * product: sum(f * (x + offset)) = sum(f * x) + offset * sum(f), exact in int32; the four
 * pixels of a channel are requantized as one vector and scattered (tc_conv_store_4px).
 */
#include "tc_conv_internal.h"

#if TC_ISA_MVE
#define PIXELS 4
#endif

#if !TC_ISA_MVE
/* The plain GEMM: the portable kernel, and the DSP kernel's fallback. */
static void convolve_1x1_plain(const tc_conv_params *params,
                               const tc_per_channel_quant_params *quant, int32_t pixels,
                               int32_t depth, const int8_t *input, const int8_t *filter,
                               const int32_t *bias, int32_t out_c, int8_t *output)
{
    for (int32_t p = 0; p < pixels; ++p) {
        const int8_t *in = input + p * depth;
        for (int32_t oc = 0; oc < out_c; ++oc) {
            const int8_t *f = filter + oc * depth;
            int32_t acc = 0;
            for (int32_t k = 0; k < depth; ++k) {
                acc += f[k] * (in[k] + params->input_offset);
            }
            acc = tc_add_wrap(acc, tc_conv_bias(bias, oc));
            output[p * out_c + oc] = tc_conv_output(acc, quant->multiplier[oc], quant->shift[oc],
                                                    params->output_offset, params->activation);
        }
    }
}

#endif

#if TC_ISA_DSP
/* One output channel: the accumulators' start (bias + input_offset * sum(row), modulo
 * 2^32 like the reference's int32 sum) and its requantization. */
typedef struct {
    int32_t start;
    tc_rq_narrow rq;
} pw_channel;

static inline pw_channel pw_channel_of(const tc_conv_params *params,
                                       const tc_per_channel_quant_params *quant,
                                       const int8_t *row, int32_t depth, const int32_t *bias,
                                       int32_t oc)
{
    pw_channel ch;
    ch.start = tc_conv_bias(bias, oc);
    if (params->input_offset != 0) { /* 0 where the generator folded it into the bias */
        ch.start = (int32_t)((uint32_t)ch.start +
                             (uint32_t)params->input_offset * (uint32_t)tc_dsp_sum(row, depth));
    }
    ch.rq = tc_rq_narrow_of(quant->multiplier[oc], quant->shift[oc], params->output_offset);
    return ch;
}

/* The four outputs of a 2x2 tile: (pixel 0, channels 0 and 1) at out, pixel 1 at
 * out + out_c. A layer without a clamp inside int8 (`saturate_only`: the output range
 * covers the activation's, the usual case) saturates with one SSAT per output. */
static inline void pw_store_2x2(int32_t a00, int32_t a01, int32_t a10, int32_t a11,
                                const tc_rq_narrow *rq0, const tc_rq_narrow *rq1, int8_t *out,
                                int32_t out_c, tc_activation act, int saturate_only)
{
    const int32_t v00 = tc_requantize_narrow(a00, rq0);
    const int32_t v10 = tc_requantize_narrow(a10, rq1);
    const int32_t v01 = tc_requantize_narrow(a01, rq0);
    const int32_t v11 = tc_requantize_narrow(a11, rq1);
    if (saturate_only) {
        out[0] = (int8_t)__ssat(v00, 8);
        out[1] = (int8_t)__ssat(v10, 8);
        out[out_c] = (int8_t)__ssat(v01, 8);
        out[out_c + 1] = (int8_t)__ssat(v11, 8);
    } else {
        out[0] = tc_clamp_s8(v00, act);
        out[1] = tc_clamp_s8(v10, act);
        out[out_c] = tc_clamp_s8(v01, act);
        out[out_c + 1] = tc_clamp_s8(v11, act);
    }
}

/*
 * Filter rows f0 and f0 + depth against pixels x and x + depth, pairs of pixels at a time
 * (`pixels` even); writes channels 0 and 1 of each output pixel. One register offset
 * (depth) reaches the second row and the second pixel, so the inner loop's 14 values fit
 * in the registers.
 */
static __attribute__((noinline)) void pw_2x2(const int8_t *input, int32_t pixels,
                                             int32_t depth, const int8_t *f0,
                                             const pw_channel ch[2], int8_t *out, int32_t out_c,
                                             tc_activation act)
{
#if defined(__OPTIMIZE__)
    const int32_t words = depth >> 2;
    const int32_t rest = depth & 3;
#endif
    /* Loop invariants as locals: spilled, they reload with one LDR from the stack. */
    const tc_rq_narrow rq0 = ch[0].rq, rq1 = ch[1].rq;
    const int32_t start0 = ch[0].start, start1 = ch[1].start;
    const int saturate_only = act.min == INT8_MIN && act.max == INT8_MAX;
    const int8_t *const end = input + pixels * depth;
    for (; input < end; input += 2 * depth, out += 2 * out_c) {
        int32_t a00 = start0, a01 = start0, a10 = start1, a11 = start1;
        const int8_t *x = input, *f = f0;
#if defined(__OPTIMIZE__)
        if (words > 0) {
            /* 16 MACs per iteration: 4 LDR, 8 SXTB16, 8 SMLAD, SUBS, BNE. In assembly because
             * GCC 12 spills one of the 14 values the loop needs (unoptimized builds keep a
             * frame pointer, leaving too few registers: the C loop below). */
            int32_t n = words, w0, w1, fe0, fe1, v, xe;
            __asm__ volatile(
                "1:\n\t"
                "ldr %[w1], [%[f], %[d]]\n\t"
                "ldr %[w0], [%[f]], #4\n\t"
                "sxtb16 %[fe0], %[w0]\n\t"
                "sxtb16 %[w0], %[w0], ror #8\n\t"
                "sxtb16 %[fe1], %[w1]\n\t"
                "sxtb16 %[w1], %[w1], ror #8\n\t"
                "ldr %[v], [%[x], %[d]]\n\t"
                "sxtb16 %[xe], %[v]\n\t"
                "sxtb16 %[v], %[v], ror #8\n\t"
                "smlad %[a01], %[fe0], %[xe], %[a01]\n\t"
                "smlad %[a11], %[fe1], %[xe], %[a11]\n\t"
                "smlad %[a01], %[w0], %[v], %[a01]\n\t"
                "smlad %[a11], %[w1], %[v], %[a11]\n\t"
                "ldr %[v], [%[x]], #4\n\t"
                "sxtb16 %[xe], %[v]\n\t"
                "sxtb16 %[v], %[v], ror #8\n\t"
                "smlad %[a00], %[fe0], %[xe], %[a00]\n\t"
                "smlad %[a10], %[fe1], %[xe], %[a10]\n\t"
                "smlad %[a00], %[w0], %[v], %[a00]\n\t"
                "smlad %[a10], %[w1], %[v], %[a10]\n\t"
                "subs %[n], %[n], #1\n\t"
                "bne 1b"
                : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11),
                  [x] "+r"(x), [f] "+r"(f), [n] "+r"(n), [w0] "=&r"(w0), [w1] "=&r"(w1),
                  [fe0] "=&r"(fe0), [fe1] "=&r"(fe1), [v] "=&r"(v), [xe] "=&r"(xe)
                : [d] "r"(depth)
                : "cc");
        }
        for (int32_t k = 0; k < rest; ++k) {
            const int32_t in0 = x[k], in1 = x[depth + k];
            const int32_t w0 = f[k], w1 = f[depth + k];
            a00 = tc_add_wrap(a00, w0 * in0);
            a01 = tc_add_wrap(a01, w0 * in1);
            a10 = tc_add_wrap(a10, w1 * in0);
            a11 = tc_add_wrap(a11, w1 * in1);
        }
#else
        int32_t acc[4] = {a00, a01, a10, a11};
        tc_dsp_mac_2x2_raw(f, f + depth, x, x + depth, depth, acc);
        a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
#endif
        pw_store_2x2(a00, a01, a10, a11, &rq0, &rq1, out, out_c, act, saturate_only);
    }
}

/* One filter row against the pixels [first, last): the odd last channel, or the odd last
 * pixel of a channel pair. */
static void pw_1xn(const int8_t *input, int32_t first, int32_t last, int32_t depth,
                   const int8_t *row, const pw_channel *ch, int8_t *out, int32_t out_c,
                   tc_activation act)
{
    for (int32_t p = first; p < last; ++p) {
        const int32_t acc = tc_dsp_mac_1x1(row, input + p * depth, depth, 0, ch->start);
        out[p * out_c] = tc_clamp_s8(tc_requantize_narrow(acc, &ch->rq), act);
    }
}
#endif

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
        TC_RETURN_ARG_ERROR();
    }
    const int32_t pixels = input_dims->n * input_dims->h * input_dims->w;
    const int32_t depth = input_dims->c;
    const int32_t out_c = output_dims->c;
#if TC_ISA_DSP
    if (!tc_quant_narrow(quant)) {
        convolve_1x1_plain(params, quant, pixels, depth, input, filter, bias, out_c, output);
        return TC_OK;
    }
    const int32_t even_pixels = pixels & ~1;
    int32_t oc = 0;
    for (; oc + 2 <= out_c; oc += 2) {
        const int8_t *f0 = filter + oc * depth;
        const pw_channel ch[2] = {pw_channel_of(params, quant, f0, depth, bias, oc),
                                  pw_channel_of(params, quant, f0 + depth, depth, bias, oc + 1)};
        pw_2x2(input, even_pixels, depth, f0, ch, output + oc, out_c, params->activation);
        for (int32_t c = 0; c < 2; ++c) {
            pw_1xn(input, even_pixels, pixels, depth, f0 + c * depth, &ch[c], output + oc + c,
                   out_c, params->activation);
        }
    }
    if (oc < out_c) {
        const int8_t *row = filter + oc * depth;
        const pw_channel ch = pw_channel_of(params, quant, row, depth, bias, oc);
        pw_1xn(input, 0, pixels, depth, row, &ch, output + oc, out_c, params->activation);
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
            const uint32_t start = (uint32_t)tc_mve_dot_1x4(row, x0, x1, x2, x3, depth, acc) *
                                       (uint32_t)offset + (uint32_t)tc_conv_bias(bias, oc);
            tc_conv_store_4px(output + p * out_c, out_c, acc, start, n_px, oc, params, quant);
        }
    }
#else
    convolve_1x1_plain(params, quant, pixels, depth, input, filter, bias, out_c, output);
#endif
    return TC_OK;
}
