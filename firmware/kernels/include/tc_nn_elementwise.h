/*
 * tinyconv int8 kernels: elementwise arithmetic, activations, softmax, (de)quantization.
 *
 * Every kernel reproduces what LiteRT's reference interpreter (BUILTIN_REF) computes for
 * the op, bit for bit; the comment on each says which TFLite routine that is. All
 * requantization parameters are computed on the host (tinyconv/codegen/lowering/
 * elementwise.py) exactly as the op's Prepare() in TFLite computes them.
 *
 * In place: each of these kernels reads an element before it writes the element at the
 * same index, so the output may be the very buffer of an input of the output's shape
 * (the planner does this; see tinyconv.ir.ops.Op.inplace_input). No kernel here needs
 * scratch memory.
 */
#ifndef TC_NN_ELEMENTWISE_H
#define TC_NN_ELEMENTWISE_H

#include "tc_nn_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- ADD, SUB, MUL ------------------------------------------------------------------ */

/*
 * ADD and SUB (TFLite add.cc / sub.cc, int8): each input is offset, shifted left by
 * left_shift (20) and rescaled onto twice the larger input scale, the two are added or
 * subtracted, and the result is requantized to the output scale:
 *   a = tc_requantize((in1 + input1_offset) << left_shift, input1_multiplier, input1_shift)
 *   b = tc_requantize((in2 + input2_offset) << left_shift, input2_multiplier, input2_shift)
 *   out = clamp(tc_requantize(a +/- b, output_multiplier, output_shift) + output_offset)
 * Every shift here is <= 0 (multipliers smaller than one).
 */
typedef struct {
    int32_t input1_offset;  /* -zero point of input 1 */
    int32_t input2_offset;  /* -zero point of input 2 */
    int32_t left_shift;
    int32_t input1_multiplier;
    int32_t input1_shift;
    int32_t input2_multiplier;
    int32_t input2_shift;
    int32_t output_multiplier;
    int32_t output_shift;
    int32_t output_offset;  /* +zero point of the output */
    tc_activation activation;
} tc_add_params;

/*
 * MUL (TFLite mul.cc, int8):
 *   out = clamp(tc_requantize((in1 + input1_offset) * (in2 + input2_offset),
 *                             output_multiplier, output_shift) + output_offset)
 */
typedef struct {
    int32_t input1_offset;
    int32_t input2_offset;
    int32_t output_multiplier;
    int32_t output_shift;
    int32_t output_offset;
    tc_activation activation;
} tc_mul_params;

/*
 * Binary elementwise ops with numpy broadcasting over NHWC: each input dimension equals
 * the output's or is 1 (a [1,1,1,C] squeeze-excite scale, a scalar, any mix). Equal shapes
 * run as one flat loop. The output may alias an input whose dims equal the output's.
 */
tc_status tc_elementwise_add_s8(const tc_add_params *params,
                                const tc_dims *input1_dims, const int8_t *input1,
                                const tc_dims *input2_dims, const int8_t *input2,
                                const tc_dims *output_dims, int8_t *output);

/* input1 - input2, same parameters and arithmetic as ADD (TFLite uses one struct too). */
tc_status tc_elementwise_sub_s8(const tc_add_params *params,
                                const tc_dims *input1_dims, const int8_t *input1,
                                const tc_dims *input2_dims, const int8_t *input2,
                                const tc_dims *output_dims, int8_t *output);

tc_status tc_elementwise_mul_s8(const tc_mul_params *params,
                                const tc_dims *input1_dims, const int8_t *input1,
                                const tc_dims *input2_dims, const int8_t *input2,
                                const tc_dims *output_dims, int8_t *output);

/* ---- RELU, RELU6, QUANTIZE int8 -> int8 ----------------------------------------------- */

/*
 * Requantize and clamp (TFLite's ReluX and reference_ops::Requantize):
 *   out = clamp(tc_requantize(in + input_offset, multiplier, shift) + output_offset,
 *               activation.min, activation.max)
 * RELU and RELU6 use it with their clamp range in the output domain; QUANTIZE from int8
 * to int8 with the full int8 range. When multiplier/shift is the identity (equal scales)
 * the kernel only offsets and clamps, which gives the same bytes.
 */
