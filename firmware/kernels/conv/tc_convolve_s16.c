/*
 * CONV_2D, 16x8 (int16 activations, int8 weights): TFLite's reference_integer_ops::
 * ConvPerChannel for int16 input as LiteRT's BUILTIN_REF runs it:
 *   acc = sum over taps inside the image of filter * input  (int64; int16 activations are
 *         symmetric, the input offset is 0)  + bias[oc] (int64)
 *   out = clamp(tc_requantize_s64(acc, multiplier[oc], shift[oc]) + output_offset)
 * Any filter size, stride, dilation, padding, batch count and groups. Per output pixel
 * (and group) the patch is gathered into a column on the stack (zeros for the taps in the
 * padding, which add nothing since the input offset is 0), and the output channels are
 * dot products of that column with their filter rows, two at a time (tc_dot2_s16_s8,
 * whose DSP and Helium paths give the portable sums exactly). Patches over
 * TC_CONV_S16_COLUMN values read the taps in place instead. No scratch.
 */
#include "tc_nn_conv.h"
#include "tc_nn_s16_support.h"

/* The stack column of one output pixel's patch (int16 values; 512 bytes). */
#define TC_CONV_S16_COLUMN 256

static inline int16_t conv_output(const tc_conv_params *params,
                                  const tc_per_channel_quant_params *quant, const int64_t *bias,
                                  int32_t oc, int64_t acc)
{
    if (bias != NULL) {
        acc += bias[oc];
    }
    const int32_t scaled = tc_requantize_s64(acc, quant->multiplier[oc], quant->shift[oc]);
    return tc_clamp_s16(tc_add_wrap(scaled, params->output_offset), params->activation);
}

/* The input patch of one output pixel and group, as a column of K_h * K_w * C values in
 * filter order (taps in the padding are 0: with the input offset 0 they add nothing, as
 * TFLite skips them). A 1-row filter wholly inside the image of an ungrouped layer is
 * already such a column in the input: no copy. */
static const int16_t *gather(const tc_conv_params *params, const tc_dims *input_dims,
                             const int16_t *image, const tc_dims *filter_dims, int32_t group,
                             int32_t in_y0, int32_t in_x0, int16_t *column)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w, f_c = filter_dims->c;
    if (k_h == 1 && f_c == in_c && params->dilation.w == 1 && in_y0 >= 0 && in_y0 < in_h &&
        in_x0 >= 0 && in_x0 + k_w <= in_w) {
        return image + (in_y0 * in_w + in_x0) * in_c;
    }
    int16_t *out = column;
    for (int32_t ky = 0; ky < k_h; ++ky) {
        const int32_t in_y = in_y0 + ky * params->dilation.h;
        const int row_inside = in_y >= 0 && in_y < in_h;
        for (int32_t kx = 0; kx < k_w; ++kx) {
            const int32_t in_x = in_x0 + kx * params->dilation.w;
            if (row_inside && in_x >= 0 && in_x < in_w) {
                const int16_t *src = image + (in_y * in_w + in_x) * in_c + group * f_c;
                for (int32_t c = 0; c < f_c; ++c) {
                    out[c] = src[c];
                }
            } else {
                for (int32_t c = 0; c < f_c; ++c) {
                    out[c] = 0;
                }
            }
            out += f_c;
        }
    }
    return column;
}

/* Output channels [oc_begin, oc_end) of one pixel from its column, two at a time. */
static int16_t *conv_group_column(const tc_conv_params *params,
                                  const tc_per_channel_quant_params *quant, const int64_t *bias,
                                  const int8_t *filter, int32_t patch, int32_t oc_begin,
                                  int32_t oc_end, const int16_t *col, int16_t *output)
{
    int32_t oc = oc_begin;
    for (; oc + 2 <= oc_end; oc += 2) {
        int64_t acc0 = 0, acc1 = 0;
        const int8_t *f0 = filter + oc * patch;
        tc_dot2_s16_s8(col, f0, f0 + patch, patch, &acc0, &acc1);
        *output++ = conv_output(params, quant, bias, oc, acc0);
        *output++ = conv_output(params, quant, bias, oc + 1, acc1);
    }
    if (oc < oc_end) {
        *output++ = conv_output(params, quant, bias, oc,
                                tc_dot_s16_s8(col, filter + oc * patch, patch));
    }
    return output;
}

