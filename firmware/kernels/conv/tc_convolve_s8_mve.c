/*
 * tc_convolve_s8 for Helium (Cortex-M55/M85): im2col into four int8 columns, then each
 * filter row is dotted with the four columns 16 bytes at a time (VMLADAVA), the last
 * partial vector under a VCTP tail predicate.
 *
 * Columns hold raw input bytes, with padding taps set to the input zero point
 * (-input_offset, always an int8), so sum(f * (x + offset)) = sum(f * x) + offset * sum(f)
 * holds for every tap; sum(f) comes from the same filter vectors (VADDVA). All sums are
 * exact integers, so the result equals the portable kernel's byte for byte.
 */
#include "tc_conv_internal.h"

#if TC_CONV_MVE

#include <arm_mve.h>

#define COLUMNS 4

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

tc_status tc_convolve_s8(const tc_context *ctx, const tc_conv_params *params,
                         const tc_per_channel_quant_params *quant,
                         const tc_dims *input_dims, const int8_t *input,
                         const tc_dims *filter_dims, const int8_t *filter,
                         const tc_dims *bias_dims, const int32_t *bias,
                         const tc_dims *output_dims, int8_t *output)
{
    (void)bias_dims;
    if (!tc_conv_args_valid(ctx, params, quant, input_dims, input, filter_dims, filter,
                            output_dims, output,
                            tc_convolve_s8_get_buffer_size(input_dims, filter_dims))) {
        return TC_ARG_ERROR;
    }
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
            for (int32_t oc = g * filters_per_group; oc < (g + 1) * filters_per_group; ++oc) {
                const int8_t *row = filter + oc * k_len;
                if (n_cols == COLUMNS) {
                    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, f_sum = 0;
                    for (int32_t k = 0; k < k_len; k += 16) {
                        const mve_pred16_t tail = vctp8q((uint32_t)(k_len - k));
                        /* Lanes past the end load as 0 and add nothing. */
                        const int8x16_t f = vldrbq_z_s8(row + k, tail);
                        f_sum = vaddvaq_s8(f_sum, f);
                        a0 = vmladavaq_s8(a0, f, vldrbq_z_s8(columns + k, tail));
                        a1 = vmladavaq_s8(a1, f, vldrbq_z_s8(columns + k_len + k, tail));
                        a2 = vmladavaq_s8(a2, f, vldrbq_z_s8(columns + 2 * k_len + k, tail));
                        a3 = vmladavaq_s8(a3, f, vldrbq_z_s8(columns + 3 * k_len + k, tail));
                    }
                    const int32_t offset_term = f_sum * input_offset;
                    int8_t *out = output + p * out_c;
                    store_output(out, a0 + offset_term, oc, bias, params, quant);
                    store_output(out + out_c, a1 + offset_term, oc, bias, params, quant);
                    store_output(out + 2 * out_c, a2 + offset_term, oc, bias, params, quant);
                    store_output(out + 3 * out_c, a3 + offset_term, oc, bias, params, quant);
                } else {
                    for (int32_t j = 0; j < n_cols; ++j) {
                        const int8_t *col = columns + j * k_len;
                        int32_t acc = 0, f_sum = 0;
                        for (int32_t k = 0; k < k_len; k += 16) {
                            const mve_pred16_t tail = vctp8q((uint32_t)(k_len - k));
                            const int8x16_t f = vldrbq_z_s8(row + k, tail);
                            f_sum = vaddvaq_s8(f_sum, f);
                            acc = vmladavaq_s8(acc, f, vldrbq_z_s8(col + k, tail));
                        }
                        store_output(output + (p + j) * out_c, acc + f_sum * input_offset, oc,
                                     bias, params, quant);
                    }
                }
            }
        }
        for (int32_t j = 0; j < n_cols; ++j) {
            tc_pixel_next(&px, output_dims);
        }
    }
    return TC_OK;
}

#endif /* TC_CONV_MVE */
