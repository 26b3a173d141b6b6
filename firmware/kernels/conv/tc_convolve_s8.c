/*
 * tc_convolve_s8: TFLite's reference_integer_ops::ConvPerChannel, with groups. Padding is
 * "skip the taps outside the image", which is the same as padding with the input zero
 * point. One definition; the inner loops per ISA (tc_nn_math_types.h):
 *
 * Portable C: the reference loop nest, loop for loop.
 *
 * Armv7E-M DSP (Cortex-M4/M7/M33): two output pixels x two output channels per inner
 * loop, two MACs per SMLAD. Two ways to feed the inner loop (see tc_conv_internal.h for
 * which one runs):
 *
 * im2col (given the scratch; K = kh * kw * cin >= 4): the receptive field of each of the
 * two pixels is gathered into bytes in filter order (whole kernel rows of kw * cin
 * contiguous input bytes at once where there is one group and no horizontal dilation,
 * padding taps set to the input zero point), then widened four at a time with the input
 * offset added by SXTAB16 / SXTAB16 ROR #8 into an int16 column: per group of four its
 * elements 0, 2 then 1, 3, the lanes SXTB16 gives the four filter bytes, so the filter
 * needs no repacking. The groups of four start at 0, 4, ... and the last one at K - 4
 * (no read past a filter row): where it overlaps the group before, its column lanes are 0.
 * Any channel count runs at the speed of whole words, the three input channels of an RGB
 * image included.
 *
 * Without the scratch, small columns (tc_convolve_s8_get_stack_buffer_size) go on the stack.
 * Direct (no scratch, larger K): the input is read in place, four bytes per word and a remainder
 * one by one. For each pair of output channels, the input offset of interior pixels is
 * added once as offset * sum(filter row), and their receptive fields are streamed in runs
 * (a whole filter row of kw * cin contiguous bytes with one group and no horizontal
 * dilation). Pixels touching the padding go tap by tap, skipping padded taps as the
 * reference does, with the offset added to each input word.
 *
 * Helium (Cortex-M55/M85): filter rows dotted with input taps 16 bytes at a time
 * (VMLADAVA), a partial last vector under a VCTP tail predicate. The input offset is
 * applied through the filter sums, sum(f * (x + offset)) = sum(f * x) +
 * offset * sum(f), exact in int32 like every other sum here, so the result equals the
 * portable kernel's byte for byte. Two ways to feed the dot products (tc_conv_internal.h
 * says which one runs):
 *
 * Direct (no scratch; fastest with input channels per group a multiple of 16): one pixel x
 * four output channels at a time, each tap's channels read in place from the NHWC input.
 * Taps in the padding are skipped, and their filter sums taken out of the offset term.
 *
 * im2col (given the scratch): the receptive fields of four pixels are copied into four
 * int8 columns of K = kh * kw * cin, padding taps set to the input zero point
 * (-input_offset, always an int8) so that every tap counts, and each filter row is dotted
 * with the four columns.
 *
 * Every SIMD variant requantizes with tc_requantize_narrow where the code generator has
 * checked that it is exact (tc_quant_narrow), else with tc_requantize.
 * The taps' sums are exact in int32 and the bias is added modulo 2^32 (tc_add_wrap, as
 * LiteRT's int32 does), so every variant gives the portable kernel's bytes.
 * Scratch sizes: tc_convolve_get_buffer_sizes_s8.c.
 */
#include "tc_conv_internal.h"

#if TC_ISA_DSP || TC_ISA_MVE
/* Output channel oc of n pixels, `stride` bytes apart (0: one pixel, stored n times):
 * bias, requantize, offset, clamp (the SIMD paths' tail). */
