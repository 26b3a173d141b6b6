/*
 * LOG_SOFTMAX, int8: LiteRT's reference_integer_ops::LogSoftmax, per row of `depth` values
 * (gemmlowp fixed point; Qm below means a raw int32 with m integer bits):
 *   max  = the row's largest value
 *   sum  = sum over values with x - max >= diff_min of
 *          Rescale<12>(exp_on_negative_values(MultiplyByQuantizedMultiplier(x - max,
 *                                                   input_multiplier, input_left_shift)))
 *   lse  = log_x_for_x_greater_than_or_equal_to_1<5>(sum)                         (Q5)
 *   cut  = max(diff_min - 1, MultiplyByQuantizedMultiplier(lse + INT32_MIN,
 *                                   reverse_multiplier, -reverse_right_shift))
 *   out  = x - max > cut ? clamp(RoundingDivideByPOT(scaled(x - max) - lse, 22) + 127)
 *                        : -128
 * (output scale 16/256, zero point 127). exp and the reciprocal are the softmax kernels'
 * (softmax/tc_softmax_internal.h). The row is read three times and each output written
 * after its input is read, so the output may overwrite the input.
 */
#include "../softmax/tc_softmax_internal.h"
#include "tc_nn_reduce.h"

static int32_t tc_ls_add(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

static int32_t tc_ls_sub(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a - (uint32_t)b);
}

static int32_t tc_ls_saturate(int64_t x)
{
    return (int32_t)(x > INT32_MAX ? INT32_MAX : (x < INT32_MIN ? INT32_MIN : x));
}

/* gemmlowp RoundingHalfSum: (a + b) / 2 rounded away from zero on halves. */
static int32_t tc_ls_rounding_half_sum(int32_t a, int32_t b)
{
    const int64_t sum = (int64_t)a + b;
    return (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
}

/*
 * TFLite's log_x_for_x_greater_than_or_equal_to_1_impl<5, 12>: ln(x) for x in Q12, in Q5,
 * accumulated in Q6 (kAccumIntegerBits), with its constants in Q0.31.
 */
static int32_t tc_ls_log_q12_to_q5(int32_t x)
{
    const int32_t log_2 = 1488522236;
    const int32_t sqrt_sqrt_half = 1805811301;
    const int32_t sqrt_half = 1518500250;
    const int32_t one_quarter = 536870912;
    const int32_t alpha_n = 117049297;
    const int32_t alpha_d = 127690142;
    const int32_t alpha_i = 1057819769;
    const int32_t alpha_f = 638450708;
    const int32_t input_bits = 12, accum_bits = 6;
    const int32_t shifted_quarter = tc_fx_mul_pot(one_quarter, -accum_bits);

    const int32_t z_a_headroom_plus_1 = __builtin_clz((uint32_t)x);
    const int32_t r_a_tmp = tc_fx_mul_pot(x, z_a_headroom_plus_1 - 1);
    const int32_t r_a_raw = tc_fx_mul_pot(tc_fx_mul(r_a_tmp, sqrt_half), 1);
    const int32_t z_a_pow_2_adj = tc_ls_saturate(
        (int64_t)tc_fx_mul_pot(input_bits - z_a_headroom_plus_1, 31 - accum_bits) +
        shifted_quarter);

    const int32_t z_b = tc_fx_mul(x, sqrt_half);
    const int32_t z_b_headroom = __builtin_clz((uint32_t)z_b) - 1;
    const int32_t r_b_raw = tc_fx_mul_pot(x, z_b_headroom);
    const int32_t z_b_pow_2_adj = tc_ls_saturate(
        (int64_t)tc_fx_mul_pot(input_bits - z_b_headroom, 31 - accum_bits) - shifted_quarter);

    const int32_t r = r_a_raw < r_b_raw ? r_a_raw : r_b_raw;
    const int32_t z_pow_2_adj = z_a_pow_2_adj > z_b_pow_2_adj ? z_a_pow_2_adj : z_b_pow_2_adj;

    const int32_t p = tc_ls_rounding_half_sum(r, sqrt_sqrt_half);
    int32_t q = tc_ls_sub(r, sqrt_sqrt_half);
    q = tc_ls_add(q, q);
    const int32_t common_sq = tc_fx_mul(q, q);
    const int32_t num = tc_ls_add(tc_fx_mul(q, r), tc_fx_mul(tc_fx_mul(q, common_sq), alpha_n));
    const int32_t denom_minus_one = tc_ls_add(
        tc_fx_mul(p, tc_ls_add(tc_ls_add(alpha_i, q), tc_fx_mul(alpha_d, common_sq))),
        tc_fx_mul(alpha_f, q));
    const int32_t recip_denom = tc_fx_one_over_one_plus_x(denom_minus_one);
    const int32_t num_scaled = tc_fx_mul_pot(num, -accum_bits);
    const int32_t sum =
        tc_ls_add(tc_fx_mul(z_pow_2_adj, log_2), tc_fx_mul(num_scaled, recip_denom));
    return tc_fx_mul_pot(sum, accum_bits - 5);
}

tc_status tc_log_softmax_s8(const tc_log_softmax_params *params, int32_t rows, int32_t depth,
                            const int8_t *input, int8_t *output)
{
    if (params == NULL || input == NULL || output == NULL || rows < 0 || depth < 1 ||
        params->input_left_shift < 0 || params->input_left_shift > 31 ||
        params->reverse_right_shift < 0 || params->reverse_right_shift > 31) {
        TC_RETURN_ARG_ERROR();
    }
    const tc_log_softmax_params p = *params;
    for (int32_t row = 0; row < rows; ++row, input += depth, output += depth) {
        int8_t max = INT8_MIN;
        for (int32_t c = 0; c < depth; ++c) {
            max = input[c] > max ? input[c] : max;
        }
        int32_t sum_of_exps = 0; /* Q12 */
        for (int32_t c = 0; c < depth; ++c) {
            const int32_t diff = input[c] - max;
            if (diff >= p.diff_min) {
                const int32_t scaled = tc_requantize(diff, p.input_multiplier,
                                                     p.input_left_shift);
                sum_of_exps = tc_ls_add(
                    sum_of_exps,
                    tc_fx_mul_pot(tc_fx_exp_on_negative_values(scaled),
                                  -TC_SOFTMAX_ACCUM_INTEGER_BITS));
            }
        }
        const int32_t log_sum = tc_ls_log_q12_to_q5(sum_of_exps);
        const int32_t reversed = tc_requantize(tc_ls_add(log_sum, INT32_MIN),
                                               p.reverse_multiplier, -p.reverse_right_shift);
        const int32_t cut = reversed > p.diff_min - 1 ? reversed : p.diff_min - 1;
        for (int32_t c = 0; c < depth; ++c) {
            const int32_t diff = input[c] - max;
            int32_t y = INT8_MIN;
            if (diff > cut) {
                const int32_t scaled = tc_requantize(diff, p.input_multiplier,
                                                     p.input_left_shift);
                y = tc_divide_by_power_of_two(tc_ls_sub(scaled, log_sum), 31 - 5 - 4) + 127;
                y = TC_CLAMP(y, INT8_MIN, INT8_MAX);
            }
            output[c] = (int8_t)y;
        }
    }
    return TC_OK;
}
