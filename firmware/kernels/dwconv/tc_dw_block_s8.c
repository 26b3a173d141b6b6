/*
 * tc_dw_block_s8: one output pixel, channels [c, c + count), depth multiplier 1; the
 * building block of both depthwise kernels (private to firmware/kernels/dwconv, see
 * tc_dwconv_block.h). Inner loops per ISA:
 *
 * Portable C: the reference arithmetic, channel by channel.
 *
 * Armv7E-M (Cortex-M4/M7/M33...) and Helium: full groups of four channels run in
 * tc_dw_row4_s8 (end of this file), a whole output row per call: the group's bias,
 * requantization constants and (3x3) widened filter are set up once per row, the pixels
 * whose 3x3 window lies inside the image run an unrolled loop without bounds, and the
 * rest a general loop. DSP: one LDR brings 4 channels of a tap, SXTAB16 widens lanes 0/2
 * (and, rotated, 1/3) while adding the input offset, SMLABB/SMLATT accumulate; the common
 * requantization (no left shift, |acc| < 2^30) is SMMULR plus a rounding shift, and the
 * clamp runs on four bytes at once (SSUB8/SEL). Helium: one int32x4 per group, the input
 * offset folded into the starting value on whole windows, the requantization on four
 * lanes (tc_requantize_x4_pc). tc_dw_block_s8 below is left with the channel tails
 * (DSP: scalar) and, on Helium, blocks of up to 16 channels:
 *
 * Helium (Cortex-M55/M85): up to 16 channels of one pixel.
 *
 * The 16 channels live in four int32x4 accumulators. Each tap loads 4 x 4 int8 input and
 * filter values widened to int32 (VLDRB.S32), adds the input offset and accumulates the
 * lane-wise products (MVE has no non-reducing vector multiply-accumulate, so VMUL + VADD).
 * Lanes past `count` are predicated off: their loads touch no memory and read as 0.
 * Requantization runs on four lanes (tc_requantize_x4_pc: VQRDMULH is TFLite's doubling
 * high multiply exactly, see tc_requantize_fast).
 */
#include "tc_dwconv_block.h"
#include "tc_nn_simd.h"

#if TC_ISA_DSP

/* Four accumulators, one per channel of a group of four. */
typedef struct {
    int32_t acc0, acc1, acc2, acc3;
} acc4;

/* One tap of four channels: 2 LDR, 4 SXTAB16/SXTB16 (the input offset is added while
 * widening), 4 SMLABB/SMLATT. */
static inline __attribute__((always_inline)) void mac4(acc4 *a, const int8_t *in,
                                                       const int8_t *f, int32_t offset2)
{
    const int32_t x = tc_read_s32(in);
    const int32_t w = tc_read_s32(f);
    const int32_t x02 = tc_sxtab16_even(offset2, x);
    const int32_t x13 = tc_sxtab16_odd(offset2, x);
    const int32_t w02 = tc_sxtb16_even(w);
    const int32_t w13 = tc_sxtb16_odd(w);
    a->acc0 = __smlabb(x02, w02, a->acc0);
    a->acc2 = __smlatt(x02, w02, a->acc2);
    a->acc1 = __smlabb(x13, w13, a->acc1);
    a->acc3 = __smlatt(x13, w13, a->acc3);
}

/* What the requantization reads, copied out of the geometry once per call: the compiler
 * cannot keep g's fields in registers across the int8 stores to dst, which may alias it. */
typedef struct {
    const int32_t *bias, *multiplier, *shift;
    int32_t output_offset, act_min, act_max;
} out_quant;

static inline int32_t finish(const out_quant *q, int32_t ch, int32_t acc)
{
    acc = tc_add_wrap(tc_requantize_fast(acc, q->multiplier[ch], q->shift[ch]),
                      q->output_offset);
    return TC_CLAMP(acc, q->act_min, q->act_max);
}

#elif TC_ISA_MVE

static inline mve_pred16_t lanes_from(int32_t count, int32_t first)
{
    const int32_t n = count - first;
    return vctp32q((uint32_t)(n > 0 ? n : 0));
}

#endif

