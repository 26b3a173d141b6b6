/*
 * tinyconv int8 kernels that compute as onnxruntime's CPU kernels do (x86-64 MLAS, the
 * arithmetic the ONNX importer's models are verified against: `--match onnxruntime`).
 *
 * Requantization of an int32 accumulator (QLinearConv, QGemm, QLinearMatMul,
 * QLinearGlobalAveragePool; MLAS MlasRequantizeOutput):
 *     f = (float)acc * scale            int32 -> float32 rounds to nearest even, then one
 *                                       float32 multiply; scale is float32, computed on the
 *                                       host as onnxruntime does (x_scale * w_scale / y_scale;
 *                                       QGemm: alpha * x_scale * w_scale / y_scale)
 *     f = min(max(f, lo - zp), hi - zp) clamp in float32 to the output's range
 *     y = round_half_even(f) + zp
 * QLinearAdd (MLAS MlasQLinearAddKernelAvx2Helper), on the values onnxruntime reads
 * (stored int8 + value_offset: 128 for uint8 models):
 *     F = (float)zp_c - (r_a * zp_a + r_b * zp_b), r_a = s_a / s_c, r_b = s_b / s_c (float32)
 *     t = fmaf(a, r_a, fmaf(b, r_b, F))                  (both spans)
 *     t = fmaf(a, r_a, F + b * r_b)                      (b one value per span; a and b
 *                                                         swapped when a is the one value)
 *     y = saturate(round_half_even(t)) - value_offset
 *   onnxruntime's broadcasting (Broadcaster) calls the kernel per span, and the case is
 *   one for the whole op: the operand of size 1 on the innermost common axis whose
 *   broadcast size exceeds 1 (a first) is the one value (tinyconv/ir/onnx_import.py
 *   ort_broadcast_case); QLinearMul's steps are the same in every case.
 * QLinearMul (MLAS MlasQLinearMulKernel, SSE2), R = (s_a * s_b) / s_c in float32:
 *     t = (float)((a - zp_a) * (b - zp_b)) * R + (float)zp_c   (two roundings, no fma)
 *     y = saturate(round_half_even(t)) - value_offset
 * QLinearAveragePool (contrib qlinear_pool.cc) with a window smaller than the image:
 *     v = s_x * (float)(x - zp_x) per input; sum in float32, rows then columns, from 0;
 *     y = sum / (float)count   (count: the window, or its taps inside the image)
 *     q = saturate(round_half_even(y / s_y + (float)zp_y)) - value_offset
 * fmaf is one rounding (Arm VFMA where the FPU has it, else exact in double with round-to-
 * odd); nothing else may be contracted: the kernels are compiled with fp-contract off.
 */
#ifndef TC_NN_ONNXRT_H
#define TC_NN_ONNXRT_H

#include "tc_nn_types.h"

typedef struct {
    const float *scale;    /* one per output channel, or one */
    int32_t per_channel;   /* 1: scale[c] for output channel c */
    int32_t filter_offset; /* -filter zero point (uint8 weights), 0 for symmetric int8 */
} tc_ort_requant_params;

/* Broadcasting of QLinearAdd / QLinearMul: the output (in its stored order) as 4 axes,
 * outermost first, and per axis the elements each input steps by (0 where it is
 * broadcast). A call of `size` < all elements (a streamed strip) starts at axis
 * index 0 on every axis from the pointers it is given. */
typedef struct {
    int32_t dims[4];
    int32_t stride1[4];
    int32_t stride2[4];
} tc_ort_broadcast;

typedef struct {
    float ratio_a;         /* s_a / s_c */
    float ratio_b;         /* s_b / s_c */
    float fixed;           /* zp_c - (ratio_a * zp_a + ratio_b * zp_b), onnxruntime's domain */
    int32_t value_offset;  /* onnxruntime's value = stored int8 + value_offset */
    int32_t scalar;        /* onnxruntime's span case: 0 both spans, 1 a one value per span,
                              2 b one value per span (it picks the float steps) */
    tc_activation activation; /* stored int8 domain */
    tc_ort_broadcast broadcast;
} tc_ort_add_params;

typedef struct {
    int32_t input_offset;  /* -input zero point */
    int32_t output_offset; /* +output zero point */
    float scale;           /* s_in / (s_out * (float)(H * W)) */
    tc_activation activation;
} tc_ort_pool_params;

typedef struct {
    int32_t input1_offset; /* -zero point of a (stored int8 domain) */
    int32_t input2_offset; /* -zero point of b */
    float scale;           /* (s_a * s_b) / s_c */
    float output_zero_point; /* zp_c in onnxruntime's domain (uint8 models: stored + 128) */
    int32_t value_offset;  /* onnxruntime's value = stored int8 + value_offset */
    tc_activation activation;
    tc_ort_broadcast broadcast;
} tc_ort_mul_params;

