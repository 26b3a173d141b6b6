/*
 * tinyconv int8 kernels: convolution, 1x1 convolution and fully connected.
 *
 * Semantics are TFLite's CONV_2D (reference_integer_ops::ConvPerChannel, with groups)
 * and FULLY_CONNECTED (reference_integer_ops::FullyConnected / FullyConnectedPerChannel):
 *   acc = sum(filter * (input + input_offset)) + bias
 *   out = clamp(tc_requantize(acc, multiplier[c], shift[c]) + output_offset, act.min, act.max)
 * Each kernel has a portable C version and, selected by the compiler's target macros,
 * an Armv7E-M DSP (__ARM_FEATURE_DSP) and a Helium (__ARM_FEATURE_MVE) version; all give
 * the same bytes. -DTC_REFERENCE_KERNELS forces the portable version.
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
 * channels per group. bias may be NULL. ctx->buf must hold
 * tc_convolve_s8_get_buffer_size() bytes (no alignment needed).
 */
tc_status tc_convolve_s8(const tc_context *ctx, const tc_conv_params *params,
                         const tc_per_channel_quant_params *quant,
                         const tc_dims *input_dims, const int8_t *input,
                         const tc_dims *filter_dims, const int8_t *filter,
                         const tc_dims *bias_dims, const int32_t *bias,
                         const tc_dims *output_dims, int8_t *output);

/* Scratch of tc_convolve_s8 for the ISA this file is compiled for:
 * portable 0; DSP two int16 im2col columns; MVE four int8 columns
 * (both 4 * filter h * w * c bytes). Mirrors tinyconv.ir.ops.Conv2D.scratch_bytes. */
int32_t tc_convolve_s8_get_buffer_size(const tc_dims *input_dims, const tc_dims *filter_dims);

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
 * unit), output {batches, 1, 1, units}. Per-channel requantization (per-tensor layers
 * pass arrays with one value repeated). bias may be NULL. No scratch.
 */
tc_status tc_fully_connected_s8(const tc_context *ctx, const tc_fc_params *params,
                                const tc_per_channel_quant_params *quant,
                                const tc_dims *input_dims, const int8_t *input,
                                const tc_dims *filter_dims, const int8_t *filter,
                                const tc_dims *bias_dims, const int32_t *bias,
                                const tc_dims *output_dims, int8_t *output);

int32_t tc_fully_connected_s8_get_buffer_size(const tc_dims *filter_dims);

#ifdef __cplusplus
}
#endif

#endif /* TC_NN_CONV_H */
