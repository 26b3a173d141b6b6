/*
 * tc_convolve_s8: TFLite's reference_integer_ops::ConvPerChannel, with groups. Padding is
 * "skip the taps outside the image", which is the same as padding with the input zero
 * point. One definition; the inner loops per ISA (tc_nn_math_types.h):
 *
 * Portable C: the reference loop nest, loop for loop.
 *
 * Armv7E-M DSP (Cortex-M4/M7/M33): two output pixels x two output channels per inner
 * loop, four bytes widened by each SXTB16 and two MACs per SMLAD. Two ways to feed the inner loop (see tc_conv_internal.h for which one runs):
 *
 * im2col (given the scratch): the receptive fields of the two pixels are copied into two
 * int16 "columns" of K = kh * kw * cin values with the input offset added (padding taps
 * are 0). Within every group of four a column stores elements in the order 0, 2, 1, 3, so
 * its words line up with SXTB16 / SXTB16 ROR #8 of four filter bytes and the filter needs
 * no repacking.
 *
 * Direct (no scratch): the input is read in place, four bytes per word and a remainder
 * one by one. For each pair of output channels, the input offset of interior pixels is
 * added once as offset * sum(filter row), and their receptive fields are streamed in runs
 * (a whole filter row of kw * cin contiguous bytes with one group and no horizontal
 * dilation). Pixels touching the padding go tap by tap, skipping padded taps as the
 * reference does, with the offset added to each input word.
 *
 * Helium (Cortex-M55/M85): filter rows dotted with input taps 16 bytes at a time
 * (VMLADAVA), a partial last vector under a VCTP tail predicate. The input offset is applied through the filter sums, sum(f * (x + offset)) = sum(f * x) +
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
 * Integer sums are exact, so every variant gives the portable kernel's bytes.
 * Scratch sizes: tc_convolve_get_buffer_sizes_s8.c.
 */
#include "tc_conv_internal.h"

#if TC_ISA_DSP || TC_ISA_MVE
/* Output channel oc of one pixel: bias, requantize, offset, clamp (the SIMD paths' tail). */
static inline void store_output(int8_t *out, int32_t acc, int32_t oc, const int32_t *bias,
                                const tc_conv_params *params,
                                const tc_per_channel_quant_params *quant)
{
    out[oc] = tc_conv_output(acc + tc_conv_bias(bias, oc), quant->multiplier[oc],
                             quant->shift[oc], params->output_offset, params->activation);
}
#endif

#if TC_ISA_DSP

/* Position of element k in a column whose first k4 elements are stored 0, 2, 1, 3. */
static inline int32_t column_slot(int32_t k, int32_t k4)
{
    if (k >= k4) {
        return k;
    }
    const int32_t r = k & 3;
    return (k & ~3) | ((r & 1) << 1) | (r >> 1);
}

/* Writes n taps starting at element k0: (src + offset), or zeros when src is NULL. */
static void store_taps(int16_t *column, int32_t k0, int32_t k4, const int8_t *src, int32_t n,
                       int32_t input_offset)
{
    int32_t i = 0;
    if ((k0 & 3) == 0) {
        /* Aligned to a group of four: widen four bytes at once, already in slot order. */
        const int32_t offsets = tc_dup16(input_offset);
        for (; i + 4 <= n && k0 + i + 4 <= k4; i += 4) {
            int16_t *dst = column + k0 + i;
            if (src == NULL) {
                tc_write_s32(dst, 0);
                tc_write_s32(dst + 2, 0);
            } else {
                const int32_t bytes = tc_read_s32(src + i);
                tc_write_s32(dst, tc_sadd16(tc_sxtb16_even(bytes), offsets));
                tc_write_s32(dst + 2, tc_sadd16(tc_sxtb16_odd(bytes), offsets));
            }
        }
    }
    for (; i < n; ++i) {
        column[column_slot(k0 + i, k4)] = (int16_t)(src == NULL ? 0 : src[i] + input_offset);
    }
}

/* im2col of one output pixel for one group. */
static void fill_column(int16_t *column, const tc_conv_params *params,
                        const tc_dims *input_dims, const int8_t *input,
                        const tc_dims *filter_dims, tc_pixel px, int32_t first_in_c)
{
    const int32_t group_c = filter_dims->c;
    const int32_t k4 = (filter_dims->h * filter_dims->w * group_c) & ~3;
    const int32_t y0 = px.y * params->stride.h - params->padding.h;
    const int32_t x0 = px.x * params->stride.w - params->padding.w;
    int32_t k = 0;
    for (int32_t ky = 0; ky < filter_dims->h; ++ky) {
        const int32_t iy = y0 + ky * params->dilation.h;
        for (int32_t kx = 0; kx < filter_dims->w; ++kx, k += group_c) {
            const int32_t ix = x0 + kx * params->dilation.w;
            const int inside = iy >= 0 && iy < input_dims->h && ix >= 0 && ix < input_dims->w;
            const int8_t *src = inside ? input + ((px.batch * input_dims->h + iy) * input_dims->w +
                                                  ix) * input_dims->c + first_in_c
                                       : NULL;
            store_taps(column, k, k4, src, group_c, params->input_offset);
        }
    }
}

