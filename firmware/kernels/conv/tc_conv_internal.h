/*
 * Private to the convolution family: argument checks, the shared output stage and the
 * receptive-field walk. Each public kernel is defined once (tc_<op>_s8.c) and selects
 * its inner loops with the ISA macros of tc_nn_math_types.h.
 */
#ifndef TC_CONV_INTERNAL_H
#define TC_CONV_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "tc_nn_conv.h"
#include "tc_nn_simd.h"

/* The output stage every variant shares: requantize, add the zero point, clamp. */
static inline int8_t tc_conv_output(int32_t acc, int32_t multiplier, int32_t shift,
                                    int32_t output_offset, tc_activation act)
{
    return tc_clamp_s8(tc_add_wrap(tc_requantize(acc, multiplier, shift), output_offset), act);
}

static inline int32_t tc_conv_bias(const int32_t *bias, int32_t channel)
{
    return bias != NULL ? bias[channel] : 0;
}

#if TC_ISA_MVE
/* Helium: output channel oc of `n` <= 4 pixels `out_c` bytes apart, from their
 * accumulators plus `start` (bias and offset terms, int32 wrapping): requantized as one
 * vector (tc_requantize_x4, bit for bit tc_requantize), offset, clamped, scattered. */
static inline void tc_conv_store_4px(int8_t *out, int32_t out_c, const int32_t acc[4],
                                     uint32_t start, int32_t n, int32_t oc,
                                     const tc_conv_params *params,
                                     const tc_per_channel_quant_params *quant)
{
    int32x4_t v = vaddq_n_s32(vldrwq_s32(acc), (int32_t)start);
    v = tc_requantize_x4(v, quant->multiplier[oc], quant->shift[oc]);
    v = vaddq_n_s32(v, params->output_offset);
    v = vminq_s32(vmaxq_s32(v, vdupq_n_s32(params->activation.min)),
                  vdupq_n_s32(params->activation.max));
    vstrbq_scatter_offset_p_s32(out + oc, vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)out_c), v,
                                vctp32q((uint32_t)n));
}
#endif

static inline int tc_dims_positive(const tc_dims *d)
{
    return d != NULL && d->n > 0 && d->h > 0 && d->w > 0 && d->c > 0;
}

/* Shapes of a (grouped) convolution agree with each other and the scratch is big enough. */
static inline int tc_conv_args_valid(const tc_context *ctx, const tc_conv_params *params,
                                     const tc_per_channel_quant_params *quant,
                                     const tc_dims *input_dims, const int8_t *input,
                                     const tc_dims *filter_dims, const int8_t *filter,
                                     const tc_dims *output_dims, const int8_t *output,
                                     int32_t scratch_bytes)
{
    if (params == NULL || quant == NULL || quant->multiplier == NULL || quant->shift == NULL ||
        input == NULL || filter == NULL || output == NULL || !tc_dims_positive(input_dims) ||
        !tc_dims_positive(filter_dims) || !tc_dims_positive(output_dims)) {
        return 0;
    }
    if (input_dims->c % filter_dims->c != 0 || input_dims->n != output_dims->n ||
        filter_dims->n != output_dims->c) {
        return 0;
    }
    const int32_t groups = input_dims->c / filter_dims->c;
    if (output_dims->c % groups != 0 || params->stride.h < 1 || params->stride.w < 1 ||
        params->dilation.h < 1 || params->dilation.w < 1) {
        return 0;
    }
    if (scratch_bytes > 0 && (ctx == NULL || ctx->buf == NULL || ctx->size < scratch_bytes)) {
        return 0;
    }
    return 1;
}

/* 1x1 convolution: a GEMM, so every output pixel is the input pixel at the same place. */
static inline int tc_conv_1x1_args_valid(const tc_conv_params *params,
                                         const tc_per_channel_quant_params *quant,
                                         const tc_dims *input_dims, const int8_t *input,
                                         const tc_dims *filter_dims, const int8_t *filter,
                                         const tc_dims *output_dims, const int8_t *output)
{
    return tc_conv_args_valid(NULL, params, quant, input_dims, input, filter_dims, filter,
                              output_dims, output, 0) &&
           filter_dims->h == 1 && filter_dims->w == 1 && filter_dims->c == input_dims->c &&
           params->stride.h == 1 && params->stride.w == 1 && params->padding.h == 0 &&
           params->padding.w == 0 && input_dims->h == output_dims->h &&
           input_dims->w == output_dims->w;
}

