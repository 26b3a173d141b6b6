/*
 * tinyconv int8 kernels: convolution, 1x1 convolution and fully connected.
 *
 * Semantics are TFLite's CONV_2D (reference_integer_ops::ConvPerChannel, with groups)
 * and FULLY_CONNECTED (reference_integer_ops::FullyConnected / FullyConnectedPerChannel):
 *   acc = sum(filter * (input + input_offset)) + bias
 *   out = clamp(tc_requantize(acc, multiplier[c], shift[c]) + output_offset, act.min, act.max)
 * (tc_fully_connected_f64_s8 requantizes as LiteRT does instead, see there.)
 * Each kernel has a portable C version and, selected by the compiler's target macros, an
 * Armv7E-M DSP (TC_ISA_DSP) and a Helium (TC_ISA_MVE) version; all give the
 * same bytes. -DTC_REFERENCE_KERNELS forces the portable version (tc_nn_math_types.h).
 */
#ifndef TC_NN_CONV_H
#define TC_NN_CONV_H

#include "tc_nn_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * General convolution: any kernel size, stride, dilation, SAME/VALID padding (top/left
 * in params->padding), batches and groups (groups = input_dims->c / filter_dims->c;
 * output channels are split evenly across groups). Filter is OHWI with I = input
 * channels per group. bias may be NULL. ctx->buf must hold at least
 * tc_convolve_s8_get_buffer_size() bytes, more makes it faster (below); no alignment
 * needed.
 */
tc_status tc_convolve_s8(const tc_context *ctx, const tc_conv_params *params,
                         const tc_per_channel_quant_params *quant,
                         const tc_dims *input_dims, const int8_t *input,
                         const tc_dims *filter_dims, const int8_t *filter,
                         const tc_dims *bias_dims, const int32_t *bias,
                         const tc_dims *output_dims, int8_t *output);

/*
 * Scratch of tc_convolve_s8, for the ISA this library is compiled for. The portable
 * kernel needs none. The SIMD kernels are fastest with im2col columns (DSP two int16
 * columns, MVE four int8 columns: 4 * filter h * w * c bytes, the "fast" size) and use
 * them whenever ctx->size allows; without them they read the input in place (fastest
 * when the input channels per group are a multiple of 4 (DSP) or 16 (MVE)).
 * get_buffer_size is the minimum, 0; get_fast_buffer_size the optional size.
 * tinyconv.ir.ops.Conv2D.scratch_bytes / fast_scratch_bytes ask these (tinyconv/kernel_lib.py).
 */
int32_t tc_convolve_s8_get_buffer_size(const tc_dims *input_dims, const tc_dims *filter_dims);
int32_t tc_convolve_s8_get_fast_buffer_size(const tc_dims *input_dims,
                                            const tc_dims *filter_dims);

/* Stack bytes tc_convolve_s8 takes for its im2col columns when ctx gives fewer than the
 * fast size: the fast size where it is at most TC_CONV_STACK_COLUMN_BYTES (DSP, MVE), else
 * 0 (the in-place path). */
#define TC_CONV_STACK_COLUMN_BYTES 512
int32_t tc_convolve_s8_get_stack_buffer_size(const tc_dims *input_dims,
                                             const tc_dims *filter_dims);

/* 1x1 filter, stride 1, no padding, one group: a GEMM over pixels. No scratch. */
tc_status tc_convolve_1x1_s8(const tc_context *ctx, const tc_conv_params *params,
                             const tc_per_channel_quant_params *quant,
                             const tc_dims *input_dims, const int8_t *input,
                             const tc_dims *filter_dims, const int8_t *filter,
                             const tc_dims *bias_dims, const int32_t *bias,
                             const tc_dims *output_dims, int8_t *output);

int32_t tc_convolve_1x1_s8_get_buffer_size(const tc_dims *input_dims,
                                           const tc_dims *filter_dims);

