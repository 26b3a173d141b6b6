/*
 * Private to the math kernels: TFLite's MultiplyByQuantizedMultiplierSmallerThanOneExp,
 * RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x, multiplier), -shift) for a
 * shift <= 0 (the lowering refuses larger ones).
 */
#ifndef TC_MATH_INTERNAL_H
#define TC_MATH_INTERNAL_H

#include "tc_nn_support.h"

static inline int32_t tc_mul_below_one(int32_t x, int32_t multiplier, int32_t shift)
{
    return tc_divide_by_power_of_two(tc_doubling_high_mult(x, multiplier), -shift);
}

#endif /* TC_MATH_INTERNAL_H */