static inline int tc_fc_args_valid(const tc_fc_params *params, const tc_dims *input_dims,
                                   const int8_t *input, const tc_dims *filter_dims,
                                   const int8_t *filter, const tc_dims *output_dims,
                                   const int8_t *output)
{
    return params != NULL && input != NULL && filter != NULL && output != NULL &&
           tc_dims_positive(input_dims) && tc_dims_positive(filter_dims) &&
           tc_dims_positive(output_dims) && input_dims->c == filter_dims->c &&
           input_dims->n == output_dims->n && filter_dims->n == output_dims->c;
}

/*
 * round((double)acc * scale) with scale = mantissa * 2^-exponent, exactly as an IEEE
 * double multiply (round to nearest even, 53 significant bits) followed by C's round()
 * (halves away from zero) computes it, using only integer arithmetic, then converted to
 * int32 as LiteRT's static_cast does on x86-64: INT32_MIN where the rounded value does not
 * fit (tests/unit/test_quant.py checks this against LiteRT).
 */
static inline int32_t tc_round_scaled_f64(int32_t acc, int64_t mantissa, int32_t exponent)
{
    const uint64_t limit = (uint64_t)1 << 31;
    if (acc == 0 || mantissa <= 0) {
        return 0;
    }
    const uint32_t a = acc < 0 ? 0u - (uint32_t)acc : (uint32_t)acc;
    const uint64_t m = (uint64_t)mantissa;
    /* The exact product a * m (< 2^84) as hi * 2^32 + lo, hi < 2^53. */
    const uint64_t low_product = (uint64_t)a * (uint32_t)m;
    const uint64_t hi = (uint64_t)a * (uint32_t)(m >> 32) + (low_product >> 32);
    const uint32_t lo = (uint32_t)low_product;

    /* 1. The double product: keep 53 significant bits, rounding to nearest even. */
    uint64_t significand;
    int32_t scale_log2 = -exponent; /* product = significand * 2^scale_log2 */
    const int32_t hi_bits = hi == 0 ? 0 : 64 - __builtin_clzll(hi);
    if (hi_bits <= 21) {
        significand = (hi << 32) | lo; /* at most 53 bits: exact */
    } else {
        const int32_t drop = hi_bits - 21; /* 1..32 low bits do not fit */
        const uint64_t dropped_mask = ((uint64_t)1 << drop) - 1;
        const uint64_t dropped = lo & dropped_mask;
        const uint64_t half = (uint64_t)1 << (drop - 1);
        significand = (hi << (32 - drop)) | (uint64_t)((uint64_t)lo >> drop);
        if (dropped > half || (dropped == half && (significand & 1u))) {
            ++significand; /* may reach 2^53: still exact */
        }
        scale_log2 += drop;
    }

    /* 2. round(): to the nearest integer, halves away from zero (on the magnitude). */
    uint64_t magnitude;
    if (scale_log2 >= 0) {
        magnitude = (scale_log2 >= 31 || significand >= (limit >> scale_log2))
                        ? limit
                        : significand << scale_log2;
    } else if (scale_log2 <= -60) {
        magnitude = 0; /* at most 2^-7 */
    } else {
        const int32_t right = -scale_log2;
        magnitude = (significand + ((uint64_t)1 << (right - 1))) >> right;
    }
    if (magnitude >= limit) {
        return INT32_MIN; /* (int32_t) of a double out of range: x86-64's cvttsd2si */
    }
    return acc < 0 ? -(int32_t)magnitude : (int32_t)magnitude;
}

/* The fully connected kernels' loop and requantization: tc_fully_connected_run.h. */


/* An output pixel's coordinates, stepped in NHWC order by tc_pixel_next. */
typedef struct {
    int32_t batch;
    int32_t y;
    int32_t x;
} tc_pixel;

static inline void tc_pixel_next(tc_pixel *p, const tc_dims *output_dims)
{
    if (++p->x == output_dims->w) {
        p->x = 0;
        if (++p->y == output_dims->h) {
            p->y = 0;
            ++p->batch;
        }
    }
}

/* Element offset in the input of tap (ky, kx) of output pixel px (channel 0 of the
 * pixel), or -1 when the tap falls in the padding. */
static inline int32_t tc_tap_offset(const tc_conv_params *params, const tc_dims *input_dims,
                                    tc_pixel px, int32_t ky, int32_t kx)
{
    const int32_t iy = px.y * params->stride.h - params->padding.h + ky * params->dilation.h;
    const int32_t ix = px.x * params->stride.w - params->padding.w + kx * params->dilation.w;
    if (iy < 0 || iy >= input_dims->h || ix < 0 || ix >= input_dims->w) {
        return -1;
    }
    return ((px.batch * input_dims->h + iy) * input_dims->w + ix) * input_dims->c;
}

