/* tinyconv kernels: resize, transpose convolution, batch matmul. */
#ifndef TC_NN_SPATIAL_H
#define TC_NN_SPATIAL_H

#include "tc_nn_types.h"

/* -- RESIZE_NEAREST_NEIGHBOR ------------------------------------------------------------ */

/*
 * Output pixel (y, x) copies input pixel (rows[y], cols[x]), all channels. The code
 * generator computes the two index tables with TFLite's float arithmetic
 * (reference_ops::GetNearestNeighbor: scale, offset, floor or round, clamps), so the kernel
 * is pure data movement, for any element size.
 */
typedef struct {
    const int32_t *rows; /* output_dims->h input row indices */
    const int32_t *cols; /* output_dims->w input column indices */
} tc_resize_nearest_params;

tc_status tc_resize_nearest_s8(const tc_resize_nearest_params *params,
                               const tc_dims *input_dims, const int8_t *input,
                               const tc_dims *output_dims, int8_t *output);
tc_status tc_resize_nearest_s16(const tc_resize_nearest_params *params,
                                const tc_dims *input_dims, const int16_t *input,
                                const tc_dims *output_dims, int16_t *output);

/* -- RESIZE_BILINEAR -------------------------------------------------------------------- */

/*
 * TFLite's reference_ops::ResizeBilinearInteger (10-bit fractions, all integer): the scales
 * scale_h / scale_w are round(2^10 * in / out) (align_corners: (in - 1) / (out - 1)) as the
 * code generator computes them; half_pixel_centers shifts the sample points by half a
 * pixel. Input and output share their quantization (the codes are interpolated).
 */
typedef struct {
    int32_t scale_h; /* 2^10 * input height / output height, rounded */
    int32_t scale_w;
    int32_t half_pixel_centers;
} tc_resize_bilinear_params;

tc_status tc_resize_bilinear_s8(const tc_resize_bilinear_params *params,
                                const tc_dims *input_dims, const int8_t *input,
                                const tc_dims *output_dims, int8_t *output);
tc_status tc_resize_bilinear_s16(const tc_resize_bilinear_params *params,
                                 const tc_dims *input_dims, const int16_t *input,
                                 const tc_dims *output_dims, int16_t *output);

/* -- TRANSPOSE_CONV --------------------------------------------------------------------- */

/*
 * TFLite's reference_integer_ops::TransposeConv: every input pixel is scattered through the
 * OHWI filter (o = output channels, c = input channels) into an accumulator per output
 * element (ctx->buf: int32 for s8, int64 for s16, as LiteRT's scratch tensor), at
 * out = in * stride - padding + tap; then bias, per-channel requantization, output offset
 * (s8) and the activation clamp. params->dilation is unused (TRANSPOSE_CONV has none).
 * s16: int16 activations with zero point 0, int8 weights, int64 bias, and TFLite's 64-bit
 * MultiplyByQuantizedMultiplier (the multiplier reduced to 16 bits).
 */
tc_status tc_transpose_conv_s8(const tc_context *ctx, const tc_conv_params *params,
                               const tc_per_channel_quant_params *quant,
                               const tc_dims *input_dims, const int8_t *input,
                               const tc_dims *filter_dims, const int8_t *filter,
                               const tc_dims *bias_dims, const int32_t *bias,
                               const tc_dims *output_dims, int8_t *output);
int32_t tc_transpose_conv_s8_get_buffer_size(const tc_dims *output_dims);

tc_status tc_transpose_conv_s16(const tc_context *ctx, const tc_conv_params *params,
                                const tc_per_channel_quant_params *quant,
                                const tc_dims *input_dims, const int16_t *input,
                                const tc_dims *filter_dims, const int8_t *filter,
                                const tc_dims *bias_dims, const int64_t *bias,
                                const tc_dims *output_dims, int16_t *output);
int32_t tc_transpose_conv_s16_get_buffer_size(const tc_dims *output_dims);

/* -- BATCH_MATMUL ----------------------------------------------------------------------- */

#define TC_BATCH_MATMUL_BATCH_DIMS 3 /* rank 5: three batch dimensions, then rows, columns */

/*
 * out[b][i][j] = requantize(sum_k (lhs(b, i, k) + lhs_offset) * (rhs(b, k, j) + rhs_offset))
 * for the output's batch index b = (b0, b1, b2), rows i < rows, columns j < cols, k < depth,
 * as TFLite's reference_ops::BatchMatMul computes it (per-tensor multiplier, output offset,
 * clamp). Element (i, k) of a batch of the LHS is at lhs[i * lhs_row_stride +
 * k * lhs_depth_stride] (adj_x swaps the two), element (k, j) of the RHS at
 * rhs[k * rhs_depth_stride + j * rhs_col_stride]; a batch dimension of size 1 broadcasts
 * (its stride is 0). s8: int32 accumulator (wrapping, as LiteRT's), double-rounding
 * multiplier. s16 / s16_s8: int16 LHS, int16 or int8 RHS, zero points 0, int64
 * accumulator and TFLite's 64-bit MultiplyByQuantizedMultiplier.
 */
typedef struct {
    int32_t batch[TC_BATCH_MATMUL_BATCH_DIMS];      /* the output's batch dimensions */
    int32_t lhs_batch_stride[TC_BATCH_MATMUL_BATCH_DIMS];
    int32_t rhs_batch_stride[TC_BATCH_MATMUL_BATCH_DIMS];
    int32_t rows;
    int32_t cols;
    int32_t depth;
    int32_t lhs_row_stride;
    int32_t lhs_depth_stride;
    int32_t rhs_depth_stride;
    int32_t rhs_col_stride;
    int32_t lhs_offset;    /* -LHS zero point */
    int32_t rhs_offset;    /* -RHS zero point */
    int32_t output_offset; /* +output zero point */
    tc_per_tensor_quant_params quant;
    tc_activation activation;
} tc_batch_matmul_params;

tc_status tc_batch_matmul_s8(const tc_batch_matmul_params *params, const int8_t *lhs,
                             const int8_t *rhs, int8_t *output);
tc_status tc_batch_matmul_s16(const tc_batch_matmul_params *params, const int16_t *lhs,
                              const int16_t *rhs, int16_t *output);
tc_status tc_batch_matmul_s16_s8(const tc_batch_matmul_params *params, const int16_t *lhs,
                                 const int8_t *rhs, int16_t *output);

#endif /* TC_NN_SPATIAL_H */