typedef struct {
    tc_tile stride;
    tc_tile filter;
    tc_tile padding;       /* top / left; the window is clipped to the image */
    int32_t count_include_pad;
    int32_t input_offset;  /* -input zero point */
    float input_scale;
    float output_scale;
    float output_zero_point; /* zp_y in onnxruntime's domain */
    int32_t value_offset;
    tc_activation activation;
} tc_ort_avgpool_params;

tc_status tc_convolve_s8_ort(const tc_context *ctx, const tc_conv_params *params,
                             const tc_ort_requant_params *quant,
                             const tc_dims *input_dims, const int8_t *input,
                             const tc_dims *filter_dims, const int8_t *filter,
                             const tc_dims *bias_dims, const int32_t *bias,
                             const tc_dims *output_dims, int8_t *output);

/* Scratch of tc_convolve_s8_ort (its im2col columns; 0: it needs none). */
int32_t tc_convolve_s8_ort_get_buffer_size(const tc_dims *input_dims,
                                           const tc_dims *filter_dims);

tc_status tc_depthwise_conv_s8_ort(const tc_context *ctx, const tc_dw_conv_params *params,
                                   const tc_ort_requant_params *quant,
                                   const tc_dims *input_dims, const int8_t *input,
                                   const tc_dims *filter_dims, const int8_t *filter,
                                   const tc_dims *bias_dims, const int32_t *bias,
                                   const tc_dims *output_dims, int8_t *output);

tc_status tc_fully_connected_s8_ort(const tc_context *ctx, const tc_fc_params *params,
                                    const tc_ort_requant_params *quant,
                                    const tc_dims *input_dims, const int8_t *input,
                                    const tc_dims *filter_dims, const int8_t *filter,
                                    const tc_dims *bias_dims, const int32_t *bias,
                                    const tc_dims *output_dims, int8_t *output);

tc_status tc_add_s8_ort(const tc_ort_add_params *params, const int8_t *input1,
                        const int8_t *input2, int8_t *output, int32_t size);

tc_status tc_mul_s8_ort(const tc_ort_mul_params *params, const int8_t *input1,
                        const int8_t *input2, int8_t *output, int32_t size);

tc_status tc_avgpool_s8_ort(const tc_ort_avgpool_params *params,
                            const tc_dims *input_dims, const int8_t *input,
                            const tc_dims *output_dims, int8_t *output);

tc_status tc_global_avgpool_s8_ort(const tc_ort_pool_params *params,
                                   const tc_dims *input_dims, const int8_t *input,
                                   const tc_dims *output_dims, int8_t *output);

/* -- Softmax, Resize, ConvTranspose and activations -- */
/*
 * QLinearSoftmax (contrib qlinear_softmax.cc, EXP_OUT_DTYPE float), per row of `depth`:
 *     m = max(x);  sum = table[m - x_0] + table[m - x_1] + ...      float32, in order
 *     y = saturate(nearbyintf((table[m - x] * y_scale) / sum) + zp_y) - value_offset
 * table[d] = (float)exp((bit_shift - d) * x_scale) (double; the host computes it),
 * y_scale = floor(1.0f / s_y) (float32); nearbyintf rounds half to even; saturate to the
 * uint8 (value_offset 128) or int8 range. The host refuses scales for which
 * table[0] * y_scale overflows float32 (onnxruntime's cast is undefined there).
 * QLinearSigmoid / QLinearLeakyRelu and the float activations between Q/DQ are 256-entry
 * tables built on the host (tc_lut_s8); Resize nearest is tc_resize_nearest_s8 with
 * onnxruntime's index tables.
 */
typedef struct {
    const float *table;        /* 256 values, indexed by row max - x */
    float y_scale;             /* floor(1.0f / output scale) */
    int32_t output_zero_point; /* zp_y in onnxruntime's domain (uint8 models: stored + 128) */
    int32_t value_offset;      /* onnxruntime's value = stored int8 + value_offset */
} tc_ort_softmax_params;

tc_status tc_softmax_s8_ort(const tc_ort_softmax_params *params, const int8_t *input,
                            int8_t *output, int32_t rows, int32_t depth);
/* Resize (linear) */
/*
 * Resize, mode linear, of an NHWC tensor as onnxruntime 1.32 runs a QDQ one
 * (DequantizeLinear, float UpsampleBilinear, QuantizeLinear), per output pixel (oy, ox)
 * and channel, in float32 (no fma):
 *     X = (float)(q - input_zero_point) * input_scale           for the four neighbours
 *     Y = dx2*dy2*X11 + dx1*dy2*X21 + dx2*dy1*X12 + dx1*dy1*X22  each product (dx*dy)*X,
 *                                                               summed left to right
 *     y = round_half_even(clamp(Y / output_scale, -128 - zp_y, 127 - zp_y)) + zp_y
 * with X11 = x[y1][x1], X21 = x[y1][x2], X12 = x[y2][x1], X22 = x[y2][x2];
 * rows = {y1, y2} and row_weights = {dy1, dy2} per output row, cols / col_weights per
 * output column: onnxruntime's SetupUpsampleBilinear, computed on the host. Zero points
 * are the stored int8 ones (uint8 models: minus 128, which leaves the arithmetic equal).
 */
