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
#include "../conv/tc_conv_internal.h" /* tc_conv_bias, the pixel walk, the SIMD im2col */

/* Round half to even of |f| < 2^22 (cvtps2dq under the default MXCSR): adding 1.5 * 2^23
 * leaves no fraction bits, and float32 addition rounds to nearest even. */
static inline int32_t tc_ort_round(float f)
{
    return (int32_t)((f + 12582912.0f) - 12582912.0f);
}

/* The output stage of MlasRequantizeOutput that does not change per accumulator: the
 * clamp bounds in float32 (relative to the zero point) and the zero point. */
typedef struct {
    float lo;
    float hi;
    int32_t zero_point;
} tc_ort_clamp;

static inline tc_ort_clamp tc_ort_clamp_of(int32_t zero_point, const tc_activation *act)
{
    const tc_ort_clamp c = {(float)(act->min - zero_point), (float)(act->max - zero_point),
                            zero_point};
    return c;
}

/* MlasRequantizeOutput for one accumulator: float32 product, clamp, round, zero point. */
static inline int8_t tc_ort_requantize_clamped(int32_t acc, float scale, const tc_ort_clamp *c)
{
    float f = (float)acc * scale;
    if (!(f >= c->lo)) { /* MAXPS keeps the bound for a NaN as well */
        f = c->lo;
    }
    if (f > c->hi) {
        f = c->hi;
    }
    return (int8_t)(tc_ort_round(f) + c->zero_point);
}

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2) && !defined(TC_REFERENCE_KERNELS)
#include <arm_mve.h>
#define TC_ORT_REQUANTIZE_X4 1
/* tc_ort_requantize_clamped on four lanes (Helium with floating point), lane for lane the
 * same float32 operations: VCVT (int32 -> float32, round to nearest even), VMUL, the clamp
 * (VMAXNM / VMINNM: the scalar compares' result for the finite or infinite products here),
 * VADD / VSUB of 1.5 * 2^23 (round half to even), VCVT of the integer value, + zero
 * point. (Denormals cannot matter: any product below 2^-126 rounds to 0 either way.) */
static inline int32x4_t tc_ort_requantize_x4(int32x4_t acc, float32x4_t scale,
                                             const tc_ort_clamp *c)
{
    float32x4_t f = vmulq_f32(vcvtq_f32_s32(acc), scale);
    f = vminnmq_f32(vmaxnmq_f32(f, vdupq_n_f32(c->lo)), vdupq_n_f32(c->hi));
    f = vsubq_n_f32(vaddq_n_f32(f, 12582912.0f), 12582912.0f);
    return vaddq_n_s32(vcvtq_s32_f32(f), c->zero_point);
}
#else
#define TC_ORT_REQUANTIZE_X4 0
#endif

static inline int8_t tc_ort_requantize(int32_t acc, float scale, int32_t zero_point,
                                       const tc_activation *act)
{
    const tc_ort_clamp c = tc_ort_clamp_of(zero_point, act);
    return tc_ort_requantize_clamped(acc, scale, &c);
}

/* The requantization of a layer with one scale per output channel (step 1) or one
 * (step 0): output channel oc's is scale[oc * step]. */
typedef struct {
    const float *scale;
    int32_t step;
    tc_ort_clamp clamp;
} tc_ort_output_stage;

static inline tc_ort_output_stage tc_ort_output_stage_of(const tc_ort_requant_params *quant,
                                                         int32_t zero_point,
                                                         const tc_activation *act)
{
    const tc_ort_output_stage o = {quant->scale, quant->per_channel ? 1 : 0,
                                   tc_ort_clamp_of(zero_point, act)};
    return o;
}

static inline int8_t tc_ort_output(int32_t acc, const tc_ort_output_stage *o, int32_t oc)
{
    return tc_ort_requantize_clamped(acc, o->scale[oc * o->step], &o->clamp);
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

/* -- the convolutions' accumulators (tc_convolve_s8_ort, tc_depthwise_conv_s8_ort) -------
 * acc = bias[oc] + sum over the taps inside the image of (x + input_offset) *
 * (w + filter_offset): the taps' sum exact in int32, the bias added modulo 2^32 (tc_add_wrap,
 * as onnxruntime's int32 does), so every ISA's loops give the same acc in any order.
 * The loops per ISA live in the kernels; the portable one, which every ISA also runs for
 * the cases its SIMD loops leave out, is here. */

/* One convolution as the portable loop reads it (depthwise too: one input channel per
 * group). Output channel oc reads input channels [g * group_c, (g + 1) * group_c), g =
 * oc / oc_per_group, and filter bytes filter[oc * oc_stride + tap * tap_stride + ic],
 * tap = ky * k_w + kx. */
typedef struct {
    const tc_conv_params *params;
    const tc_dims *input_dims;
    const int8_t *input;
    const int8_t *filter;
    const int32_t *bias;
    int32_t k_h, k_w;
    int32_t filter_offset;
    int32_t group_c, oc_per_group;
    int32_t oc_stride, tap_stride;
} tc_ort_window;

/* Output channel oc of output pixel (b, oy, ox): the reference sum, tap by tap. */
static inline int32_t tc_ort_window_acc(const tc_ort_window *win, int32_t b, int32_t oy,
                                        int32_t ox, int32_t oc)
{
    const tc_conv_params *p = win->params;
    const int32_t in_h = win->input_dims->h, in_w = win->input_dims->w;
    const int32_t in_c = win->input_dims->c;
    const int32_t y0 = oy * p->stride.h - p->padding.h;
    const int32_t x0 = ox * p->stride.w - p->padding.w;
    const int8_t *x_g = win->input + (size_t)b * in_h * in_w * in_c +
                        (oc / win->oc_per_group) * win->group_c;
    const int8_t *w_oc = win->filter + (size_t)oc * win->oc_stride;
    int32_t acc = 0;
    for (int32_t ky = 0; ky < win->k_h; ky++) {
        const int32_t iy = y0 + ky * p->dilation.h;
        if (iy < 0 || iy >= in_h) {
            continue;
        }
        for (int32_t kx = 0; kx < win->k_w; kx++) {
            const int32_t ix = x0 + kx * p->dilation.w;
            if (ix < 0 || ix >= in_w) {
                continue;
            }
            const int8_t *px = x_g + ((size_t)iy * in_w + ix) * in_c;
            const int8_t *pw = w_oc + (size_t)(ky * win->k_w + kx) * win->tap_stride;
            for (int32_t ic = 0; ic < win->group_c; ic++) {
                acc += ((int32_t)px[ic] + p->input_offset) *
                       ((int32_t)pw[ic] + win->filter_offset);
            }
        }
    }
    return tc_add_wrap(acc, tc_conv_bias(win->bias, oc));
}

/* Every output, reference loop order (NHWC). */
static inline void tc_ort_window_run(const tc_ort_window *win,
                                     const tc_ort_requant_params *quant,
                                     const tc_dims *output_dims, int8_t *output)
{
    const tc_ort_output_stage stage = tc_ort_output_stage_of(
        quant, win->params->output_offset, &win->params->activation);
    for (int32_t b = 0; b < output_dims->n; b++) {
        for (int32_t oy = 0; oy < output_dims->h; oy++) {
            for (int32_t ox = 0; ox < output_dims->w; ox++) {
                for (int32_t oc = 0; oc < output_dims->c; oc++) {
                    *output++ = tc_ort_output(tc_ort_window_acc(win, b, oy, ox, oc), &stage,
                                              oc);
                }
            }
        }
    }
}

#endif /* TC_ORT_INTERNAL_H */