void tc_dw_block_s8(const tc_dw_geometry *g, int32_t out_y, int32_t out_x, int32_t c,
                    int32_t count, int8_t *dst)
{
#if TC_ISA_DSP
    /* Only channel tails reach here (count < 4: full groups of four run in
     * tc_dw_row4_s8): scalar, as the reference. */
    const int32_t channels = g->channels;
    const int32_t row_stride = g->in_w * channels;
    const int32_t base_y = out_y * g->stride_h - g->pad_h;
    const int32_t base_x = out_x * g->stride_w - g->pad_w;
    const int32_t ky_begin = tc_dw_first_tap(base_y, g->dil_h);
    const int32_t ky_end = tc_dw_end_tap(base_y, g->dil_h, g->in_h, g->k_h);
    const int32_t kx_begin = tc_dw_first_tap(base_x, g->dil_w);
    const int32_t kx_end = tc_dw_end_tap(base_x, g->dil_w, g->in_w, g->k_w);
    const out_quant q = {g->bias,          g->multiplier, g->shift,
                         g->output_offset, g->act_min,    g->act_max};
    for (int32_t j = 0; j < count; ++j) {
        const int32_t ch = c + j;
        int32_t acc = q.bias != NULL ? q.bias[ch] : 0;
        for (int32_t ky = ky_begin; ky < ky_end; ++ky) {
            const int8_t *in_row = g->input + (base_y + ky * g->dil_h) * row_stride + ch;
            const int8_t *f_row = g->filter + ky * g->k_w * channels + ch;
            for (int32_t kx = kx_begin; kx < kx_end; ++kx) {
                acc += (in_row[(base_x + kx * g->dil_w) * channels] + g->input_offset) *
                       f_row[kx * channels];
            }
        }
        dst[j] = (int8_t)finish(&q, ch, acc);
    }
#elif TC_ISA_MVE
    const int32_t channels = g->channels;
    const int32_t base_y = out_y * g->stride_h - g->pad_h;
    const int32_t base_x = out_x * g->stride_w - g->pad_w;
    const int32_t ky_begin = tc_dw_first_tap(base_y, g->dil_h);
    const int32_t ky_end = tc_dw_end_tap(base_y, g->dil_h, g->in_h, g->k_h);
    const int32_t kx_begin = tc_dw_first_tap(base_x, g->dil_w);
    const int32_t kx_end = tc_dw_end_tap(base_x, g->dil_w, g->in_w, g->k_w);
    const mve_pred16_t p0 = lanes_from(count, 0);
    const mve_pred16_t p1 = lanes_from(count, 4);
    const mve_pred16_t p2 = lanes_from(count, 8);
    const mve_pred16_t p3 = lanes_from(count, 12);
    const int32_t offset = g->input_offset;

    int32x4_t acc0 = vdupq_n_s32(0);
    int32x4_t acc1 = vdupq_n_s32(0);
    int32x4_t acc2 = vdupq_n_s32(0);
    int32x4_t acc3 = vdupq_n_s32(0);

    const int32_t row_stride = g->in_w * channels;
    const int32_t in_x_step = g->dil_w * channels;
    for (int32_t ky = ky_begin; ky < ky_end; ++ky) {
        const int8_t *in = g->input + c + (base_y + ky * g->dil_h) * row_stride +
                           (base_x + kx_begin * g->dil_w) * channels;
        const int8_t *f = g->filter + c + (ky * g->k_w + kx_begin) * channels;
        for (int32_t kx = kx_begin; kx < kx_end; ++kx) {
            acc0 = vaddq_s32(acc0, vmulq_s32(vaddq_n_s32(vldrbq_z_s32(in, p0), offset),
                                             vldrbq_z_s32(f, p0)));
            acc1 = vaddq_s32(acc1, vmulq_s32(vaddq_n_s32(vldrbq_z_s32(in + 4, p1), offset),
                                             vldrbq_z_s32(f + 4, p1)));
            acc2 = vaddq_s32(acc2, vmulq_s32(vaddq_n_s32(vldrbq_z_s32(in + 8, p2), offset),
                                             vldrbq_z_s32(f + 8, p2)));
            acc3 = vaddq_s32(acc3, vmulq_s32(vaddq_n_s32(vldrbq_z_s32(in + 12, p3), offset),
                                             vldrbq_z_s32(f + 12, p3)));
            in += in_x_step;
            f += channels;
        }
    }

    /* Bias, requantization, offset and clamp on four lanes at a time. */
    const int32x4_t lo = vdupq_n_s32(g->act_min), hi = vdupq_n_s32(g->act_max);
    const int32x4_t accs[4] = {acc0, acc1, acc2, acc3};
    const mve_pred16_t preds[4] = {p0, p1, p2, p3};
    for (int32_t k = 0; k * 4 < count; ++k) {
        const int32_t ch = c + 4 * k;
        const mve_pred16_t p = preds[k];
        int32x4_t acc = accs[k];
        if (g->bias != NULL) {
            acc = vaddq_s32(acc, vldrwq_z_s32(g->bias + ch, p));
        }
        acc = tc_requantize_x4_pc(acc, vldrwq_z_s32(g->multiplier + ch, p),
                                  vldrwq_z_s32(g->shift + ch, p));
        acc = vminq_s32(vmaxq_s32(vaddq_n_s32(acc, g->output_offset), lo), hi);
        vstrbq_p_s32(dst + 4 * k, acc, p);
    }
#else
    const int32_t base_y = out_y * g->stride_h - g->pad_h;
    const int32_t base_x = out_x * g->stride_w - g->pad_w;
    const int32_t ky_end = tc_dw_end_tap(base_y, g->dil_h, g->in_h, g->k_h);
    const int32_t kx_begin = tc_dw_first_tap(base_x, g->dil_w);
    const int32_t kx_end = tc_dw_end_tap(base_x, g->dil_w, g->in_w, g->k_w);

    for (int32_t j = 0; j < count; ++j) {
        const int32_t ch = c + j;
        int32_t acc = 0;
        for (int32_t ky = tc_dw_first_tap(base_y, g->dil_h); ky < ky_end; ++ky) {
            const int32_t in_y = base_y + ky * g->dil_h;
            const int8_t *in_row = g->input + in_y * g->in_w * g->channels + ch;
            const int8_t *f_row = g->filter + ky * g->k_w * g->channels + ch;
            for (int32_t kx = kx_begin; kx < kx_end; ++kx) {
                const int32_t in_x = base_x + kx * g->dil_w;
                acc += (in_row[in_x * g->channels] + g->input_offset) * f_row[kx * g->channels];
            }
        }
        if (g->bias != NULL) {
            acc += g->bias[ch];
        }
        acc = tc_add_wrap(tc_requantize(acc, g->multiplier[ch], g->shift[ch]), g->output_offset);
        dst[j] = (int8_t)TC_CLAMP(acc, g->act_min, g->act_max);
    }
#endif
}

