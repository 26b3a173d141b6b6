/*
 * DEPTHWISE_CONV_2D, int8, per-channel quantization.
 *
 * The reference loop below is TFLite's reference_integer_ops::DepthwiseConvPerChannel:
 *   acc = sum over valid taps of (input + input_offset) * filter  (+ bias)
 *   out = clamp(requantize(acc, multiplier[oc], shift[oc]) + output_offset)
 * where output channel oc = ic * ch_mult + m reads input channel ic, and taps that fall
 * in the padding are skipped (they contribute nothing, which is what padding with the
 * input zero point means).
 *
 * On a DSP or MVE target, with depth multiplier 1 or a multiple of 4, the output is
 * computed four channels at a time (tc_dw_plane4_s8, tails tc_dw_block_s8: see
 * tc_dw_block_s8.c); every other case runs the reference loop.
 */
#include "tc_nn_dwconv_pool.h"
#include "tc_nn_support.h"
#include "tc_dwconv_block.h"

static tc_status check_shapes(const tc_dw_conv_params *params, const tc_dims *input_dims,
                              const tc_dims *filter_dims, const tc_dims *output_dims)
{
    if (params->ch_mult < 1 || output_dims->c != input_dims->c * params->ch_mult ||
        filter_dims->c != output_dims->c || filter_dims->n != 1 ||
        output_dims->n != input_dims->n || params->stride.h < 1 || params->stride.w < 1 ||
        params->dilation.h < 1 || params->dilation.w < 1) {
        TC_RETURN_ARG_ERROR();
    }
    return TC_OK;
}

static void depthwise_reference(const tc_dw_conv_params *params,
                                const tc_per_channel_quant_params *quant,
                                const tc_dims *input_dims, const int8_t *input,
                                const tc_dims *filter_dims, const int8_t *filter,
                                const int32_t *bias, const tc_dims *output_dims, int8_t *output)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;

    for (int32_t b = 0; b < input_dims->n; ++b) {
        for (int32_t out_y = 0; out_y < out_h; ++out_y) {
            const int32_t in_y0 = out_y * params->stride.h - params->padding.h;
            for (int32_t out_x = 0; out_x < out_w; ++out_x) {
                const int32_t in_x0 = out_x * params->stride.w - params->padding.w;
                for (int32_t ic = 0; ic < in_c; ++ic) {
                    for (int32_t m = 0; m < params->ch_mult; ++m) {
                        const int32_t oc = ic * params->ch_mult + m;
                        int32_t acc = 0;
                        for (int32_t ky = 0; ky < k_h; ++ky) {
                            const int32_t in_y = in_y0 + ky * params->dilation.h;
                            if (in_y < 0 || in_y >= in_h) {
                                continue;
                            }
                            for (int32_t kx = 0; kx < k_w; ++kx) {
                                const int32_t in_x = in_x0 + kx * params->dilation.w;
                                if (in_x < 0 || in_x >= in_w) {
                                    continue;
                                }
                                const int32_t x =
                                    input[((b * in_h + in_y) * in_w + in_x) * in_c + ic];
                                const int32_t w = filter[(ky * k_w + kx) * out_c + oc];
                                acc += (x + params->input_offset) * w;
                            }
                        }
                        if (bias != NULL) {
                            acc = tc_add_wrap(acc, bias[oc]);
                        }
                        acc = tc_requantize(acc, quant->multiplier[oc], quant->shift[oc]);
                        acc = tc_add_wrap(acc, params->output_offset);
                        output[((b * out_h + out_y) * out_w + out_x) * out_c + oc] =
                            (int8_t)TC_CLAMP(acc, params->activation.min,
                                             params->activation.max);
                    }
                }
            }
        }
    }
}

#if !TC_ISA_PORTABLE
/* Depth multiplier 1 or a multiple of 4: four output channels at a time over the whole
 * image (tc_dw_plane4_s8), a channel tail (multiplier 1) pixel by pixel. */
static void depthwise_blocks(const tc_dw_conv_params *params,
                             const tc_per_channel_quant_params *quant,
                             const tc_dims *input_dims, const int8_t *input,
                             const tc_dims *filter_dims, const int8_t *filter,
                             const int32_t *bias, const tc_dims *output_dims, int8_t *output)
{
    const int32_t channels = output_dims->c;
    const int32_t out_h = output_dims->h, out_w = output_dims->w;
    for (int32_t b = 0; b < input_dims->n; ++b) {
        tc_dw_geometry g;
        tc_dw_geometry_init(&g, params, quant, input_dims, input, filter_dims, filter, bias, b);
        int32_t c_done = 0;
        for (; c_done + 4 <= channels; c_done += 4) {
            tc_dw_plane4_s8(&g, out_h, out_w, c_done, output + c_done, channels);
        }
        if (c_done < channels) {
            int8_t *out = output;
            for (int32_t out_y = 0; out_y < out_h; ++out_y) {
                for (int32_t out_x = 0; out_x < out_w; ++out_x) {
                    tc_dw_block_s8(&g, out_y, out_x, c_done, channels - c_done, out + c_done);
                    out += channels;
                }
            }
        }
        output += out_h * out_w * channels;
    }
}
#endif

tc_status tc_depthwise_conv_s8(const tc_context *ctx, const tc_dw_conv_params *params,
                               const tc_per_channel_quant_params *quant,
                               const tc_dims *input_dims, const int8_t *input,
                               const tc_dims *filter_dims, const int8_t *filter,
                               const tc_dims *bias_dims, const int32_t *bias,
                               const tc_dims *output_dims, int8_t *output)
{
    (void)ctx;
    (void)bias_dims;
    if (check_shapes(params, input_dims, filter_dims, output_dims) != TC_OK) {
        TC_RETURN_ARG_ERROR();
    }
#if !TC_ISA_PORTABLE
    if (params->ch_mult == 1 || params->ch_mult % 4 == 0) {
        depthwise_blocks(params, quant, input_dims, input, filter_dims, filter, bias,
                         output_dims, output);
        return TC_OK;
    }
#endif
    depthwise_reference(params, quant, input_dims, input, filter_dims, filter, bias,
                        output_dims, output);
    return TC_OK;
}