/* Out of line: smaller, and off the DSP im2col path's narrow case. */
static __attribute__((noinline)) void store_channel(int8_t *out, int32_t stride,
                                                    const int32_t *acc, int32_t n, int32_t oc,
                                                    const int32_t *bias,
                                                    const tc_conv_params *params,
                                                    const tc_per_channel_quant_params *quant)
{
    const int32_t b = tc_conv_bias(bias, oc);
    out += oc;
    if (tc_quant_narrow(quant)) {
        /* Locals: the byte stores below could alias anything read through a pointer. */
        const tc_rq_narrow rq =
            tc_rq_narrow_of(quant->multiplier[oc], quant->shift[oc], params->output_offset);
        const tc_activation act = params->activation;
        for (int32_t i = 0; i < n; ++i, out += stride) {
            *out = tc_clamp_s8(tc_requantize_narrow(tc_add_wrap(acc[i], b), &rq), act);
        }
    } else {
        for (int32_t i = 0; i < n; ++i, out += stride) {
            *out = tc_conv_output(tc_add_wrap(acc[i], b), quant->multiplier[oc], quant->shift[oc],
                                  params->output_offset, params->activation);
        }
    }
}
#endif

#if TC_ISA_DSP

/* im2col of one output pixel for one group: the field's bytes are gathered into the upper
 * half of the column, then widened in place from the bottom (a group's two words never
 * reach bytes not yet read). */
static void fill_column(int32_t *column, int32_t k4, tc_tail_lanes tail,
                        const tc_conv_params *params, const tc_dims *input_dims,
                        const int8_t *input, const tc_dims *filter_dims, tc_pixel px,
                        int32_t first_in_c)
{
    const int32_t k_len = filter_dims->h * filter_dims->w * filter_dims->c;
    const int8_t *field = (const int8_t *)column + k4;
    tc_gather_field((int8_t *)field, params, input_dims, input, filter_dims, px, first_in_c);
    tc_widen_column(column, field, k_len, params->input_offset, tail);
}

/* The two words of a column group, by one LDRD that steps the (word-aligned) pointer:
 * GCC splits a 64-bit load into two LDRs in this loop. */
static inline void load_group(const int32_t **c, int32_t *even, int32_t *odd)
{
    __asm__("ldrd %0, %1, [%2], #8" : "=r"(*even), "=r"(*odd), "+r"(*c) : "m"(**c));
}

/* Four filter bytes against a group of two columns (stepped past it), two filter rows. */
static inline void dot_group(const int8_t *f0, const int8_t *f1, const int32_t **c0,
                             const int32_t **c1, int32_t *a00, int32_t *a01, int32_t *a10,
                             int32_t *a11)
{
    const int32_t w0 = tc_read_s32(f0), w1 = tc_read_s32(f1);
    const int32_t f0e = tc_sxtb16_even(w0), f0o = tc_sxtb16_odd(w0);
    const int32_t f1e = tc_sxtb16_even(w1), f1o = tc_sxtb16_odd(w1);
    int32_t c0e, c0o, c1e, c1o;
    load_group(c0, &c0e, &c0o);
    load_group(c1, &c1e, &c1o);
    *a00 = tc_smlad(f0o, c0o, tc_smlad(f0e, c0e, *a00));
    *a01 = tc_smlad(f0o, c1o, tc_smlad(f0e, c1e, *a01));
    *a10 = tc_smlad(f1o, c0o, tc_smlad(f1e, c0e, *a10));
    *a11 = tc_smlad(f1o, c1o, tc_smlad(f1e, c1e, *a11));
}

/* What the 2 x 2 tiles of a pair of output pixels share. */
typedef struct {
    const int8_t *filter;
    const int32_t *c0;
    const int32_t *c1;
    int8_t *out;      /* the first pixel's outputs */
    int32_t out_step; /* to the second pixel's, 0 when there is one pixel */
    int32_t k_len;
    const int32_t *bias;
    const tc_conv_params *params;
    const tc_per_channel_quant_params *quant;
} tile_2x2_args;

/* Output channels oc and oc + 1 (n_ch = 2) or oc alone of the two pixels: two filter
 * rows against the two columns (fill_column), then requantized and stored. Not inlined:
 * in a function of its own the loop keeps its values in registers. */