/* True when every tap of output pixel px lies inside the input (no padding). */
static inline int tc_conv_interior(const tc_conv_params *params, const tc_dims *input_dims,
                                   const tc_dims *filter_dims, tc_pixel px)
{
    const int32_t y0 = px.y * params->stride.h - params->padding.h;
    const int32_t x0 = px.x * params->stride.w - params->padding.w;
    return y0 >= 0 && x0 >= 0 && y0 + (filter_dims->h - 1) * params->dilation.h < input_dims->h &&
           x0 + (filter_dims->w - 1) * params->dilation.w < input_dims->w;
}

/* Element offset of tap (0, 0) of an interior pixel (see tc_conv_interior). */
static inline int32_t tc_field_offset(const tc_conv_params *params, const tc_dims *input_dims,
                                      tc_pixel px)
{
    const int32_t y0 = px.y * params->stride.h - params->padding.h;
    const int32_t x0 = px.x * params->stride.w - params->padding.w;
    return ((px.batch * input_dims->h + y0) * input_dims->w + x0) * input_dims->c;
}

/*
 * How an interior receptive field lies in the input: filter_dims->h rows, `row_step`
 * elements apart; each row is `segments` runs of `segment` contiguous elements,
 * `segment_step` apart. With one group and no horizontal dilation a whole filter row is
 * one run (kw * cin contiguous bytes in NHWC), which is what makes the direct kernels fast.
 */
typedef struct {
    int32_t row_step;
    int32_t segments;
    int32_t segment;
    int32_t segment_step;
} tc_field_layout;

static inline tc_field_layout tc_conv_field_layout(const tc_conv_params *params,
                                                   const tc_dims *input_dims,
                                                   const tc_dims *filter_dims)
{
    tc_field_layout layout;
    layout.row_step = params->dilation.h * input_dims->w * input_dims->c;
    if (params->dilation.w == 1 && input_dims->c == filter_dims->c) {
        layout.segments = 1;
        layout.segment = filter_dims->w * filter_dims->c;
    } else {
        layout.segments = filter_dims->w;
        layout.segment = filter_dims->c;
    }
    layout.segment_step = params->dilation.w * input_dims->c;
    return layout;
}

/*
 * The SIMD kernels have two ways to feed their dot products (tc_convolve_s8.c):
 * - im2col: copy each receptive field into scratch columns (DSP two int16 columns of
 *   K = kh * kw * cin rounded up to 4 plus a word for alignment, none when K < 4; MVE four
 *   int8 columns: 4 * K bytes), then stream them. The fastest; taken whenever the caller
 *   gives that much scratch.
 * - direct: read the taps in place from the NHWC input, no scratch. Interior pixels stream
 *   whole receptive-field rows (kw * cin contiguous bytes with one group and no horizontal
 *   dilation); border pixels go tap by tap. Any channel count works (scalar or predicated
 *   tails); it is fastest when a tap's channels fill whole DSP words (4) or MVE vectors (16).
 * So the scratch is never required (tc_convolve_s8_get_buffer_size is 0): the planner
 * grants the fast size wherever it fits without growing the arena.
 * Mirrors tinyconv.ir.ops.Conv2D.scratch_bytes / fast_scratch_bytes.
 */

/* Whether this call runs im2col: it was given the scratch for it. */
static inline int tc_conv_uses_im2col(const tc_context *ctx, const tc_dims *input_dims,
                                      const tc_dims *filter_dims)
{
    const int32_t im2col_bytes = tc_convolve_s8_get_fast_buffer_size(input_dims, filter_dims);
    return im2col_bytes > 0 && ctx != NULL && ctx->buf != NULL && ctx->size >= im2col_bytes;
}

/* -- the SIMD im2col, shared by tc_convolve_s8 and tc_convolve_s8_ort ------------------ */
#if !TC_ISA_PORTABLE
/* n bytes from src to dst, by words where n >= 4 (the last word may overlap). */
static inline void tc_copy_run(int8_t *dst, const int8_t *src, int32_t n)
{
    if (n < 4) {
        for (int32_t i = 0; i < n; ++i) {
            dst[i] = src[i];
        }
        return;
    }
    for (int32_t i = 0; i + 4 < n; i += 4) {
        tc_write_s32(dst + i, tc_read_s32(src + i));
    }
    tc_write_s32(dst + n - 4, tc_read_s32(src + n - 4));
}

