/*
 * tc_convolve_s8, portable C: TFLite's reference_integer_ops::ConvPerChannel, loop for
 * loop, with groups. Padding is "skip the taps outside the image", which is the same as
 * padding with the input zero point. Also the scratch rule for every ISA.
 */
#include "tc_conv_internal.h"

int32_t tc_convolve_s8_get_fast_buffer_size(const tc_dims *input_dims,
                                            const tc_dims *filter_dims)
{
    (void)input_dims;
#if TC_CONV_REF
    (void)filter_dims;
    return 0;
#else
    /* im2col: DSP two columns of int16, MVE four columns of int8. */
    return 4 * filter_dims->h * filter_dims->w * filter_dims->c;
#endif
}

int32_t tc_convolve_s8_get_buffer_size(const tc_dims *input_dims, const tc_dims *filter_dims)
{
    (void)input_dims;
    (void)filter_dims;
    return 0; /* every variant runs without scratch; the fast size is optional */
}

#if TC_CONV_REF

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
    return TC_OK;
}

#endif /* TC_CONV_REF */