/* Two filter rows against two columns: acc[row][column]. */
/* Not inlined: in a function of its own the loop keeps its values in registers. */
static __attribute__((noinline)) void dot_2x2(const int8_t *row0, const int8_t *row1,
                                              const int16_t *col0, const int16_t *col1,
                                              int32_t k_len, int32_t acc[2][2])
{
    int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
    int32_t k = 0;
    for (; k + 4 <= k_len; k += 4) {
        const int32_t w0 = tc_read_s32(row0 + k), w1 = tc_read_s32(row1 + k);
        const int32_t f0e = tc_sxtb16_even(w0), f0o = tc_sxtb16_odd(w0);
        const int32_t f1e = tc_sxtb16_even(w1), f1o = tc_sxtb16_odd(w1);
        const int32_t c0e = tc_read_s32(col0 + k), c0o = tc_read_s32(col0 + k + 2);
        const int32_t c1e = tc_read_s32(col1 + k), c1o = tc_read_s32(col1 + k + 2);
        a00 = tc_smlad(f0e, c0e, a00);
        a00 = tc_smlad(f0o, c0o, a00);
        a01 = tc_smlad(f0e, c1e, a01);
        a01 = tc_smlad(f0o, c1o, a01);
        a10 = tc_smlad(f1e, c0e, a10);
        a10 = tc_smlad(f1o, c0o, a10);
        a11 = tc_smlad(f1e, c1e, a11);
        a11 = tc_smlad(f1o, c1o, a11);
    }
    for (; k < k_len; ++k) {
        a00 += row0[k] * col0[k];
        a01 += row0[k] * col1[k];
        a10 += row1[k] * col0[k];
        a11 += row1[k] * col1[k];
    }
    acc[0][0] = a00;
    acc[0][1] = a01;
    acc[1][0] = a10;
    acc[1][1] = a11;
}

/* One filter row against one column. */
static int32_t dot_1x1(const int8_t *row, const int16_t *col, int32_t k_len)
{
    int32_t acc = 0;
    int32_t k = 0;
    for (; k + 4 <= k_len; k += 4) {
        const int32_t w = tc_read_s32(row + k);
        acc = tc_smlad(tc_sxtb16_even(w), tc_read_s32(col + k), acc);
        acc = tc_smlad(tc_sxtb16_odd(w), tc_read_s32(col + k + 2), acc);
    }
    for (; k < k_len; ++k) {
        acc += row[k] * col[k];
    }
    return acc;
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
    int16_t *col0 = (int16_t *)ctx->buf;
    int16_t *col1 = col0 + k_len;

    const int32_t pixels = output_dims->n * output_dims->h * output_dims->w;
    tc_pixel px = {0, 0, 0};
    int32_t p = 0;
    for (; p + 2 <= pixels; p += 2) {
        tc_pixel px1 = px;
        tc_pixel_next(&px1, output_dims);
        int8_t *out0 = output + p * out_c;
        int8_t *out1 = out0 + out_c;
        for (int32_t g = 0; g < groups; ++g) {
            fill_column(col0, params, input_dims, input, filter_dims, px, g * group_c);
            fill_column(col1, params, input_dims, input, filter_dims, px1, g * group_c);
            const int32_t oc_end = (g + 1) * filters_per_group;
            int32_t oc = g * filters_per_group;
            for (; oc + 2 <= oc_end; oc += 2) {
                int32_t acc[2][2];
                const int8_t *row0 = filter + oc * k_len;
                dot_2x2(row0, row0 + k_len, col0, col1, k_len, acc);
                store_output(out0, acc[0][0], oc, bias, params, quant);
                store_output(out1, acc[0][1], oc, bias, params, quant);
                store_output(out0, acc[1][0], oc + 1, bias, params, quant);
                store_output(out1, acc[1][1], oc + 1, bias, params, quant);
            }
            if (oc < oc_end) {
                const int8_t *row = filter + oc * k_len;
                store_output(out0, dot_1x1(row, col0, k_len), oc, bias, params, quant);
                store_output(out1, dot_1x1(row, col1, k_len), oc, bias, params, quant);
            }
        }
        tc_pixel_next(&px1, output_dims);
        px = px1;
    }
    if (p < pixels) {
        int8_t *out = output + p * out_c;
        for (int32_t g = 0; g < groups; ++g) {
            fill_column(col0, params, input_dims, input, filter_dims, px, g * group_c);
            for (int32_t oc = g * filters_per_group; oc < (g + 1) * filters_per_group; ++oc) {
                store_output(out, dot_1x1(filter + oc * k_len, col0, k_len), oc, bias, params,
                             quant);
            }
        }
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
            if (iy >= 0 && iy < input_dims->h && ix >= 0 && ix < input_dims->w) {
                memcpy(column,
                       input + ((px.batch * input_dims->h + iy) * input_dims->w + ix) *
                                   input_dims->c + first_in_c,
                       (size_t)group_c);
            } else {
                memset(column, pad, (size_t)group_c);
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
                const int32_t offset_term =
                    tc_mve_dot_1x4(row, columns, c1, c2, c3, k_len, acc) * input_offset;
                for (int32_t j = 0; j < n_cols; ++j) {
                    store_output(output + (p + j) * out_c, acc[j] + offset_term, oc, bias,
                                 params, quant);
                }
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
                int8_t *out = output + p * out_c;
                for (int32_t j = 0; j < n_ch; ++j) {
                    store_output(out, acc[j] + sum[j] * offset, oc + j, bias, params, quant);
                }
            }
        }
    }
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
        return TC_ARG_ERROR;
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
                    acc += tc_conv_bias(bias, oc);
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
    } else {
        convolve_direct(params, quant, input_dims, input, filter_dims, filter, bias,
                        output_dims, output);
    }
#endif
    return TC_OK;
}