/*
 * Fully connected: input {batches, 1, 1, depth}, filter {units, 1, 1, depth} (row per
 * unit), output {batches, 1, 1, units}; bias may be NULL; no scratch.
 *   acc = sum((filter + filter_offset) * (input + input_offset)) + bias
 *
 * Two requantizations, because TFLite's two runtimes differ here:
 * - tc_fully_connected_s8: TFLite's fixed-point multiplier per unit (per-tensor layers
 *   repeat one value), as TFLite Micro and CMSIS-NN compute it.
 * - tc_fully_connected_f64_s8: as LiteRT's reference kernel computes it, in double,
 *   out = round((double)acc * scale[u]) with scale = (double)s_in * s_w[u] / s_out and
 *   round() taking halves away from zero. The kernel reproduces that double product and
 *   round() bit for bit with integer arithmetic (no FPU or soft-float needed).
 */
tc_status tc_fully_connected_s8(const tc_context *ctx, const tc_fc_params *params,
                                const tc_per_channel_quant_params *quant,
                                const tc_dims *input_dims, const int8_t *input,
                                const tc_dims *filter_dims, const int8_t *filter,
                                const tc_dims *bias_dims, const int32_t *bias,
                                const tc_dims *output_dims, int8_t *output);

/* A double scale given exactly: scale = mantissa * 2^-exponent, where mantissa is the
 * double's 53-bit significand (2^52 <= mantissa < 2^53, or 0 for a zero scale). */
typedef struct {
    const int64_t *mantissa;
    const int32_t *exponent;
} tc_f64_scale_params;

tc_status tc_fully_connected_f64_s8(const tc_context *ctx, const tc_fc_params *params,
                                    const tc_f64_scale_params *scale,
                                    const tc_dims *input_dims, const int8_t *input,
                                    const tc_dims *filter_dims, const int8_t *filter,
                                    const tc_dims *bias_dims, const int32_t *bias,
                                    const tc_dims *output_dims, int8_t *output);

int32_t tc_fully_connected_s8_get_buffer_size(const tc_dims *filter_dims);

/* -- 16x8: int16 activations, int8 weights, int64 bias (tc_nn_s16_support.h) --------- */

/*
 * CONV_2D 16x8, as LiteRT's reference ConvPerChannel for int16 input: acc = sum(filter *
 * input) + bias in int64 (input offset must be 0: int16 activations are symmetric),
 * out = clamp(tc_requantize_s64(acc, multiplier[oc], shift[oc]) + output_offset). Any
 * filter size, stride, dilation, padding and groups; bias may be NULL; no scratch.
 */
tc_status tc_convolve_s16(const tc_context *ctx, const tc_conv_params *params,
                          const tc_per_channel_quant_params *quant,
                          const tc_dims *input_dims, const int16_t *input,
                          const tc_dims *filter_dims, const int8_t *filter,
                          const tc_dims *bias_dims, const int64_t *bias,
                          const tc_dims *output_dims, int16_t *output);

/* FULLY_CONNECTED 16x8: TFLite Micro's fixed-point requantization (tc_requantize_s64). */
tc_status tc_fully_connected_s16(const tc_context *ctx, const tc_fc_params *params,
                                 const tc_per_channel_quant_params *quant,
                                 const tc_dims *input_dims, const int16_t *input,
                                 const tc_dims *filter_dims, const int8_t *filter,
                                 const tc_dims *bias_dims, const int64_t *bias,
                                 const tc_dims *output_dims, int16_t *output);

/* FULLY_CONNECTED 16x8 as LiteRT's reference kernel requantizes it, in double. */
tc_status tc_fully_connected_f64_s16(const tc_context *ctx, const tc_fc_params *params,
                                     const tc_f64_scale_params *scale,
                                     const tc_dims *input_dims, const int16_t *input,
                                     const tc_dims *filter_dims, const int8_t *filter,
                                     const tc_dims *bias_dims, const int64_t *bias,
                                     const tc_dims *output_dims, int16_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TC_NN_CONV_H */