/* The receptive field of pixel px (group from first_in_c) as K bytes in filter order,
 * taps in the padding set to the input zero point (the SIMD im2col of tc_convolve_s8 and
 * tc_convolve_s8_ort). With one group and no horizontal
 * dilation the inside taps of a kernel row are one contiguous run. */
static inline void tc_gather_field(int8_t *field, const tc_conv_params *params,
                                   const tc_dims *input_dims, const int8_t *input,
                                   const tc_dims *filter_dims, tc_pixel px,
                                   int32_t first_in_c)
{
    /* Locals: the byte stores below could alias anything read through a pointer. */
    const int32_t cin = filter_dims->c, k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t dil_h = params->dilation.h, dil_w = params->dilation.w;
    const int32_t y0 = px.y * params->stride.h - params->padding.h;
    const int32_t x0 = px.x * params->stride.w - params->padding.w;
    const int merge = dil_w == 1 && cin == in_c;
    const int8_t zero_point = (int8_t)(-params->input_offset);
    const int8_t *image = input + px.batch * in_h * in_w * in_c + first_in_c;
    if (merge && y0 >= 0 && x0 >= 0 && y0 + (k_h - 1) * dil_h < in_h && x0 + k_w <= in_w) {
        /* Interior: kh runs of kw * cin bytes. */
        const int32_t run = k_w * cin, row_step = dil_h * in_w * in_c;
        const int8_t *src = image + (y0 * in_w + x0) * in_c;
        for (int32_t ky = 0; ky < k_h; ++ky, src += row_step, field += run) {
            tc_copy_run(field, src, run);
        }
        return;
    }
    for (int32_t ky = 0; ky < k_h; ++ky) {
        const int32_t iy = y0 + ky * dil_h;
        const int row_inside = iy >= 0 && iy < in_h;
        for (int32_t kx = 0; kx < k_w;) {
            const int32_t ix = x0 + kx * dil_w;
            int32_t n = 1;
            if (row_inside && ix >= 0 && ix < in_w) {
                if (merge) {
                    n = TC_MIN(k_w, in_w - x0) - kx;
                }
                tc_copy_run(field, image + (iy * in_w + ix) * in_c, n * cin);
            } else {
                __builtin_memset(field, zero_point, (size_t)cin);
            }
            field += n * cin;
            kx += n;
        }
    }
}
#endif

#if TC_ISA_DSP
/* Lanes kept in the last group of an im2col column (which starts at K - 4 and overlaps the
 * group before by 4 - K % 4 elements when K % 4 != 0): even word (elements 0, 2), odd (1, 3). */
typedef struct {
    uint32_t even;
    uint32_t odd;
} tc_tail_lanes;

static inline tc_tail_lanes tc_tail_lanes_of(int32_t k_len)
{
    const int32_t r = k_len & 3;
    tc_tail_lanes t = {0xFFFFFFFFu, 0xFFFFFFFFu};
    if (r != 0) {
        t.even = r == 1 ? 0u : 0xFFFF0000u;
        t.odd = r == 3 ? 0xFFFFFFFFu : 0xFFFF0000u;
    }
    return t;
}

/* The DSP im2col column (tc_convolve_s8, tc_convolve_s8_ort): K >= 4 field bytes widened
 * four at a time with the input offset added by SXTAB16 / SXTAB16 ROR #8, per group of four
 * its elements 0, 2 then 1, 3 (the lanes SXTB16 gives the four filter bytes); the groups
 * start at 0, 4, ... and the last at K - 4, its lanes that overlap the group before 0. The
 * field may lie in the column's upper half: it is widened in place from the bottom (a
 * group's two words never reach bytes not yet read). */
static inline void tc_widen_column(int32_t *column, const int8_t *field, int32_t k_len,
                                   int32_t input_offset, tc_tail_lanes tail)
{
    const int32_t offsets = tc_dup16(input_offset);
    const int8_t *last = field + k_len - 4;
    for (; field < last; field += 4, column += 2) {
        const int32_t w = tc_read_s32(field);
        column[0] = tc_sxtab16_even(offsets, w);
        column[1] = tc_sxtab16_odd(offsets, w);
    }
    const int32_t w = tc_read_s32(last);
    column[0] = (int32_t)((uint32_t)tc_sxtab16_even(offsets, w) & tail.even);
    column[1] = (int32_t)((uint32_t)tc_sxtab16_odd(offsets, w) & tail.odd);
}
#endif

#endif /* TC_CONV_INTERNAL_H */
