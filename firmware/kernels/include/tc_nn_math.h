/*
 * tinyconv kernels: maximum/minimum, unary math, comparisons, select.
 *
 * Every kernel reproduces what LiteRT's reference interpreter (BUILTIN_REF) computes for
 * the op, bit for bit; the comment on each says which TFLite routine that is. Parameters
 * are computed on the host (tinyconv/codegen/lowering/arith.py) exactly as the op's
 * Prepare() computes them. The int8 unary ops of this family (ABS, NEG, RSQRT, EXP, ELU)
 * are functions of one input byte: the host builds their 256-entry table as LiteRT does
 * and the firmware runs tc_lut_s8 (tc_nn_elementwise.h).
 *
 * Broadcasting: NumPy's, up to TC_MATH_MAX_RANK dims. Shapes come as tc_nd_dims, the
 * tensor's shape right-aligned and padded with leading 1s; along each dim an input has
 * the output's extent or 1 (repeated).
 *
 * In place: each kernel reads the inputs' elements of an output index before it writes
 * that output element, and walks the output in increasing address order, so the output
 * may be the buffer of an input of the output's shape and element size (the planner does
 * this; tinyconv.ir.ops.Op.inplace_input). No kernel here needs scratch memory.
 */
#ifndef TC_NN_MATH_H
#define TC_NN_MATH_H

#include <stdbool.h>

#include "tc_nn_types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TC_MATH_MAX_RANK 6

/* A shape of up to TC_MATH_MAX_RANK dims, right-aligned: d[TC_MATH_MAX_RANK - 1] is the
 * innermost dim, unused leading dims are 1. */
typedef struct {
    int32_t d[TC_MATH_MAX_RANK];
} tc_nd_dims;

/* ---- MAXIMUM, MINIMUM (maximum_minimum.cc) ----------------------------------------------
 * On the stored integers, whatever the quantization (LiteRT compares the raw values):
 *   out = is_max ? (a > b ? a : b) : (a < b ? a : b)
 */
typedef struct {
    int32_t is_max; /* 1: MAXIMUM, 0: MINIMUM */
} tc_max_min_params;

tc_status tc_max_min_s8(const tc_max_min_params *params, const tc_nd_dims *input1_dims,
                        const int8_t *input1, const tc_nd_dims *input2_dims,
                        const int8_t *input2, const tc_nd_dims *output_dims, int8_t *output);
tc_status tc_max_min_s16(const tc_max_min_params *params, const tc_nd_dims *input1_dims,
                         const int16_t *input1, const tc_nd_dims *input2_dims,
                         const int16_t *input2, const tc_nd_dims *output_dims,
                         int16_t *output);
tc_status tc_max_min_s32(const tc_max_min_params *params, const tc_nd_dims *input1_dims,
                         const int32_t *input1, const tc_nd_dims *input2_dims,
                         const int32_t *input2, const tc_nd_dims *output_dims,
                         int32_t *output);

/* ---- EQUAL, NOT_EQUAL, LESS, LESS_EQUAL, GREATER, GREATER_EQUAL (comparisons.cc) -------- */
typedef enum {
    TC_CMP_EQUAL = 0,
    TC_CMP_NOT_EQUAL = 1,
    TC_CMP_LESS = 2,
    TC_CMP_LESS_EQUAL = 3,
    TC_CMP_GREATER = 4,
    TC_CMP_GREATER_EQUAL = 5,
} tc_comparison;

/*
 * int8 (ComparisonWithScaling): both inputs are brought to a common scale first,
 *   v = RoundingDivideByPOT(SRDHM((in + offset) << left_shift, multiplier), -shift)
 * with left_shift 8 and (multiplier, shift) = QuantizeMultiplier(input scale), shift <= 0;
 * then out = v1 <op> v2.
 */
typedef struct {
    int32_t op; /* a tc_comparison */
    int32_t left_shift;
    int32_t input1_offset; /* -zero point */
    int32_t input1_multiplier;
    int32_t input1_shift;
    int32_t input2_offset;
    int32_t input2_multiplier;
    int32_t input2_shift;
} tc_comparison_params;

tc_status tc_comparison_s8(const tc_comparison_params *params, const tc_nd_dims *input1_dims,
                           const int8_t *input1, const tc_nd_dims *input2_dims,
                           const int8_t *input2, const tc_nd_dims *output_dims, bool *output);
