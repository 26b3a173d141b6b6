/*
 * tinyconv int8 kernels that compute as onnxruntime's CPU kernels do (x86-64 MLAS, the
 * arithmetic the ONNX importer's models are verified against: `--match onnxruntime`).
 *
 * Requantization of an int32 accumulator (QLinearConv, QGemm, QLinearMatMul,
 * QLinearGlobalAveragePool; MLAS MlasRequantizeOutput):
 *     f = (float)acc * scale            int32 -> float32 rounds to nearest even, then one
 *                                       float32 multiply; scale is float32, computed on the
 *                                       host as onnxruntime does (x_scale * w_scale / y_scale)
 *     f = min(max(f, lo - zp), hi - zp) clamp in float32 to the output's range
 *     y = round_half_even(f) + zp
 * QLinearAdd (MLAS MlasQLinearAddKernelAvx2Helper), on the values onnxruntime reads
 * (stored int8 + value_offset: 128 for uint8 models):
 *     F = (float)zp_c - (r_a * zp_a + r_b * zp_b), r_a = s_a / s_c, r_b = s_b / s_c (float32)
 *     t = fmaf(a, r_a, fmaf(b, r_b, F))                  (both tensors full size)
 *     t = fmaf(a, r_a, F + b * r_b)                      (b one value; a and b swapped
 *                                                         when a is the single value)
 *     y = saturate(round_half_even(t)) - value_offset
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

typedef struct {
    float ratio_a;         /* s_a / s_c */
    float ratio_b;         /* s_b / s_c */
    float fixed;           /* zp_c - (ratio_a * zp_a + ratio_b * zp_b), onnxruntime's domain */
    int32_t value_offset;  /* onnxruntime's value = stored int8 + value_offset */
    int32_t scalar;        /* 0: both full size, 1: a is one value, 2: b is one value */
    tc_activation activation; /* stored int8 domain */
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
    int32_t scalar;        /* 0: both full size, 1: a is one value, 2: b is one value */
    tc_activation activation;
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
/* -- end of Softmax, Resize, ConvTranspose and activations -- */

#endif /* TC_NN_ONNXRT_H */