static __attribute__((noinline)) void tile_2x2(const tile_2x2_args *t, int32_t oc,
                                               int32_t n_ch)
{
    const int32_t k_len = t->k_len;
    const int8_t *f0 = t->filter + oc * k_len;
    const int8_t *f1 = f0 + (n_ch - 1) * k_len;
    const int32_t *c0 = t->c0, *c1 = t->c1;
    int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
    const int8_t *const last = f0 + k_len - 4;
    for (; f0 < last; f0 += 4, f1 += 4) {
        dot_group(f0, f1, &c0, &c1, &a00, &a01, &a10, &a11);
    }
    dot_group(last, f1 - f0 + last, &c0, &c1, &a00, &a01, &a10, &a11);
    const int32_t acc[4] = {a00, a01, a10, a11};
    const tc_per_channel_quant_params *quant = t->quant;
    if (!tc_quant_narrow(quant)) {
        for (int32_t j = 0; j < n_ch; ++j) {
            store_channel(t->out, t->out_step, acc + 2 * j, 2, oc + j, t->bias, t->params,
                          quant);
        }
        return;
    }
    /* Locals: the byte stores below could alias anything read through a pointer. */
    const tc_activation act = t->params->activation;
    const int32_t output_offset = t->params->output_offset;
    const int32_t *bias = t->bias;
    int8_t *out0 = t->out + oc, *out1 = out0 + t->out_step;
    for (int32_t j = 0; j < n_ch; ++j) {
        const tc_rq_narrow rq =
            tc_rq_narrow_of(quant->multiplier[oc + j], quant->shift[oc + j], output_offset);
        const int32_t b = tc_conv_bias(bias, oc + j);
        const int32_t a0 = tc_add_wrap(acc[2 * j], b), a1 = tc_add_wrap(acc[2 * j + 1], b);
        const int8_t y0 = tc_clamp_s8(tc_requantize_narrow(a0, &rq), act);
        const int8_t y1 = tc_clamp_s8(tc_requantize_narrow(a1, &rq), act);
        out1[j] = y1;
        out0[j] = y0;
    }
}

static void convolve_im2col(const tc_context *ctx, const tc_conv_params *params,
                            const tc_per_channel_quant_params *quant,
                            const tc_dims *input_dims, const int8_t *input,
                            const tc_dims *filter_dims, const int8_t *filter,
                            const int32_t *bias, const tc_dims *output_dims, int8_t *output)
{
    const int32_t group_c = filter_dims->c;
    const int32_t k_len = filter_dims->h * filter_dims->w * group_c;
    const int32_t k4 = (k_len + 3) & ~3;
    const tc_tail_lanes tail = tc_tail_lanes_of(k_len);
    const int32_t out_c = output_dims->c;
    const int32_t groups = input_dims->c / group_c;
    const int32_t filters_per_group = out_c / groups;
    /* Two word-aligned columns of k4 int16 (the scratch has a word to spare). */
    int32_t *col0 = (int32_t *)(((uintptr_t)ctx->buf + 3) & ~(uintptr_t)3);
    int32_t *col1 = col0 + k4 / 2;
    tile_2x2_args t = {filter, col0, col1, output, out_c, k_len, bias, params, quant};

    const int32_t pixels = output_dims->n * output_dims->h * output_dims->w;
    tc_pixel px = {0, 0, 0};
    for (int32_t p = 0; p < pixels; p += 2, t.out += 2 * out_c) {
        /* A last odd pixel takes both columns' places and is stored twice. */
        const int pair = p + 1 < pixels;
        tc_pixel px1 = px;
        tc_pixel_next(&px1, output_dims);
        if (!pair) {
            t.c1 = col0;
            t.out_step = 0;
        }
        for (int32_t g = 0; g < groups; ++g) {
            fill_column(col0, k4, tail, params, input_dims, input, filter_dims, px,
                        g * group_c);
            if (pair) {
                fill_column(col1, k4, tail, params, input_dims, input, filter_dims, px1,
                            g * group_c);
            }
            const int32_t oc_end = (g + 1) * filters_per_group;
            for (int32_t oc = g * filters_per_group; oc < oc_end; oc += 2) {
                /* An odd last channel of a group is computed twice and stored once. */
                tile_2x2(&t, oc, oc + 1 < oc_end ? 2 : 1);
            }
        }
        tc_pixel_next(&px1, output_dims);
        px = px1;
    }
}

/* Two filter rows against two interior pixels whose receptive fields start at x0 and x1,
 * whole runs of the field at a time, without the input offset. */