typedef struct {
    int32_t input_offset;  /* -zero point of the input */
    int32_t output_offset; /* +zero point of the output */
    int32_t multiplier;
    int32_t shift;
    tc_activation activation;
} tc_requantize_params;

tc_status tc_requantize_s8(const tc_requantize_params *params, int32_t size,
                           const int8_t *input, int8_t *output);

/* ---- LEAKY_RELU ------------------------------------------------------------------------ */

/*
 * TFLite reference_ops::QuantizeLeakyRelu:
 *   x = in + input_offset
 *   out = output_offset + (x >= 0 ? tc_requantize(x, identity_multiplier, identity_shift)
 *                                 : tc_requantize(x, alpha_multiplier, alpha_shift))
 * clamped to int8. A negative alpha has a negative alpha_multiplier: the kernel requantizes
 * with its magnitude and negates, as TFLite does.
 */
typedef struct {
    int32_t input_offset;
    int32_t output_offset;
    int32_t identity_multiplier;
    int32_t identity_shift;
    int32_t alpha_multiplier;
    int32_t alpha_shift;
} tc_leaky_relu_params;

tc_status tc_leaky_relu_s8(const tc_leaky_relu_params *params, int32_t size,
                           const int8_t *input, int8_t *output);

/* ---- LOGISTIC, TANH, HARD_SWISH: table lookup -------------------------------------------- */

/*
 * out[i] = table[(uint8_t)in[i]]. LiteRT's int8 LOGISTIC and TANH are 256-entry tables
 * built from float math when the model is prepared (LUTPopulate); int8 HARD_SWISH is a
 * function of the one input byte too (16-bit fixed point, reference_ops::HardSwish).
 * tinyconv builds the identical table on the host (tinyconv/codegen/lowering/
 * elementwise.py) and passes it in flash, in LiteRT's order (index = the input byte as
 * unsigned: 0..127, then -128..-1).
 */
tc_status tc_lut_s8(const int8_t *table, int32_t size, const int8_t *input, int8_t *output);

/* ---- SOFTMAX ----------------------------------------------------------------------------- */

/*
 * TFLite reference_ops::Softmax for int8 input (gemmlowp fixed point): per row,
 * exp((in - max) * beta * input_scale) in Q5.26 -> Q0.31 for differences >= diff_min,
 * summed in Q12.19, a fixed-point reciprocal, and the output as a fraction of 2^8 (int8
 * output, zero point -128, scale 1/256) or 2^16 (int16 output, zero point -32768).
 * input_multiplier/input_left_shift come from PreprocessSoftmaxScaling(beta, scale, 5).
 */
typedef struct {
    int32_t input_multiplier;
    int32_t input_left_shift;
    int32_t diff_min;
} tc_softmax_params;

/* input and output are num_rows x row_size (the last axis is the softmax axis). */
tc_status tc_softmax_s8(const tc_softmax_params *params, int32_t num_rows, int32_t row_size,
                        const int8_t *input, int8_t *output);

tc_status tc_softmax_s8_s16(const tc_softmax_params *params, int32_t num_rows,
                            int32_t row_size, const int8_t *input, int16_t *output);

/* ---- QUANTIZE float -> int8, DEQUANTIZE int8 -> float -------------------------------------- */

/* Affine quantization (TFLite reference_ops::AffineQuantize): float division, then
 * rounding half away from zero, then the zero point, then clamping to int8. */
typedef struct {
    float scale;
    int32_t zero_point;
} tc_affine_quant_params;

tc_status tc_quantize_f32_s8(const tc_affine_quant_params *params, int32_t size,
                             const float *input, int8_t *output);

/* out = scale * (in - zero_point), in float (TFLite reference_ops::Dequantize). */
tc_status tc_dequantize_s8_f32(const tc_affine_quant_params *params, int32_t size,
                               const int8_t *input, float *output);

/* ---- 16-bit activations ------------------------------------------------------------------ */

/* ADD / SUB / MUL on int16 with general scales: the int8 parameters and arithmetic
 * (left_shift 15 for ADD/SUB, as add.cc / sub.cc set it for int16), int16 values. */
tc_status tc_elementwise_add_s16(const tc_add_params *params,
                                 const tc_dims *input1_dims, const int16_t *input1,
                                 const tc_dims *input2_dims, const int16_t *input2,
                                 const tc_dims *output_dims, int16_t *output);

