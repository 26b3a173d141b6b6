/*
 * onnxruntime's float steps, shared by the kernels of firmware/kernels/onnxrt (private).
 * Every file including this is compiled with fp-contract off (the pragma below): a * b + c
 * must round twice where onnxruntime rounds twice; fused multiply-adds are explicit.
 */
#ifndef TC_ORT_INTERNAL_H
#define TC_ORT_INTERNAL_H

#pragma GCC optimize("fp-contract=off")

#include <stdint.h>
#include <string.h>

#include "tc_nn_onnxrt.h"

/* Round half to even of |f| < 2^22 (cvtps2dq under the default MXCSR): adding 1.5 * 2^23
 * leaves no fraction bits, and float32 addition rounds to nearest even. */
static inline int32_t tc_ort_round(float f)
{
    return (int32_t)((f + 12582912.0f) - 12582912.0f);
}

/* MlasRequantizeOutput for one accumulator: float32 product, clamp, round, zero point. */
static inline int8_t tc_ort_requantize(int32_t acc, float scale, int32_t zero_point,
                                       const tc_activation *act)
{
    float f = (float)acc * scale;
    const float lo = (float)(act->min - zero_point);
    const float hi = (float)(act->max - zero_point);
    if (!(f >= lo)) { /* MAXPS keeps the bound for a NaN as well */
        f = lo;
    }
    if (f > hi) {
        f = hi;
    }
    return (int8_t)(tc_ort_round(f) + zero_point);
}

/* fmaf: a * b + c with one rounding. Arm's VFMA where the FPU has it; otherwise in double:
 * a * b is exact there, the sum is rounded to odd (TwoSum gives its error), and a double
 * rounded to odd then to float32 is the correctly rounded float32 sum. */
static inline float tc_ort_fma(float a, float b, float c)
{
#if defined(__ARM_FEATURE_FMA)
    return __builtin_fmaf(a, b, c);
#else
    const double p = (double)a * (double)b;
    const double s = p + (double)c;
    const double bb = s - p;
    const double e = (p - (s - bb)) + ((double)c - bb);
    double r = s;
    if (e != 0.0) {
        uint64_t bits;
        memcpy(&bits, &r, sizeof bits);
        if ((bits & 1u) == 0u) {
            bits = ((e > 0.0) == (s > 0.0)) ? bits + 1u : bits - 1u;
            memcpy(&r, &bits, sizeof bits);
        }
    }
    return (float)r;
#endif
}

/* cvtps2dq: round half to even; out of range or NaN gives INT32_MIN. */
static inline int32_t tc_ort_cvt(float t)
{
    if (!(t > -2147483648.0f && t < 2147483648.0f)) {
        return INT32_MIN;
    }
    if (t > -8388608.0f && t < 8388608.0f) {
        return tc_ort_round(t);
    }
    return (int32_t)t; /* already an integer */
}

#endif /* TC_ORT_INTERNAL_H */