static void direct_interior_2x2(const tc_field_layout *layout, int32_t rows, const int8_t *f0,
                                const int8_t *f1, const int8_t *x0, const int8_t *x1,
                                int32_t acc[4])
{
    for (int32_t r = 0; r < rows; ++r, x0 += layout->row_step, x1 += layout->row_step) {
        for (int32_t s = 0; s < layout->segments; ++s) {
            const int32_t at = s * layout->segment_step;
            tc_dsp_mac_2x2_raw(f0, f1, x0 + at, x1 + at, layout->segment, acc);
            f0 += layout->segment;
            f1 += layout->segment;
        }
    }
}

/* Two filter rows (f1 may repeat f0) against the taps of two pixels (px1 may repeat px),
 * read in place: acc[2 * row + pixel]. Taps in the padding are skipped. */
static void direct_2x2(const tc_conv_params *params, const tc_dims *input_dims,
                       const int8_t *input, const tc_dims *filter_dims, const int8_t *f0,
                       const int8_t *f1, tc_pixel px, tc_pixel px1, int32_t first_in_c,
                       int32_t acc[4])
{
    const int32_t group_c = filter_dims->c;
    const int32_t offset = params->input_offset;
    int32_t tap = 0;
    for (int32_t ky = 0; ky < filter_dims->h; ++ky) {
        for (int32_t kx = 0; kx < filter_dims->w; ++kx, tap += group_c) {
            const int32_t at0 = tc_tap_offset(params, input_dims, px, ky, kx);
            const int32_t at1 = tc_tap_offset(params, input_dims, px1, ky, kx);
            const int8_t *w0 = f0 + tap, *w1 = f1 + tap;
            if (at0 >= 0 && at1 >= 0) {
                tc_dsp_mac_2x2(w0, w1, input + at0 + first_in_c, input + at1 + first_in_c,
                               group_c, offset, acc);
            } else if (at0 >= 0) {
                acc[0] = tc_dsp_mac_1x1(w0, input + at0 + first_in_c, group_c, offset, acc[0]);
                acc[2] = tc_dsp_mac_1x1(w1, input + at0 + first_in_c, group_c, offset, acc[2]);
            } else if (at1 >= 0) {
                acc[1] = tc_dsp_mac_1x1(w0, input + at1 + first_in_c, group_c, offset, acc[1]);
                acc[3] = tc_dsp_mac_1x1(w1, input + at1 + first_in_c, group_c, offset, acc[3]);
            }
        }
    }
}

static void convolve_direct(const tc_conv_params *params,
                            const tc_per_channel_quant_params *quant,
                            const tc_dims *input_dims, const int8_t *input,
                            const tc_dims *filter_dims, const int8_t *filter,
                            const int32_t *bias, const tc_dims *output_dims, int8_t *output)
{
    const int32_t group_c = filter_dims->c;
    const int32_t k_len = filter_dims->h * filter_dims->w * group_c;
    const int32_t out_c = output_dims->c;
    const int32_t groups = input_dims->c / group_c;
    const int32_t filters_per_group = out_c / groups;
    const int32_t pixels = output_dims->n * output_dims->h * output_dims->w;
    const int32_t offset = params->input_offset;
    const tc_field_layout layout = tc_conv_field_layout(params, input_dims, filter_dims);
    for (int32_t g = 0; g < groups; ++g) {
        const int32_t oc_end = (g + 1) * filters_per_group;
        for (int32_t oc = g * filters_per_group; oc < oc_end; oc += 2) {
            /* An odd last channel of a group is computed twice and stored once. */
            const int both = oc + 1 < oc_end;
            const int8_t *f0 = filter + oc * k_len;
            const int8_t *f1 = both ? f0 + k_len : f0;
            /* Interior pixels take the input offset as offset * sum(filter row). */
            const int32_t offset_term0 = offset * tc_dsp_sum(f0, k_len);
            const int32_t offset_term1 = offset * tc_dsp_sum(f1, k_len);
            tc_pixel px = {0, 0, 0};
            for (int32_t p = 0; p < pixels; p += 2) {
                /* A last odd pixel is computed twice and stored once. */
                const int pair = p + 1 < pixels;
                tc_pixel px1 = px;
                if (pair) {
                    tc_pixel_next(&px1, output_dims);
                }
                int32_t acc[4] = {0, 0, 0, 0};
                if (tc_conv_interior(params, input_dims, filter_dims, px) &&
                    tc_conv_interior(params, input_dims, filter_dims, px1)) {
                    const int8_t *x = input + g * group_c;
                    direct_interior_2x2(&layout, filter_dims->h, f0, f1,
                                        x + tc_field_offset(params, input_dims, px),
                                        x + tc_field_offset(params, input_dims, px1), acc);
                    acc[0] += offset_term0;
                    acc[1] += offset_term0;
                    acc[2] += offset_term1;
                    acc[3] += offset_term1;
                } else {
                    direct_2x2(params, input_dims, input, filter_dims, f0, f1, px, px1,
                               g * group_c, acc);
                }
                for (int32_t j = 0; j <= both; ++j) {
                    store_channel(output + p * out_c, out_c, acc + 2 * j, 1 + pair, oc + j,
                                  bias, params, quant);
                }
                tc_pixel_next(&px1, output_dims);
                px = px1;
            }
        }
    }
}