/* Patches too large for the stack column: the taps read in place, row by row. */
static int16_t *conv_taps(const tc_conv_params *params, const tc_per_channel_quant_params *quant,
                          const tc_dims *input_dims, const int16_t *image,
                          const tc_dims *filter_dims, const int8_t *filter, const int64_t *bias,
                          int32_t out_c, int32_t per_group, int32_t in_y0, int32_t in_x0,
                          int16_t *output)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w, f_c = filter_dims->c;
    const int contiguous = f_c == in_c && params->dilation.w == 1;
    const int32_t kx_begin = TC_MAX(0, -in_x0);
    const int32_t kx_end = TC_MIN(k_w, in_w - in_x0);
    for (int32_t oc = 0; oc < out_c; ++oc) {
        const int32_t group = oc / per_group;
        const int8_t *f = filter + oc * k_h * k_w * f_c;
        int64_t acc = 0;
        for (int32_t ky = 0; ky < k_h; ++ky) {
            const int32_t in_y = in_y0 + ky * params->dilation.h;
            if (in_y < 0 || in_y >= in_h) {
                continue;
            }
            const int16_t *row = image + in_y * in_w * in_c;
            const int8_t *f_row = f + ky * k_w * f_c;
            if (contiguous) {
                if (kx_end > kx_begin) {
                    acc += tc_dot_s16_s8(row + (in_x0 + kx_begin) * in_c,
                                         f_row + kx_begin * f_c, (kx_end - kx_begin) * f_c);
                }
                continue;
            }
            for (int32_t kx = 0; kx < k_w; ++kx) {
                const int32_t in_x = in_x0 + kx * params->dilation.w;
                if (in_x >= 0 && in_x < in_w) {
                    acc += tc_dot_s16_s8(row + in_x * in_c + group * f_c, f_row + kx * f_c, f_c);
                }
            }
        }
        *output++ = conv_output(params, quant, bias, oc, acc);
    }
    return output;
}

tc_status tc_convolve_s16(const tc_context *ctx, const tc_conv_params *params,
                          const tc_per_channel_quant_params *quant,
                          const tc_dims *input_dims, const int16_t *input,
                          const tc_dims *filter_dims, const int8_t *filter,
                          const tc_dims *bias_dims, const int64_t *bias,
                          const tc_dims *output_dims, int16_t *output)
{
    (void)ctx;
    (void)bias_dims;
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w, f_c = filter_dims->c;
    const int32_t out_c = output_dims->c;
    if (params->input_offset != 0 || f_c < 1 || in_c % f_c != 0 || filter_dims->n != out_c ||
        out_c % (in_c / f_c) != 0 || input_dims->n != output_dims->n ||
        params->stride.h < 1 || params->stride.w < 1 || params->dilation.h < 1 ||
        params->dilation.w < 1) {
        TC_RETURN_ARG_ERROR();
    }
    const int32_t groups = in_c / f_c;
    const int32_t per_group = out_c / groups;
    const int32_t patch = k_h * k_w * f_c;
    int16_t column[TC_CONV_S16_COLUMN];
    for (int32_t b = 0; b < output_dims->n; ++b) {
        const int16_t *image = input + (int32_t)b * in_h * in_w * in_c;
        for (int32_t out_y = 0; out_y < output_dims->h; ++out_y) {
            const int32_t in_y0 = out_y * params->stride.h - params->padding.h;
            for (int32_t out_x = 0; out_x < output_dims->w; ++out_x) {
                const int32_t in_x0 = out_x * params->stride.w - params->padding.w;
                if (patch <= TC_CONV_S16_COLUMN) {
                    for (int32_t g = 0; g < groups; ++g) {
                        const int16_t *col = gather(params, input_dims, image, filter_dims, g,
                                                    in_y0, in_x0, column);
                        output = conv_group_column(params, quant, bias, filter, patch,
                                                   g * per_group, (g + 1) * per_group, col,
                                                   output);
                    }
                } else {
                    output = conv_taps(params, quant, input_dims, image, filter_dims, filter,
                                       bias, out_c, per_group, in_y0, in_x0, output);
                }
            }
        }
    }
    return TC_OK;
}

