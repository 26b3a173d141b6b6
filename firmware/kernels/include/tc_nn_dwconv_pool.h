/*
 * tinyconv int8 kernels: depthwise convolution (also in place), pooling, MEAN, PAD,
 * CONCATENATION and TRANSPOSE.
 *
 * Semantics are TFLite's int8 reference kernels as LiteRT's BUILTIN_REF resolver runs
 * them (tensorflow/lite/kernels/internal/reference/...), bit for bit. Each public
 * function dispatches to a Helium (MVE) or Armv7E-M DSP variant when the compiler
 * targets one and the case is one the variant handles; -DTC_REFERENCE_KERNELS forces
 * the portable reference code everywhere.
 */
#ifndef TC_NN_DWCONV_POOL_H
#define TC_NN_DWCONV_POOL_H

#include <stdint.h>

#include "tc_nn_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* -- depthwise convolution ---------------------------------------------------------- */

/*
 * DEPTHWISE_CONV_2D: output channel oc = ic * ch_mult + m reads input channel ic only.
 * filter_dims = {1, KH, KW, C_out}; bias (int32, one per output channel) may be NULL.
 * Any depth multiplier, stride, padding, dilation and batch count.
 */
tc_status tc_depthwise_conv_s8(const tc_context *ctx, const tc_dw_conv_params *params,
                               const tc_per_channel_quant_params *quant,
                               const tc_dims *input_dims, const int8_t *input,
                               const tc_dims *filter_dims, const int8_t *filter,
                               const tc_dims *bias_dims, const int32_t *bias,
                               const tc_dims *output_dims, int8_t *output);

/* No scratch: 0. Present so every depthwise variant can be sized the same way. */
int32_t tc_depthwise_conv_s8_get_buffer_size(const tc_dims *output_dims);

/*
 * In-place depthwise convolution (MCUNet): `output` is the same buffer as `input`.
 * Requires ch_mult == 1 and one batch. Channels are processed in blocks of
 * TC_DW_INPLACE_CHANNEL_BLOCK through ctx->buf, which must hold
 * tc_depthwise_conv_inplace_s8_get_buffer_size(output_dims) bytes.
 */
#define TC_DW_INPLACE_CHANNEL_BLOCK 4

tc_status tc_depthwise_conv_inplace_s8(const tc_context *ctx, const tc_dw_conv_params *params,
                                       const tc_per_channel_quant_params *quant,
                                       const tc_dims *input_dims, const int8_t *input,
                                       const tc_dims *filter_dims, const int8_t *filter,
                                       const tc_dims *bias_dims, const int32_t *bias,
                                       const tc_dims *output_dims, int8_t *output);

/* output_h * output_w * min(C, TC_DW_INPLACE_CHANNEL_BLOCK) bytes. */
int32_t tc_depthwise_conv_inplace_s8_get_buffer_size(const tc_dims *output_dims);

/* -- pooling ------------------------------------------------------------------------ */

/*
 * AVERAGE_POOL_2D / MAX_POOL_2D, filter_dims = {1, FH, FW, 1}. The window is clipped to
 * the image (padding never counts); the average divides by the clipped count and rounds
 * half away from zero. Input and output share their quantization (TFLite's rule), so no
 * rescaling happens; the activation clamp is in the output's domain. No scratch.
 */
tc_status tc_avgpool_s8(const tc_context *ctx, const tc_pool_params *params,
                        const tc_dims *input_dims, const int8_t *input,
                        const tc_dims *filter_dims, const tc_dims *output_dims,
                        int8_t *output);

tc_status tc_max_pool_s8(const tc_context *ctx, const tc_pool_params *params,
                         const tc_dims *input_dims, const int8_t *input,
                         const tc_dims *filter_dims, const tc_dims *output_dims,
                         int8_t *output);

/* -- PAD / PADV2 -------------------------------------------------------------------- */