#elif TC_ISA_MVE

#define COLUMNS 4
#define CHANNELS 4

/* im2col of one output pixel for one group, raw int8. */
static void fill_column(int8_t *column, const tc_conv_params *params, const tc_dims *input_dims,
                        const int8_t *input, const tc_dims *filter_dims, tc_pixel px,
                        int32_t first_in_c)
{
    const int32_t group_c = filter_dims->c;
    const int32_t y0 = px.y * params->stride.h - params->padding.h;
    const int32_t x0 = px.x * params->stride.w - params->padding.w;
    const int8_t pad = (int8_t)(-params->input_offset);
    for (int32_t ky = 0; ky < filter_dims->h; ++ky) {
        const int32_t iy = y0 + ky * params->dilation.h;
        for (int32_t kx = 0; kx < filter_dims->w; ++kx, column += group_c) {
            const int32_t ix = x0 + kx * params->dilation.w;
            /* Predicated 16-byte copies (fills in the padding): no memcpy calls. */
            const int inside = iy >= 0 && iy < input_dims->h && ix >= 0 && ix < input_dims->w;
            const int8_t *src = input + ((px.batch * input_dims->h + iy) * input_dims->w + ix) *
                                            input_dims->c + first_in_c;
            for (int32_t k = 0; k < group_c; k += 16) {
                const mve_pred16_t p = vctp8q((uint32_t)(group_c - k));
                vstrbq_p_s8(column + k, inside ? vldrbq_z_s8(src + k, p) : vdupq_n_s8(pad), p);
            }
        }
    }
}

static void convolve_im2col(const tc_context *ctx, const tc_conv_params *params,
                            const tc_per_channel_quant_params *quant,
                            const tc_dims *input_dims, const int8_t *input,
                            const tc_dims *filter_dims, const int8_t *filter,
                            const int32_t *bias, const tc_dims *output_dims, int8_t *output)
{
    const int32_t group_c = filter_dims->c;
    const int32_t k_len = filter_dims->h * filter_dims->w * group_c;
    const int32_t out_c = output_dims->c;
    const int32_t groups = input_dims->c / group_c;
    const int32_t filters_per_group = out_c / groups;
    const int32_t input_offset = params->input_offset;
    int8_t *columns = (int8_t *)ctx->buf;

    const int32_t pixels = output_dims->n * output_dims->h * output_dims->w;
    tc_pixel px = {0, 0, 0};
    for (int32_t p = 0; p < pixels; p += COLUMNS) {
        const int32_t n_cols = TC_MIN(COLUMNS, pixels - p);
        for (int32_t g = 0; g < groups; ++g) {
            tc_pixel pj = px;
            for (int32_t j = 0; j < n_cols; ++j) {
                fill_column(columns + j * k_len, params, input_dims, input, filter_dims, pj,
                            g * group_c);
                tc_pixel_next(&pj, output_dims);
            }
            /* Past the last pixel, columns repeat the first; those results are dropped. */
            const int8_t *c1 = columns + (n_cols > 1 ? k_len : 0);
            const int8_t *c2 = columns + (n_cols > 2 ? 2 * k_len : 0);
            const int8_t *c3 = columns + (n_cols > 3 ? 3 * k_len : 0);
            for (int32_t oc = g * filters_per_group; oc < (g + 1) * filters_per_group; ++oc) {
                const int8_t *row = filter + oc * k_len;
                int32_t acc[COLUMNS] = {0, 0, 0, 0};
                const uint32_t start =
                    (uint32_t)tc_mve_dot_1x4(row, columns, c1, c2, c3, k_len, acc) *
                        (uint32_t)input_offset + (uint32_t)tc_conv_bias(bias, oc);
                tc_conv_store_4px(output + p * out_c, out_c, acc, start, n_cols, oc, params,
                                  quant);
            }
        }
        for (int32_t j = 0; j < n_cols; ++j) {
            tc_pixel_next(&px, output_dims);
        }
    }
}

