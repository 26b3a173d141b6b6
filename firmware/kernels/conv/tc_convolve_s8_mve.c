/*
 * tc_convolve_s8 for Helium (Cortex-M55/M85): filter rows dotted with input taps 16 bytes
 * at a time (VMLADAVA), a partial last vector under a VCTP tail predicate. The input
 * offset is applied through the filter sums, sum(f * (x + offset)) = sum(f * x) +
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
 */
#include "tc_conv_internal.h"

#if TC_CONV_MVE

#include "tc_conv_mve.h"

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

static inline void store_output(int8_t *out, int32_t acc, int32_t oc, const int32_t *bias,
                                const tc_conv_params *params,
                                const tc_per_channel_quant_params *quant)
{
    out[oc] = tc_conv_output(acc + tc_conv_bias(bias, oc), quant->multiplier[oc],
                             quant->shift[oc], params->output_offset, params->activation);
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
    if (tc_conv_uses_im2col(ctx, input_dims, filter_dims)) {
        convolve_im2col(ctx, params, quant, input_dims, input, filter_dims, filter, bias,
                        output_dims, output);
    } else {
        convolve_direct(params, quant, input_dims, input, filter_dims, filter, bias,
                        output_dims, output);
    }
    return TC_OK;
}

#endif /* TC_CONV_MVE */
