/*
 * DEPTHWISE_CONV_2D, 16x8 (int16 activations, int8 weights): TFLite's
 * reference_integer_ops::DepthwiseConvPerChannel for int16 input:
 *   acc = sum over taps inside the image of filter * input (int64, input offset 0)
 *         + bias[oc] (int64)
 *   out = clamp(tc_requantize_s64(acc, multiplier[oc], shift[oc]) + output_offset)
 * with output channel oc = ic * ch_mult + m reading input channel ic. Any depth
 * multiplier, stride, padding, dilation and batch count.
 *
 * SIMD (depth multiplier 1, at most TC_DW_S16_MAX_TAPS taps): the taps of a few channels
 * are summed in int32 lanes, exact because one product is at most 2^15 * 2^7 = 2^22 in
 * magnitude and fewer than 2^9 of them fit in 2^31; the bias is added in int64 after.
 * Armv7E-M DSP: four channels per step (SMLABB/SMLATB/SMLABT/SMLATT on the paired int16
 * inputs and the SXTB16-widened weights); Helium: four channels per VMUL.S32 + VADD on
 * widening loads. Every other case runs the reference loop. No scratch.
 */
#include "tc_nn_dwconv_pool.h"
#include "tc_nn_s16_support.h"

#define TC_DW_S16_MAX_TAPS 511

static inline int16_t dw_output(const tc_dw_conv_params *params,
                                const tc_per_channel_quant_params *quant, const int64_t *bias,
                                int32_t oc, int64_t acc)
{
    if (bias != NULL) {
        acc += bias[oc];
    }
    const int32_t scaled = tc_requantize_s64(acc, quant->multiplier[oc], quant->shift[oc]);
    return tc_clamp_s16(tc_add_wrap(scaled, params->output_offset), params->activation);
}

/* The taps [*begin, *end) of a filter axis whose input coordinate origin + k * dilation
 * lies in [0, size). */
static inline void tap_range(int32_t origin, int32_t dilation, int32_t size, int32_t taps,
                             int32_t *begin, int32_t *end)
{
    *begin = origin < 0 ? (-origin + dilation - 1) / dilation : 0;
    *end = origin >= size ? 0 : TC_MIN(taps, (size - origin + dilation - 1) / dilation);
}

tc_status tc_depthwise_conv_s16(const tc_context *ctx, const tc_dw_conv_params *params,
                                const tc_per_channel_quant_params *quant,
                                const tc_dims *input_dims, const int16_t *input,
                                const tc_dims *filter_dims, const int8_t *filter,
                                const tc_dims *bias_dims, const int64_t *bias,
                                const tc_dims *output_dims, int16_t *output)
{
    (void)ctx;
    (void)bias_dims;
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t out_c = output_dims->c, mult = params->ch_mult;
    if (params->input_offset != 0 || mult < 1 || out_c != in_c * mult ||
        filter_dims->c != out_c || filter_dims->n != 1 || output_dims->n != input_dims->n ||
        params->stride.h < 1 || params->stride.w < 1 || params->dilation.h < 1 ||
        params->dilation.w < 1) {
        TC_RETURN_ARG_ERROR();
    }
#if !TC_ISA_PORTABLE
    const int simd = mult == 1 && k_h * k_w <= TC_DW_S16_MAX_TAPS;
#endif
    for (int32_t b = 0; b < output_dims->n; ++b) {
        const int16_t *image = input + (int32_t)b * in_h * in_w * in_c;
        for (int32_t out_y = 0; out_y < output_dims->h; ++out_y) {
            const int32_t in_y0 = out_y * params->stride.h - params->padding.h;
            for (int32_t out_x = 0; out_x < output_dims->w; ++out_x) {
                const int32_t in_x0 = out_x * params->stride.w - params->padding.w;
                int32_t c = 0;
#if !TC_ISA_PORTABLE
                int32_t ky_begin, ky_end, kx_begin, kx_end;
                tap_range(in_y0, params->dilation.h, in_h, k_h, &ky_begin, &ky_end);
                tap_range(in_x0, params->dilation.w, in_w, k_w, &kx_begin, &kx_end);
                const int32_t x_step = params->dilation.w * in_c;
                const int32_t y_step = params->dilation.h * in_w * in_c;
                const int16_t *x_first =
                    image + ((in_y0 + ky_begin * params->dilation.h) * in_w + in_x0 +
                             kx_begin * params->dilation.w) * in_c;
#endif
#if TC_ISA_DSP
                for (; simd && c + 4 <= out_c; c += 4) {
                    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
                    const int16_t *x_row = x_first + c;
                    for (int32_t ky = ky_begin; ky < ky_end; ++ky, x_row += y_step) {
                        const int16_t *x = x_row;
                        const int8_t *f = filter + (ky * k_w + kx_begin) * out_c + c;
                        for (int32_t kx = kx_begin; kx < kx_end; ++kx, x += x_step, f += out_c) {
                            const int32_t four = tc_read_s32(f);
                            const int32_t we = tc_sxtb16_even(four), wo = tc_sxtb16_odd(four);
                            const int32_t x01 = tc_read_s32(x), x23 = tc_read_s32(x + 2);
                            a0 = __smlabb(x01, we, a0);
                            a1 = __smlatb(x01, wo, a1);
                            a2 = __smlabt(x23, we, a2);
                            a3 = __smlatt(x23, wo, a3);
                        }
                    }
                    output[c] = dw_output(params, quant, bias, c, a0);
                    output[c + 1] = dw_output(params, quant, bias, c + 1, a1);
                    output[c + 2] = dw_output(params, quant, bias, c + 2, a2);
                    output[c + 3] = dw_output(params, quant, bias, c + 3, a3);
                }
#elif TC_ISA_MVE
                for (; simd && c < out_c; c += 4) {
                    const mve_pred16_t p = vctp32q((uint32_t)(out_c - c));
                    int32x4_t acc = vdupq_n_s32(0);
                    const int16_t *x_row = x_first + c;
                    for (int32_t ky = ky_begin; ky < ky_end; ++ky, x_row += y_step) {
                        const int16_t *x = x_row;
                        const int8_t *f = filter + (ky * k_w + kx_begin) * out_c + c;
                        for (int32_t kx = kx_begin; kx < kx_end; ++kx, x += x_step, f += out_c) {
                            acc = vaddq_s32(acc, vmulq_s32(vldrhq_z_s32(x, p), vldrbq_z_s32(f, p)));
                        }
                    }
                    int32_t lanes[4];
                    vst1q_s32(lanes, acc);
                    for (int32_t j = 0; j < 4 && c + j < out_c; ++j) {
                        output[c + j] = dw_output(params, quant, bias, c + j, lanes[j]);
                    }
                }
#endif
                for (; c < out_c; ++c) {
                    const int32_t ic = c / mult;
                    int64_t acc = 0;
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
                            acc += (int32_t)image[(in_y * in_w + in_x) * in_c + ic] *
                                   (int32_t)filter[(ky * k_w + kx) * out_c + c];
                        }
                    }
                    output[c] = dw_output(params, quant, bias, c, acc);
                }
                output += out_c;
            }
        }
    }
    return TC_OK;
}