static void convolve_direct(const tc_conv_params *params,
                            const tc_per_channel_quant_params *quant,
                            const tc_dims *input_dims, const int8_t *input,
                            const tc_dims *filter_dims, const int8_t *filter,
                            const int32_t *bias, const tc_dims *output_dims, int8_t *output)
{
    const int32_t group_c = filter_dims->c;
    const int32_t k_len = filter_dims->h * filter_dims->w * group_c;
    const int32_t out_c = output_dims->c;
    const int32_t groups = input_dims->c / group_c;
    const int32_t filters_per_group = out_c / groups;
    const int32_t pixels = output_dims->n * output_dims->h * output_dims->w;
    const int32_t offset = params->input_offset;
    const tc_field_layout layout = tc_conv_field_layout(params, input_dims, filter_dims);
    for (int32_t g = 0; g < groups; ++g) {
        const int32_t oc_end = (g + 1) * filters_per_group;
        for (int32_t oc = g * filters_per_group; oc < oc_end; oc += CHANNELS) {
            /* Past the group's last channel, rows repeat it; those results are dropped. */
            const int32_t n_ch = TC_MIN(CHANNELS, oc_end - oc);
            const int8_t *f[CHANNELS];
            int32_t full_sum[CHANNELS];
            for (int32_t j = 0; j < CHANNELS; ++j) {
                f[j] = filter + (oc + TC_MIN(j, n_ch - 1)) * k_len;
                full_sum[j] = tc_mve_sum(f[j], k_len);
            }
            tc_pixel px = {0, 0, 0};
            for (int32_t p = 0; p < pixels; ++p, tc_pixel_next(&px, output_dims)) {
                int32_t acc[CHANNELS] = {0, 0, 0, 0};
                int32_t sum[CHANNELS] = {full_sum[0], full_sum[1], full_sum[2], full_sum[3]};
                int32_t tap = 0;
                if (tc_conv_interior(params, input_dims, filter_dims, px)) {
                    /* Whole runs of the receptive field at a time. */
                    const int8_t *row = input + tc_field_offset(params, input_dims, px) +
                                        g * group_c;
                    for (int32_t r = 0; r < filter_dims->h; ++r, row += layout.row_step) {
                        for (int32_t s = 0; s < layout.segments; ++s, tap += layout.segment) {
                            tc_mve_dot_1x4(row + s * layout.segment_step, f[0] + tap, f[1] + tap,
                                    f[2] + tap, f[3] + tap, layout.segment, acc);
                        }
                    }
                } else {
                    /* Tap by tap; taps in the padding leave the offset term too. */
                    for (int32_t ky = 0; ky < filter_dims->h; ++ky) {
                        for (int32_t kx = 0; kx < filter_dims->w; ++kx, tap += group_c) {
                            const int32_t at = tc_tap_offset(params, input_dims, px, ky, kx);
                            if (at < 0) {
                                for (int32_t j = 0; j < CHANNELS; ++j) {
                                    sum[j] -= tc_mve_sum(f[j] + tap, group_c);
                                }
                            } else {
                                tc_mve_dot_1x4(input + at + g * group_c, f[0] + tap, f[1] + tap,
                                        f[2] + tap, f[3] + tap, group_c, acc);
                            }
                        }
                    }
                }
                for (int32_t j = 0; j < n_ch; ++j) {
                    acc[j] += sum[j] * offset;
                    store_channel(output + p * out_c, 0, acc + j, 1, oc + j, bias, params,
                                  quant);
                }
            }
        }
    }
}