tc_status tc_elementwise_sub_s16(const tc_add_params *params,
                                 const tc_dims *input1_dims, const int16_t *input1,
                                 const tc_dims *input2_dims, const int16_t *input2,
                                 const tc_dims *output_dims, int16_t *output);

tc_status tc_elementwise_mul_s16(const tc_mul_params *params,
                                 const tc_dims *input1_dims, const int16_t *input1,
                                 const tc_dims *input2_dims, const int16_t *input2,
                                 const tc_dims *output_dims, int16_t *output);

/* ADD / SUB on int16 with power-of-two scales (LiteRT's pot_scale_int16 path): the input
 * whose scale is finer is divided by 2^-shift, rounding (shifts 0..-15, one of them 0). */
typedef struct {
    int32_t input1_shift;
    int32_t input2_shift;
    tc_activation activation;
} tc_add_pot_params;

tc_status tc_elementwise_add_pot_s16(const tc_add_pot_params *params,
                                     const tc_dims *input1_dims, const int16_t *input1,
                                     const tc_dims *input2_dims, const int16_t *input2,
                                     const tc_dims *output_dims, int16_t *output);

tc_status tc_elementwise_sub_pot_s16(const tc_add_pot_params *params,
                                     const tc_dims *input1_dims, const int16_t *input1,
                                     const tc_dims *input2_dims, const int16_t *input2,
                                     const tc_dims *output_dims, int16_t *output);

/* QUANTIZE between int8 and int16 and int16 -> int16 (reference_ops::Requantize), and
 * RELU/RELU6 on int16: tc_requantize_s8's arithmetic with the output type's range. */
tc_status tc_requantize_s16(const tc_requantize_params *params, int32_t size,
                            const int16_t *input, int16_t *output);
tc_status tc_requantize_s8_s16(const tc_requantize_params *params, int32_t size,
                               const int8_t *input, int16_t *output);
tc_status tc_requantize_s16_s8(const tc_requantize_params *params, int32_t size,
                               const int16_t *input, int8_t *output);

/* LEAKY_RELU on int16: tc_leaky_relu_s8's arithmetic, clamped to int16. */
tc_status tc_leaky_relu_s16(const tc_leaky_relu_params *params, int32_t size,
                            const int16_t *input, int16_t *output);

/* QUANTIZE float -> int16 and DEQUANTIZE int16 -> float (AffineQuantize / Dequantize). */
tc_status tc_quantize_f32_s16(const tc_affine_quant_params *params, int32_t size,
                              const float *input, int16_t *output);
tc_status tc_dequantize_s16_f32(const tc_affine_quant_params *params, int32_t size,
                                const int16_t *input, float *output);

/* LOGISTIC / TANH on int16 (zero points 0, output scale 2^-15): TFLite's reference int16
 * Logistic / Tanh (a 256-entry sigmoid table with linear interpolation). The input is
 * first brought to the table's scale: (in * input_multiplier + round) >> input_left_shift,
 * the power-of-two case folded in by the host (tinyconv/codegen/lowering/elementwise.py). */
typedef struct {
    int32_t input_multiplier;
    int32_t input_left_shift;
} tc_sigmoid_s16_params;

tc_status tc_logistic_s16(const tc_sigmoid_s16_params *params, int32_t size,
                          const int16_t *input, int16_t *output);
tc_status tc_tanh_s16(const tc_sigmoid_s16_params *params, int32_t size,
                      const int16_t *input, int16_t *output);

/* SOFTMAX int16 -> int16 (reference_ops::SoftmaxInt16): exp and 1/(1+x) by 513-entry
 * tables built on the host as LiteRT's Prepare builds them; input_multiplier/left_shift
 * = QuantizeMultiplier(input_scale * beta / (10 / 65535)). See tc_softmax_s16.c. */
typedef struct {
    int32_t input_multiplier;
    int32_t input_left_shift;
    const int16_t *exp_lut;
    const int16_t *one_over_one_plus_x_lut;
} tc_softmax_s16_params;

tc_status tc_softmax_s16(const tc_softmax_s16_params *params, int32_t num_rows,
                         int32_t row_size, const int16_t *input, int16_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TC_NN_ELEMENTWISE_H */
