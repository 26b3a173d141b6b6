/*
 * Private to tc_quantize_f32_s8 / _s16: TFLite's reference_ops::AffineQuantize of one value,
 *   out = clamp(round(in / scale) + zero_point, lo, hi)
 * with a float division and std::round (halves away from zero), converted to int32 before
 * the zero point is added. Built with -ffp-contract=off so the division rounds like the
 * reference.
 */
#ifndef TC_QUANTIZE_F32_INTERNAL_H
#define TC_QUANTIZE_F32_INTERNAL_H

#include <stdint.h>

/* std::round for a float already known to lie in (-2^23, 2^23): no libm needed. */
static inline float tc_round_half_away(float x)
{
    const float truncated = (float)(int32_t)x; /* exact for |x| < 2^23 */
    const float fraction = x - truncated;       /* exact too */
    if (fraction >= 0.5f) {
        return truncated + 1.0f;
    }
    if (fraction <= -0.5f) {
        return truncated - 1.0f;
    }
    return truncated;
}

/* One output value in [lo, hi] (the int8 or int16 range). */
static inline int32_t tc_quantize_f32_value(float in, float scale, int32_t zero_point,
                                            int32_t lo, int32_t hi)
{
    const float q = in / scale;
    if (!(q > -2147483648.0f && q < 2147483648.0f)) {
        /* NaN, infinities and |q| >= 2^31: LiteRT converts with static_cast<int32_t>,
         * which on x86-64 (where the reference runs) gives INT32_MIN, then adds the zero
         * point with wrap-around. Reproduce that: lo for zp >= 0, else hi. */
        return zero_point >= 0 ? lo : hi;
    }
    /* Beyond +-4 (hi + 1) the result clamps whatever the zero point (|zp| <= hi + 1):
     * skip the rounding, which needs |q| < 2^23. */
    const float limit = 4.0f * (float)(hi + 1);
    if (q > limit) {
        return hi;
    }
    if (q < -limit) {
        return lo;
    }
    const int32_t value = (int32_t)tc_round_half_away(q) + zero_point;
    return value < lo ? lo : (value > hi ? hi : value);
}

#endif /* TC_QUANTIZE_F32_INTERNAL_H */