#endif

#if TC_ISA_DSP || TC_ISA_MVE
/*
 * A convolution the planner gave no scratch (typically the first layer, whose input and
 * output fill the arena at its peak) whose columns are small
 * (tc_convolve_s8_get_stack_buffer_size: an RGB or audio stem) still takes the im2col
 * path, with its columns on the stack: TC_CONV_STACK_COLUMN_BYTES more stack, within
 * the firmware's measured high-water mark, against several hundred instructions per pixel
 * on the direct path.
 */
static __attribute__((noinline)) void convolve_im2col_on_stack(
    const tc_conv_params *params, const tc_per_channel_quant_params *quant,
    const tc_dims *input_dims, const int8_t *input, const tc_dims *filter_dims,
    const int8_t *filter, const int32_t *bias, const tc_dims *output_dims, int8_t *output)
{
    int32_t columns[TC_CONV_STACK_COLUMN_BYTES / 4];
    const tc_context ctx = {columns, TC_CONV_STACK_COLUMN_BYTES};
    convolve_im2col(&ctx, params, quant, input_dims, input, filter_dims, filter, bias,
                    output_dims, output);
}
#endif

tc_status tc_convolve_s8(const tc_context *ctx, const tc_conv_params *params,
                         const tc_per_channel_quant_params *quant,
                         const tc_dims *input_dims, const int8_t *input,
                         const tc_dims *filter_dims, const int8_t *filter,
                         const tc_dims *bias_dims, const int32_t *bias,
                         const tc_dims *output_dims, int8_t *output)
{
    (void)bias_dims;
    if (!tc_conv_args_valid(ctx, params, quant, input_dims, input, filter_dims, filter,
                            output_dims, output, 0)) {
        TC_RETURN_ARG_ERROR();
    }
#if TC_ISA_PORTABLE
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t group_c = filter_dims->c; /* input channels per group */
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
    const int32_t filters_per_group = out_c / (in_c / group_c);

    for (int32_t b = 0; b < output_dims->n; ++b) {
        for (int32_t oy = 0; oy < out_h; ++oy) {
            const int32_t y0 = oy * params->stride.h - params->padding.h;
            for (int32_t ox = 0; ox < out_w; ++ox) {
                const int32_t x0 = ox * params->stride.w - params->padding.w;
                for (int32_t oc = 0; oc < out_c; ++oc) {
                    const int32_t first_in_c = (oc / filters_per_group) * group_c;
                    int32_t acc = 0;
                    for (int32_t ky = 0; ky < k_h; ++ky) {
                        const int32_t iy = y0 + ky * params->dilation.h;
                        if (iy < 0 || iy >= in_h) {
                            continue;
                        }
                        for (int32_t kx = 0; kx < k_w; ++kx) {
                            const int32_t ix = x0 + kx * params->dilation.w;
                            if (ix < 0 || ix >= in_w) {
                                continue;
                            }
                            const int8_t *in = input + ((b * in_h + iy) * in_w + ix) * in_c +
                                               first_in_c;
                            const int8_t *f = filter + ((oc * k_h + ky) * k_w + kx) * group_c;
                            for (int32_t ic = 0; ic < group_c; ++ic) {
                                acc += f[ic] * (in[ic] + params->input_offset);
                            }
                        }
                    }
                    acc = tc_add_wrap(acc, tc_conv_bias(bias, oc));
                    output[((b * out_h + oy) * out_w + ox) * out_c + oc] =
                        tc_conv_output(acc, quant->multiplier[oc], quant->shift[oc],
                                       params->output_offset, params->activation);
                }
            }
        }
    }
#else
    if (tc_conv_uses_im2col(ctx, input_dims, filter_dims)) {
        convolve_im2col(ctx, params, quant, input_dims, input, filter_dims, filter, bias,
                        output_dims, output);
    } else if (tc_convolve_s8_get_stack_buffer_size(input_dims, filter_dims) > 0) {
        convolve_im2col_on_stack(params, quant, input_dims, input, filter_dims, filter, bias,
                                 output_dims, output);
    } else {
        convolve_direct(params, quant, input_dims, input, filter_dims, filter, bias,
                        output_dims, output);
    }
#endif
    return TC_OK;
}