/*
 * Constant padding in 4D. `before` is the leading padding of each dimension; the
 * trailing padding follows from output_dims. pad_value is the output zero point (PAD)
 * or PADV2's quantized constant.
 */
typedef struct {
    tc_dims before;
    int32_t pad_value;
} tc_pad_params;

tc_status tc_pad_s8(const tc_pad_params *params, const tc_dims *input_dims,
                    const int8_t *input, const tc_dims *output_dims, int8_t *output);

/* -- CONCATENATION ------------------------------------------------------------------ */

/*
 * One input of a concatenation. Every tensor is viewed as [outer, axis * inner]; each
 * outer step copies copy_size elements of every input in turn.
 * requantize == 0: the input's scale and zero point equal the output's (a byte copy).
 * Otherwise, as TFLite's ConcatenationWithScaling: round(x * scale + bias) + output zp,
 * in float, rounding half away from zero.
 */
typedef struct {
    int32_t copy_size;
    int32_t requantize;
    float scale; /* input_scale * (1.0f / output_scale), in float */
    float bias;  /* -input_zero_point * scale, in float */
} tc_concat_input;

typedef struct {
    int32_t num_inputs;
    int32_t outer_size;
    int32_t output_offset; /* +output zero point, used when requantizing */
    tc_activation activation;
} tc_concat_params;

tc_status tc_concatenation_s8(const tc_concat_params *params, const tc_concat_input *input_info,
                              const int8_t *const *inputs, int8_t *output);

/* -- TRANSPOSE ---------------------------------------------------------------------- */

#define TC_TRANSPOSE_MAX_DIMS 5

/*
 * Any permutation of up to 5 dimensions; lower ranks are given with leading 1s and the
 * permutation extended to match. output dim i = input_shape[perm[i]].
 */
typedef struct {
    int32_t input_shape[TC_TRANSPOSE_MAX_DIMS];
    int32_t perm[TC_TRANSPOSE_MAX_DIMS];
} tc_transpose_params;

tc_status tc_transpose_s8(const tc_transpose_params *params, const int8_t *input,
                          int8_t *output);

/* The same for int16 elements (LiteRT's int16 TRANSPOSE: the values are only moved). */
tc_status tc_transpose_s16(const tc_transpose_params *params, const int16_t *input,
                           int16_t *output);

/* -- 16-bit activations ---------------------------------------------------------------- */

/* DEPTHWISE_CONV_2D 16x8: int16 activations (input offset 0), int8 weights, int64 bias;
 * acc in int64, requantized by tc_requantize_s64 (tc_nn_s16_support.h). No scratch. */
tc_status tc_depthwise_conv_s16(const tc_context *ctx, const tc_dw_conv_params *params,
                                const tc_per_channel_quant_params *quant,
                                const tc_dims *input_dims, const int16_t *input,
                                const tc_dims *filter_dims, const int8_t *filter,
                                const tc_dims *bias_dims, const int64_t *bias,
                                const tc_dims *output_dims, int16_t *output);

/* AVERAGE_POOL_2D / MAX_POOL_2D on int16, as the int8 kernels (reference_integer_ops
 * AveragePool / MaxPool for int16: the same int32 sum and rounding division). */
tc_status tc_avgpool_s16(const tc_context *ctx, const tc_pool_params *params,
                         const tc_dims *input_dims, const int16_t *input,
                         const tc_dims *filter_dims, const tc_dims *output_dims,
                         int16_t *output);

tc_status tc_max_pool_s16(const tc_context *ctx, const tc_pool_params *params,
                          const tc_dims *input_dims, const int16_t *input,
                          const tc_dims *filter_dims, const tc_dims *output_dims,
                          int16_t *output);

/* PAD / PADV2 on int16 (pad_value: the int16 output zero point or PADV2's constant). */
tc_status tc_pad_s16(const tc_pad_params *params, const tc_dims *input_dims,
                     const int16_t *input, const tc_dims *output_dims, int16_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TC_NN_DWCONV_POOL_H */