typedef struct {
    const int32_t *rows;      /* 2 per output row: y1, y2 */
    const float *row_weights; /* 2 per output row: dy1, dy2 */
    const int32_t *cols;      /* 2 per output column: x1, x2 */
    const float *col_weights; /* 2 per output column: dx1, dx2 */
    float input_scale;
    int32_t input_zero_point;
    float output_scale;
    int32_t output_zero_point;
    int32_t truncate;         /* nonzero: y = (int32_t)clamp(Y / output_scale) + zp_y,
                                 truncated toward zero instead of rounded: a QOperator
                                 Resize in NCHW (UpsampleBilinear<uint8/int8> on the
                                 values: scales 1, zero points -value_offset) */
} tc_ort_resize_linear_params;

tc_status tc_resize_linear_s8_ort(const tc_ort_resize_linear_params *params,
                                  const tc_dims *input_dims, const int8_t *input,
                                  const tc_dims *output_dims, int8_t *output);

/*
 * Resize, mode linear, of a quantized NHWC tensor as onnxruntime 1.32 runs it in NHWC
 * (QOperator form between QLinearConvs: NhwcUpsampleBilinearInteger), in int32:
 *     v = stored + value_offset                                 (onnxruntime's value)
 *     S = dx2*dy2*v11 + dx1*dy2*v21 + dx2*dy1*v12 + dx1*dy1*v22   (10-bit weights)
 *     y = S / 2^20 (C division, toward zero) - value_offset
 * rows / cols as above; row_weights / col_weights: {d1, d2} in [0, 1024] per output
 * row / column (SetupUpsampleBilinearInteger, computed on the host).
 */
typedef struct {
    const int32_t *rows;        /* 2 per output row: y1, y2 */
    const int32_t *row_weights; /* 2 per output row: dy1, dy2 (scaled by 1024) */
    const int32_t *cols;        /* 2 per output column: x1, x2 */
    const int32_t *col_weights; /* 2 per output column: dx1, dx2 (scaled by 1024) */
    int32_t value_offset;       /* onnxruntime's value = stored int8 + value_offset */
} tc_ort_resize_linear_int_params;

tc_status tc_resize_linear_int_s8_ort(const tc_ort_resize_linear_int_params *params,
                                      const tc_dims *input_dims, const int8_t *input,
                                      const tc_dims *output_dims, int8_t *output);
/* ConvTranspose (float path) */
/*
 * DequantizeLinear -> ConvTranspose -> QuantizeLinear (onnxruntime has no quantized
 * ConvTranspose: its CPU EP runs ConvTranspose<float>, MLAS SGEMM + Col2im + bias), per
 * output element (b, oy, ox, oc) of group g:
 *     x = (float)(stored - zp_x) * x_scale;  w = (float)(w_q - zp_w) * w_scale (host)
 *     col(tap) = fmaf chain over the group's input channels in order, from 0, in blocks
 *                of 128 (MLAS_SGEMM_STRIDEK): col = block 0, then col = col + block
 *     y = 0 + col(tap) + ...   the taps (ky, kx) that land on (oy, ox), row-major order
 *     y = y + bias[oc]         (float32; the bias as onnxruntime holds it)
 *     y = min(max(y, act_min), act_max)   (a float Relu / Clip before the QuantizeLinear)
 *     q = saturate(round_half_even(y / y_scale) + zp_y)   (MlasQuantizeLinear divides)
 * The same on every CPU with FMA that onnxruntime's MLAS runs (x86-64 FMA3 / AVX-512,
 * Arm64) except a 1x1-pixel input, which the host refuses (MLAS's x86-only M1 path).
 */
typedef struct {
    const float *weights;       /* [out_c][k_h][k_w][in_c / groups], dequantized */
    const float *bias;          /* out_c values, or NULL */
    float input_scale;
    int32_t input_zero_point;   /* in the stored int8 domain */
    float output_scale;
    int32_t output_zero_point;  /* in the stored int8 domain */
    int32_t groups;
    tc_tile stride;
    tc_tile padding;            /* top / left (ONNX pads[0], pads[1]) */
    tc_tile dilation;
    float act_min;              /* Relu / Clip bounds; -FLT_MAX / FLT_MAX for none */
    float act_max;
} tc_ort_conv_transpose_params;

/* filter_dims: (out_c, k_h, k_w, in_c / groups); no scratch. */
tc_status tc_conv_transpose_f32_ort(const tc_ort_conv_transpose_params *params,
                                    const tc_dims *input_dims, const int8_t *input,
                                    const tc_dims *filter_dims, const tc_dims *output_dims,
                                    int8_t *output);
/* -- end of Softmax, Resize, ConvTranspose and activations -- */

#endif /* TC_NN_ONNXRT_H */