/* int16 and int32: LiteRT compares the stored integers (no rescaling); only params->op. */
tc_status tc_comparison_s16(const tc_comparison_params *params,
                            const tc_nd_dims *input1_dims, const int16_t *input1,
                            const tc_nd_dims *input2_dims, const int16_t *input2,
                            const tc_nd_dims *output_dims, bool *output);
tc_status tc_comparison_s32(const tc_comparison_params *params,
                            const tc_nd_dims *input1_dims, const int32_t *input1,
                            const tc_nd_dims *input2_dims, const int32_t *input2,
                            const tc_nd_dims *output_dims, bool *output);

/* ---- SQUARED_DIFFERENCE (squared_difference.cc, int8) --------------------------------------
 *   a = RoundingDivideByPOT(SRDHM((in1 + input1_offset) << left_shift, m1), -s1)   (same b)
 *   out = clamp(RoundingDivideByPOT(SRDHM((a - b) * (a - b), mo), -so) + output_offset)
 * left_shift 7; every shift <= 0 (LiteRT's QuantizeMultiplierSmallerThanOneExp).
 */
typedef struct {
    int32_t input1_offset;
    int32_t input2_offset;
    int32_t left_shift;
    int32_t input1_multiplier;
    int32_t input1_shift;
    int32_t input2_multiplier;
    int32_t input2_shift;
    int32_t output_multiplier;
    int32_t output_shift;
    int32_t output_offset;
} tc_squared_difference_params;

tc_status tc_squared_difference_s8(const tc_squared_difference_params *params,
                                   const tc_nd_dims *input1_dims, const int8_t *input1,
                                   const tc_nd_dims *input2_dims, const int8_t *input2,
                                   const tc_nd_dims *output_dims, int8_t *output);

/* ---- PRELU (activations.cc, reference_ops::BroadcastPrelu, int8) --------------------------
 *   v = in + input_offset
 *   out = clamp((v >= 0 ? MBQM(v, multiplier_1, shift_1)
 *                       : MBQM(v * (alpha + alpha_offset), multiplier_2, shift_2))
 *               + output_offset)
 * MBQM: TFLite's MultiplyByQuantizedMultiplier (tc_requantize). The alpha broadcasts to
 * the input's shape, which is the output's.
 */
typedef struct {
    int32_t input_offset;
    int32_t alpha_offset;
    int32_t output_offset;
    int32_t output_multiplier_1;
    int32_t output_shift_1;
    int32_t output_multiplier_2;
    int32_t output_shift_2;
} tc_prelu_params;

tc_status tc_prelu_s8(const tc_prelu_params *params, const tc_nd_dims *input_dims,
                      const int8_t *input, const tc_nd_dims *alpha_dims, const int8_t *alpha,
                      const tc_nd_dims *output_dims, int8_t *output);

/* ---- SELECT_V2 and SELECT (select.cc) -----------------------------------------------------
 * out = condition ? x : y, element by element with broadcasting of all three; the values
 * are copied as they are stored (LiteRT does not requantize), `element_size` bytes each
 * (1: int8, 2: int16, 4: int32). SELECT's rank-1 condition over the first dim is the
 * condition shaped [n, 1, ..., 1].
 */
tc_status tc_select_v2(int32_t element_size, const tc_nd_dims *condition_dims,
                       const bool *condition, const tc_nd_dims *x_dims, const void *x,
                       const tc_nd_dims *y_dims, const void *y, const tc_nd_dims *output_dims,
                       void *output);

/* ---- ABS, NEG on int16 (elementwise.cc AbsEvalQuantized, neg.cc) -------------------------
 * ABS: mode 0 (int16 without quantization): out = (int16)|in| (|-32768| wraps);
 *      mode 1 (equal scales): out = clamp(|in|); mode 2: out = clamp(MBQM(|in|, m, s)).
 * (LiteRT requires zero points of 0 for int16.)
 */
typedef struct {
    int32_t mode;
    int32_t multiplier;
    int32_t shift;
} tc_abs_params;

tc_status tc_abs_s16(const tc_abs_params *params, int32_t size, const int16_t *input,
                     int16_t *output);
/* NEG: out = (int16)(-in), the stored integers as LiteRT negates them (-(-32768) wraps). */
tc_status tc_neg_s16(int32_t size, const int16_t *input, int16_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TC_NN_MATH_H */
