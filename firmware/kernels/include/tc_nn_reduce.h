/* tinyconv kernels: reductions, arg max/min, log softmax, l2 normalization. */
#ifndef TC_NN_REDUCE_H
#define TC_NN_REDUCE_H

#include "tc_nn_types.h"

/* -- MEAN, SUM, REDUCE_MAX ------------------------------------------------------------ */

/*
 * Any reduction over any set of axes of a tensor of rank 1 to 6 is, after merging
 * neighbouring axes that are both reduced or both kept, the input viewed as
 *     [kept[0], reduced[0], kept[1], reduced[1], kept[2], reduced[2], kept[3], reduced[3]]
 * (row-major, extents of 1 where the pattern has no such run) reduced over the `reduced`
 * extents. The output is [kept[0], kept[1], kept[2], kept[3]] in that order (keep_dims
 * only changes the output's shape, not its bytes). The code generator does the merging.
 */
#define TC_REDUCE_RUNS 4

typedef struct {
    int32_t kept[TC_REDUCE_RUNS];
    int32_t reduced[TC_REDUCE_RUNS];
} tc_reduce_shape;

/*
 * MEAN and SUM as LiteRT's reference_ops::QuantizedMeanOrSum computes them:
 *   sum   = sum of the input values over the reduced axes                 (int32)
 *   out   = clamp(MultiplyByQuantizedMultiplier(sum - input_zp * count, M, S) + output_zp)
 * (the addition of output_zp wraps in int32, as in LiteRT). For SUM, M and S encode
 * input_scale / output_scale; for MEAN the code generator has also folded 1 / count into
 * them, as QuantizedMeanOrSum does. The int16 variants have zero points 0 (LiteRT's rule).
 */
typedef struct {
    tc_reduce_shape shape;
    int32_t input_offset;  /* -input zero point */
    int32_t output_offset; /* +output zero point */
    int32_t multiplier;
    int32_t shift;
} tc_reduce_sum_params;

tc_status tc_reduce_sum_s8(const tc_reduce_sum_params *params, const int8_t *input,
                           int8_t *output);
tc_status tc_reduce_sum_s16(const tc_reduce_sum_params *params, const int16_t *input,
                            int16_t *output);

/* REDUCE_MAX: the largest value over the reduced axes (input and output share their
 * quantization, LiteRT's rule, so the values pass through). */
tc_status tc_reduce_max_s8(const tc_reduce_shape *shape, const int8_t *input,
                           int8_t *output);
tc_status tc_reduce_max_s16(const tc_reduce_shape *shape, const int16_t *input,
                            int16_t *output);

/* -- ARG_MAX, ARG_MIN ----------------------------------------------------------------- */

/*
 * The input viewed as [outer, axis_size, inner]; output[o * inner + i] = the index along
 * the axis of the largest (ARG_MAX) or smallest (ARG_MIN) value, the first one on ties
 * (LiteRT's reference ArgMinMax: a later value replaces only if strictly greater/less).
 * The output is int32 or int64 (`output_int64`), written with memcpy (no alignment needed).
 */
typedef struct {
    int32_t outer;
    int32_t axis_size;
    int32_t inner;
    int32_t is_min;
    int32_t output_int64;
} tc_arg_min_max_params;

tc_status tc_arg_min_max_s8(const tc_arg_min_max_params *params, const int8_t *input,
                            void *output);

/* -- LOG_SOFTMAX ---------------------------------------------------------------------- */

/*
 * LiteRT's reference_integer_ops::LogSoftmax over rows of `depth` values, with the
 * parameters its LogSoftmaxPrepare computes (PreprocessLogSoftmaxScalingExp with beta 1
 * and 5 integer bits, CalculateInputRadius). The output has scale 16/256, zero point 127.
 */
typedef struct {
    int32_t input_multiplier;
    int32_t input_left_shift;
    int32_t reverse_multiplier;
    int32_t reverse_right_shift;
    int32_t diff_min;
} tc_log_softmax_params;

tc_status tc_log_softmax_s8(const tc_log_softmax_params *params, int32_t rows, int32_t depth,
                            const int8_t *input, int8_t *output);

/* -- L2_NORMALIZATION ----------------------------------------------------------------- */

/*
 * LiteRT's reference_integer_ops::L2Normalization over rows of `depth` values: the sum of
 * squares of (x - input_zp), its inverse square root as a fixed-point multiplier
 * (GetInvSqrtQuantizedMultiplierExp), output in scale 1/128, zero point 0.
 */
tc_status tc_l2_normalization_s8(int32_t input_offset, int32_t rows, int32_t depth,
                                 const int8_t *input, int8_t *output);

#endif /* TC_NN_REDUCE_H */