#if TC_ISA_DSP
/* Requantization constants of one channel, with the rounding divide's mask precomputed. */
typedef struct {
    int32_t multiplier, shift, left, right, mask, half;
} rq_channel;

/* (a * b + 2^31) >> 32, rounded: SMMULR. */
static inline int32_t smmulr(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

/*
 * The requantization of an accumulator with |acc| < 2^30, for a channel with no left shift
 * and a right shift of at least 1 (the usual depthwise case), in four instructions:
 * - the doubling high multiply floor((acc * m + 2^30) / 2^31) (see tc_requantize_fast) is
 *   floor((2 acc * m + 2^31) / 2^32), SMMULR of 2 acc, which fits in int32 (and no
 *   operand is INT32_MIN, so nothing saturates);
 * - RoundingDivideByPOT(x, e), floor(x / 2^e) plus one where the remainder exceeds
 *   2^(e-1) - 1 (x >= 0) or 2^(e-1) (x < 0), is floor((x + 2^(e-1) - (x < 0)) / 2^e),
 *   and |x| <= |acc| < 2^30 keeps the sum in int32.
 */
static inline int32_t rq_apply_small(int32_t multiplier, int32_t round, int32_t right,
                                     int32_t acc2)
{
    const int32_t x = smmulr(acc2, multiplier); /* acc2 = 2 * acc */
    return (x + round + (x >> 31)) >> right;
}

/* Bias bound under which a 3x3 depthwise accumulator stays below 2^30 in magnitude:
 * nine taps add at most 9 * 255 * 128 < 2^19. */
#define DW3X3_SMALL_BIAS (1 << 29)

/* Per-byte signed maximum and minimum (SEL reads the GE flags SSUB8 just set). */
static inline uint32_t max_s8x4(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("ssub8 %0, %1, %2\n\tsel %0, %1, %2" : "=&r"(r) : "r"(a), "r"(b) : "cc");
    return r;
}

static inline uint32_t min_s8x4(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("ssub8 %0, %1, %2\n\tsel %0, %2, %1" : "=&r"(r) : "r"(a), "r"(b) : "cc");
    return r;
}

/* Four values saturated to int8 and packed into a word (byte j = v_j). */
static inline uint32_t pack_sat_s8x4(int32_t v0, int32_t v1, int32_t v2, int32_t v3)
{
    const uint32_t s0 = (uint32_t)__ssat(v0, 8), s1 = (uint32_t)__ssat(v1, 8);
    const uint32_t s2 = (uint32_t)__ssat(v2, 8), s3 = (uint32_t)__ssat(v3, 8);
    const uint32_t even = (s0 & 0xFFFFu) | (s2 << 16); /* bytes 0, 2 in the halves' low bytes */
    const uint32_t odd = (s1 & 0xFFFFu) | (s3 << 16);
    return __uxtb16(even) | (__uxtb16(odd) << 8);
}

static inline rq_channel rq_of(int32_t multiplier, int32_t shift)
{
    rq_channel r;
    r.multiplier = multiplier;
    r.shift = shift;
    r.left = shift > 0 ? (shift & 31) : 0; /* tc_requantize's shift is taken modulo 32 */
    r.right = shift > 0 ? 0 : -shift;
    r.mask = (int32_t)((1LL << r.right) - 1);
    r.half = r.mask >> 1;
    return r;
}

/* tc_requantize_fast with the constants above (the same arithmetic, step for step), for a
 * multiplier other than INT32_MIN. */
static inline int32_t rq_apply_plain(const rq_channel *r, int32_t acc)
{
#if defined(TC_SINGLE_ROUNDING)
    return tc_requantize(acc, r->multiplier, r->shift);
#else
    const int32_t shifted = (int32_t)((uint32_t)acc << r->left);
    const int32_t x = (int32_t)(((int64_t)shifted * r->multiplier + (1LL << 30)) >> 31);
    const int32_t threshold = r->half + (int32_t)((uint32_t)x >> 31);
    return (x >> r->right) + ((x & r->mask) > threshold ? 1 : 0);
#endif
}

/* Any multiplier. */
static inline int32_t rq_apply(const rq_channel *r, int32_t acc)
{
    if (r->multiplier == INT32_MIN) {
        return tc_requantize(acc, r->multiplier, r->shift);
    }
    return rq_apply_plain(r, acc);
}

/* The nine taps of a 3x3 window at `in` into a (filter widened in wv, offset2 in scope). */
#define DW3X3_TAPS(a, in, wv)                                                               \
    do {                                                                                  \
        _Pragma("GCC unroll 9") for (int32_t t = 0; t < 9; ++t)                           \
        {                                                                                 \
            const int32_t x_ = tc_read_s32((in) + (t / 3) * row_stride + (t % 3) * channels); \
            const int32_t x02_ = tc_sxtab16_even(offset2, x_);                            \
            const int32_t x13_ = tc_sxtab16_odd(offset2, x_);                             \
            (a).acc0 = __smlabb(x02_, wv[2 * t], (a).acc0);                               \
            (a).acc2 = __smlatt(x02_, wv[2 * t], (a).acc2);                               \
            (a).acc1 = __smlabb(x13_, wv[2 * t + 1], (a).acc1);                           \
            (a).acc3 = __smlatt(x13_, wv[2 * t + 1], (a).acc3);                           \
        }                                                                                 \
    } while (0)

void tc_dw_row4_s8(const tc_dw_geometry *g, int32_t out_y, int32_t out_w, int32_t c,
                   int8_t *dst, int32_t dst_step)
{
    const int32_t channels = g->channels;
    const int32_t row_stride = g->in_w * channels;
    const int32_t base_y = out_y * g->stride_h - g->pad_h;
    const int32_t ky_begin = tc_dw_first_tap(base_y, g->dil_h);
    const int32_t ky_end = tc_dw_end_tap(base_y, g->dil_h, g->in_h, g->k_h);
    const int32_t offset2 = tc_dup16(g->input_offset);
    const int32_t output_offset = g->output_offset, act_min = g->act_min, act_max = g->act_max;
    const int8_t *const input = g->input + c;
    const int8_t *const filter = g->filter + c;
    const int32_t k_w = g->k_w, dil_w = g->dil_w, stride_w = g->stride_w, pad_w = g->pad_w;
    const int32_t in_w = g->in_w;
    const int full_rows = ky_begin == 0 && ky_end == 3;
    const int is_3x3 = g->k_h == 3 && k_w == 3 && g->dil_h == 1 && dil_w == 1;

    rq_channel rq[4];
    int32_t bias[4] = {0, 0, 0, 0};
    for (int32_t j = 0; j < 4; ++j) {
        rq[j] = rq_of(g->multiplier[c + j], g->shift[c + j]);
        if (g->bias != NULL) {
            bias[j] = g->bias[c + j];
        }
    }
    /* The 3x3 filter of these four channels, widened once: even and odd lanes per tap. */
    int32_t wv[18];
    if (is_3x3) {
#pragma GCC unroll 9
        for (int32_t t = 0; t < 9; ++t) {
            const int32_t w = tc_read_s32(filter + t * channels);
            wv[2 * t] = tc_sxtb16_even(w);
            wv[2 * t + 1] = tc_sxtb16_odd(w);
        }
    }

    /* Pixels whose whole 3x3 window is inside the image: x_lo <= out_x <= x_hi. */
    int32_t x_lo = out_w, x_hi = -1;
    const int fast = is_3x3 && full_rows && rq[0].multiplier != INT32_MIN &&
                     rq[1].multiplier != INT32_MIN && rq[2].multiplier != INT32_MIN &&
                     rq[3].multiplier != INT32_MIN;
    /* rq_apply_small's conditions, for all four channels (TFLite's double rounding only). */
    int small = 0;
#if !defined(TC_SINGLE_ROUNDING)
    small = 1;
    for (int32_t j = 0; j < 4; ++j) {
        small &= rq[j].left == 0 && rq[j].right >= 1 && bias[j] <= DW3X3_SMALL_BIAS &&
                 bias[j] >= -DW3X3_SMALL_BIAS;
    }
    small &= act_min >= -128 && act_max <= 127;
#endif
    /* rq_apply_small also holds for any window of at most 4096 taps (the borders, other
     * kernel sizes): |sum| <= 4096 * 255 * 128 < 2^27, so |acc| < 2^30 still. */
    const int small_any = small && g->k_h * k_w <= 4096;
    const uint32_t lo4 = (uint32_t)(uint8_t)act_min * 0x01010101u;
    const uint32_t hi4 = (uint32_t)(uint8_t)act_max * 0x01010101u;
    if (fast && in_w - 3 + pad_w >= 0) {
        x_lo = (pad_w + stride_w - 1) / stride_w;
        x_hi = TC_MIN((in_w - 3 + pad_w) / stride_w, out_w - 1);
    }

    for (int32_t out_x = 0; out_x < out_w; ++out_x) {
        if (out_x == x_lo && x_lo <= x_hi && small) {
            /* The interior of the row: no bounds, filter and constants as they are. */
            const int8_t *in = input + base_y * row_stride + (out_x * stride_w - pad_w) * channels;
            const int32_t in_step = stride_w * channels;
            if (small) {
                /* Weights and bias doubled (|2w| <= 256 fits a lane; |2 bias| < 2^30), so the
                 * accumulators hold 2 acc, SMMULR's operand. The clamp runs on four bytes
                 * at once: saturating to int8 first changes nothing, as
                 * -128 <= act_min <= act_max <= 127. */
                int32_t wv2[18];
                for (int32_t t = 0; t < 18; ++t) {
                    wv2[t] = (int32_t)__sadd16(wv[t], wv[t]);
                }
                const int32_t b0 = 2 * bias[0], b1 = 2 * bias[1];
                const int32_t b2 = 2 * bias[2], b3 = 2 * bias[3];
                const int32_t m0 = rq[0].multiplier, m1 = rq[1].multiplier;
                const int32_t m2 = rq[2].multiplier, m3 = rq[3].multiplier;
                const int32_t r0 = rq[0].half + 1, r1 = rq[1].half + 1;
                const int32_t r2 = rq[2].half + 1, r3 = rq[3].half + 1;
                const int32_t e0 = rq[0].right, e1 = rq[1].right;
                const int32_t e2 = rq[2].right, e3 = rq[3].right;
                for (; out_x <= x_hi; ++out_x) {
                    acc4 a = {b0, b1, b2, b3};
                    DW3X3_TAPS(a, in, wv2);
                    uint32_t y = pack_sat_s8x4(rq_apply_small(m0, r0, e0, a.acc0) + output_offset,
                                               rq_apply_small(m1, r1, e1, a.acc1) + output_offset,
                                               rq_apply_small(m2, r2, e2, a.acc2) + output_offset,
                                               rq_apply_small(m3, r3, e3, a.acc3) + output_offset);
                    y = max_s8x4(min_s8x4(y, hi4), lo4); /* as TC_CLAMP */
                    tc_write_s32(dst, (int32_t)y);
                    dst += dst_step;
                    in += in_step;
                }
            }
            if (out_x >= out_w) {
                break;
            }
        }
        const int32_t base_x = out_x * stride_w - pad_w;
        const int32_t kx_begin = tc_dw_first_tap(base_x, dil_w);
        const int32_t kx_end = tc_dw_end_tap(base_x, dil_w, in_w, k_w);
        acc4 a = {bias[0], bias[1], bias[2], bias[3]};
        if (is_3x3) {
            const int8_t *in = input + base_y * row_stride + base_x * channels;
            for (int32_t ky = ky_begin; ky < ky_end; ++ky) {
                for (int32_t kx = kx_begin; kx < kx_end; ++kx) {
                    const int32_t t = ky * 3 + kx;
                    const int32_t x = tc_read_s32(in + ky * row_stride + kx * channels);
                    const int32_t x02 = tc_sxtab16_even(offset2, x);
                    const int32_t x13 = tc_sxtab16_odd(offset2, x);
                    a.acc0 = __smlabb(x02, wv[2 * t], a.acc0);
                    a.acc2 = __smlatt(x02, wv[2 * t], a.acc2);
                    a.acc1 = __smlabb(x13, wv[2 * t + 1], a.acc1);
                    a.acc3 = __smlatt(x13, wv[2 * t + 1], a.acc3);
                }
            }
        } else {
            for (int32_t ky = ky_begin; ky < ky_end; ++ky) {
                const int8_t *in = input + (base_y + ky * g->dil_h) * row_stride +
                                   (base_x + kx_begin * dil_w) * channels;
                const int8_t *f = filter + (ky * k_w + kx_begin) * channels;
                for (int32_t kx = kx_begin; kx < kx_end; ++kx) {
                    mac4(&a, in, f, offset2);
                    in += dil_w * channels;
                    f += channels;
                }
            }
        }
        if (small_any) {
            uint32_t y = pack_sat_s8x4(
                rq_apply_small(rq[0].multiplier, rq[0].half + 1, rq[0].right, 2 * a.acc0) + output_offset,
                rq_apply_small(rq[1].multiplier, rq[1].half + 1, rq[1].right, 2 * a.acc1) + output_offset,
                rq_apply_small(rq[2].multiplier, rq[2].half + 1, rq[2].right, 2 * a.acc2) + output_offset,
                rq_apply_small(rq[3].multiplier, rq[3].half + 1, rq[3].right, 2 * a.acc3) + output_offset);
            tc_write_s32(dst, (int32_t)max_s8x4(min_s8x4(y, hi4), lo4));
        } else {
            const int32_t y0 = TC_CLAMP(tc_add_wrap(rq_apply(&rq[0], a.acc0), output_offset), act_min, act_max);
            const int32_t y1 = TC_CLAMP(tc_add_wrap(rq_apply(&rq[1], a.acc1), output_offset), act_min, act_max);
            const int32_t y2 = TC_CLAMP(tc_add_wrap(rq_apply(&rq[2], a.acc2), output_offset), act_min, act_max);
            const int32_t y3 = TC_CLAMP(tc_add_wrap(rq_apply(&rq[3], a.acc3), output_offset), act_min, act_max);
            tc_write_s32(dst, tc_pack_s8x4(y0, y1, y2, y3));
        }
        dst += dst_step;
    }
}
#endif

#if TC_ISA_MVE
void tc_dw_row4_s8(const tc_dw_geometry *g, int32_t out_y, int32_t out_w, int32_t c,
                   int8_t *dst, int32_t dst_step)
{
    const int32_t channels = g->channels;
    const int32_t row_stride = g->in_w * channels;
    const int32_t base_y = out_y * g->stride_h - g->pad_h;
    const int32_t ky_begin = tc_dw_first_tap(base_y, g->dil_h);
    const int32_t ky_end = tc_dw_end_tap(base_y, g->dil_h, g->in_h, g->k_h);
    const int32_t offset = g->input_offset, output_offset = g->output_offset;
    const int8_t *const input = g->input + c;
    const int8_t *const filter = g->filter + c;
    const int32_t k_w = g->k_w, dil_w = g->dil_w, dil_h = g->dil_h;
    const int32_t stride_w = g->stride_w, pad_w = g->pad_w, in_w = g->in_w;
    const int is_3x3 = g->k_h == 3 && k_w == 3 && g->dil_h == 1 && dil_w == 1;
    const int full_rows = ky_begin == 0 && ky_end == 3;
    const int32x4_t multiplier = vldrwq_s32(g->multiplier + c);
    const int32x4_t shift = vldrwq_s32(g->shift + c);
    const int32x4_t lo = vdupq_n_s32(g->act_min), hi = vdupq_n_s32(g->act_max);
    const int32x4_t bias = g->bias != NULL ? vldrwq_s32(g->bias + c) : vdupq_n_s32(0);

    /* With a whole 3x3 window the input offset's share,
     * offset * sum(filter), goes into the starting value (integer sums: exact). */
    int32x4_t wsum = vdupq_n_s32(0);
    if (is_3x3) {
        for (int32_t t = 0; t < 9; ++t) {
            wsum = vaddq_s32(wsum, vldrbq_s32(filter + t * channels));
        }
    }
    const int32x4_t bias_full = vmlaq_n_s32(bias, wsum, offset);

    int32_t x_lo = out_w, x_hi = -1;
    if (is_3x3 && full_rows && in_w - 3 + pad_w >= 0) {
        x_lo = (pad_w + stride_w - 1) / stride_w;
        x_hi = TC_MIN((in_w - 3 + pad_w) / stride_w, out_w - 1);
    }

    for (int32_t out_x = 0; out_x < out_w; ++out_x) {
        int32x4_t acc;
        if (out_x >= x_lo && out_x <= x_hi) {
            const int8_t *in = input + base_y * row_stride + (out_x * stride_w - pad_w) * channels;
            const int8_t *in1 = in + row_stride, *in2 = in1 + row_stride;
            const int8_t *f = filter;
            acc = bias_full;
            acc = vaddq_s32(acc, vmulq_s32(vldrbq_s32(in), vldrbq_s32(f)));
            acc = vaddq_s32(acc, vmulq_s32(vldrbq_s32(in + channels), vldrbq_s32(f + channels)));
            acc = vaddq_s32(acc, vmulq_s32(vldrbq_s32(in + 2 * channels), vldrbq_s32(f + 2 * channels)));
            f += 3 * channels;
            acc = vaddq_s32(acc, vmulq_s32(vldrbq_s32(in1), vldrbq_s32(f)));
            acc = vaddq_s32(acc, vmulq_s32(vldrbq_s32(in1 + channels), vldrbq_s32(f + channels)));
            acc = vaddq_s32(acc, vmulq_s32(vldrbq_s32(in1 + 2 * channels), vldrbq_s32(f + 2 * channels)));
            f += 3 * channels;
            acc = vaddq_s32(acc, vmulq_s32(vldrbq_s32(in2), vldrbq_s32(f)));
            acc = vaddq_s32(acc, vmulq_s32(vldrbq_s32(in2 + channels), vldrbq_s32(f + channels)));
            acc = vaddq_s32(acc, vmulq_s32(vldrbq_s32(in2 + 2 * channels), vldrbq_s32(f + 2 * channels)));
        } else {
            const int32_t base_x = out_x * stride_w - pad_w;
            const int32_t kx_begin = tc_dw_first_tap(base_x, dil_w);
            const int32_t kx_end = tc_dw_end_tap(base_x, dil_w, in_w, k_w);
            acc = bias;
            for (int32_t ky = ky_begin; ky < ky_end; ++ky) {
                const int8_t *in = input + (base_y + ky * dil_h) * row_stride +
                                   (base_x + kx_begin * dil_w) * channels;
                const int8_t *f = filter + (ky * k_w + kx_begin) * channels;
                for (int32_t kx = kx_begin; kx < kx_end; ++kx) {
                    acc = vaddq_s32(acc, vmulq_s32(vaddq_n_s32(vldrbq_s32(in), offset),
                                                   vldrbq_s32(f)));
                    in += dil_w * channels;
                    f += channels;
                }
            }
        }
        acc = tc_requantize_x4_pc(acc, multiplier, shift);
        acc = vminq_s32(vmaxq_s32(vaddq_n_s32(acc, output_offset), lo), hi);
        vstrbq_s32(dst, acc);
        dst += dst_step;
    }
}
#endif
