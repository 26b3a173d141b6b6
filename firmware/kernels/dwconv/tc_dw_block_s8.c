/*
 * tc_dw_block_s8: one output pixel, channels [c, c + count), depth multiplier 1; the
 * building block of both depthwise kernels (private to firmware/kernels/dwconv, see
 * tc_dwconv_block.h). Inner loops per ISA:
 *
 * Portable C: the reference arithmetic, channel by channel.
 *
 * Armv7E-M (Cortex-M4/M7/M33...) and Helium: groups of four output channels run in
 * tc_dw_plane4_s8 (end of this file), the whole image per call, the group's bias,
 * requantization constants and (3x3) widened filter set up once; depth multiplier 1 (four
 * input channels) or a multiple of 4 (one input channel for all four lanes). DSP: one LDR
 * brings 4 channels of a tap, SXTAB16 widens lanes 0/2 (and, rotated, 1/3) while adding
 * the input offset, SMLABB/SMLATT accumulate; 3x3 windows run unrolled (run3x3), border
 * pixels on a copy of their window with the zero point in the padding; the narrow
 * requantization (tc_requantize_narrow) where the code generator allows it, the clamp on
 * four bytes at once (SSUB8/SEL). Helium: one int32x4 per group, the input offset folded
 * into the starting value on whole windows, the requantization on four lanes
 * (tc_requantize_x4_pc). tc_dw_block_s8 below is left with the channel tails (DSP:
 * scalar) and, on Helium, blocks of up to 16 channels:
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

/* Fills a geometry from the public kernel arguments, for image `batch`. */
void tc_dw_geometry_init(tc_dw_geometry *g, const tc_dw_conv_params *params,
                         const tc_per_channel_quant_params *quant, const tc_dims *input_dims,
                         const int8_t *input, const tc_dims *filter_dims, const int8_t *filter,
                         const int32_t *bias, int32_t batch)
{
    g->input = input + (int32_t)batch * input_dims->h * input_dims->w * input_dims->c;
    g->filter = filter;
    g->bias = bias;
    g->multiplier = quant->multiplier;
    g->shift = quant->shift;
    g->narrow = tc_quant_narrow(quant);
    g->ch_mult = params->ch_mult;
    g->out_c = input_dims->c * params->ch_mult;
    g->in_h = input_dims->h;
    g->in_w = input_dims->w;
    g->channels = input_dims->c;
    g->k_h = filter_dims->h;
    g->k_w = filter_dims->w;
    g->stride_h = params->stride.h;
    g->stride_w = params->stride.w;
    g->pad_h = params->padding.h;
    g->pad_w = params->padding.w;
    g->dil_h = params->dilation.h;
    g->dil_w = params->dilation.w;
    g->input_offset = params->input_offset;
    g->output_offset = params->output_offset;
    g->act_min = params->activation.min;
    g->act_max = params->activation.max;
}


#if TC_ISA_DSP

/* Four accumulators, one per channel of a group of four. */
typedef struct {
    int32_t acc0, acc1, acc2, acc3;
} acc4;

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
        int32_t acc = 0;
        for (int32_t ky = ky_begin; ky < ky_end; ++ky) {
            const int8_t *in_row = g->input + (base_y + ky * g->dil_h) * row_stride + ch;
            const int8_t *f_row = g->filter + ky * g->k_w * channels + ch;
            for (int32_t kx = kx_begin; kx < kx_end; ++kx) {
                acc += (in_row[(base_x + kx * g->dil_w) * channels] + g->input_offset) *
                       f_row[kx * channels];
            }
        }
        if (q.bias != NULL) {
            acc = tc_add_wrap(acc, q.bias[ch]);
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
            acc = tc_add_wrap(acc, g->bias[ch]);
        }
        acc = tc_add_wrap(tc_requantize(acc, g->multiplier[ch], g->shift[ch]), g->output_offset);
        dst[j] = (int8_t)TC_CLAMP(acc, g->act_min, g->act_max);
    }
#endif
}

#if TC_ISA_DSP
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

/* One tap of four channels: x02/x13 the (offset) inputs of lanes 0/2 and 1/3 as int16
 * pairs, w02/w13 the filter's. */
static inline __attribute__((always_inline)) void mac4(acc4 *a, int32_t x02, int32_t x13,
                                                       int32_t w02, int32_t w13)
{
    a->acc0 = __smlabb(x02, w02, a->acc0);
    a->acc2 = __smlatt(x02, w02, a->acc2);
    a->acc1 = __smlabb(x13, w13, a->acc1);
    a->acc3 = __smlatt(x13, w13, a->acc3);
}

/* The taps of window rows [ky0, ky1), columns [kx0, kx1) at `in` (the window's origin)
 * and `f` (the filter's), any kernel size. mult1: the four lanes are four input channels
 * (one word per tap); otherwise one input channel feeds all four. */
static inline __attribute__((always_inline)) void window_taps(
    acc4 *a, const tc_dw_geometry *g, const int8_t *in, const int8_t *f, int32_t ky0,
    int32_t ky1, int32_t kx0, int32_t kx1, int32_t offset2, const int mult1)
{
    const int32_t row_step = g->dil_h * g->in_w * g->channels, in_step = g->dil_w * g->channels;
    const int32_t out_c = g->out_c;
    in += ky0 * row_step + kx0 * in_step;
    f += (ky0 * g->k_w + kx0) * out_c;
    for (int32_t ky = ky0; ky < ky1; ++ky) {
        const int8_t *x_at = in, *w_at = f;
        for (int32_t kx = kx0; kx < kx1; ++kx) {
            const int32_t w = tc_read_s32(w_at);
            int32_t x02, x13;
            if (mult1) {
                const int32_t x = tc_read_s32(x_at);
                x02 = tc_sxtab16_even(offset2, x);
                x13 = tc_sxtab16_odd(offset2, x);
            } else {
                x02 = x13 = tc_sadd16(tc_dup16(*x_at), offset2);
            }
            mac4(a, x02, x13, tc_sxtb16_even(w), tc_sxtb16_odd(w));
            x_at += in_step;
            w_at += out_c;
        }
        in += row_step;
        f += g->k_w * out_c;
    }
}

/* The requantization of one group's four accumulators into a word of int8 (see below). */
typedef struct {
    tc_rq_narrow rq[4];
    const int32_t *multiplier, *shift;
    uint32_t lo4, hi4;
    int32_t narrow, output_offset, act_min, act_max;
} out4;

static __attribute__((noinline)) uint32_t finish4_general(const out4 *q, int32_t acc0,
                                                          int32_t acc1, int32_t acc2,
                                                          int32_t acc3)
{
    const int32_t accs[4] = {acc0, acc1, acc2, acc3};
    int32_t v[4];
    for (int32_t j = 0; j < 4; ++j) {
        v[j] = tc_add_wrap(tc_requantize_fast(accs[j], q->multiplier[j], q->shift[j]),
                           q->output_offset);
        v[j] = TC_CLAMP(v[j], q->act_min, q->act_max);
    }
    return (uint32_t)tc_pack_s8x4(v[0], v[1], v[2], v[3]);
}

static inline __attribute__((always_inline)) uint32_t finish4(const out4 *q, const acc4 *a)
{
    if (q->narrow) {
        const uint32_t y = pack_sat_s8x4(
            tc_requantize_narrow(a->acc0, &q->rq[0]), tc_requantize_narrow(a->acc1, &q->rq[1]),
            tc_requantize_narrow(a->acc2, &q->rq[2]), tc_requantize_narrow(a->acc3, &q->rq[3]));
        return max_s8x4(min_s8x4(y, q->hi4), q->lo4); /* as TC_CLAMP */
    }
    return finish4_general(q, a->acc0, a->acc1, a->acc2, a->acc3);
}

/* What a 3x3 run of pixels reads besides the input, set up once per plane. */
typedef struct {
    out4 q;
    int32_t bias[4];
    int32_t wv[18]; /* the filter widened: even and odd lanes per tap */
    int32_t offset2, in_step, dst_step;
} run3x3_args;

/*
 * `count` pixels of one output row, 3x3 windows (depth multiplier 1, no dilation) at in,
 * in + in_step, ...: rows `row_stride` and columns `step` bytes apart. Per pixel: 9 LDR,
 * 18 SXTAB16 (the input offset added while widening), 36 SMLABB/SMLATT, the requantization.
 */
static __attribute__((noinline)) int8_t *run3x3(const int8_t *in, int32_t count,
                                                int32_t row_stride, int32_t step,
                                                const run3x3_args *r, int8_t *dst)
{
    const int32_t offset2 = r->offset2;
    for (; count > 0; --count) {
        acc4 a = {r->bias[0], r->bias[1], r->bias[2], r->bias[3]};
#pragma GCC unroll 9
        for (int32_t t = 0; t < 9; ++t) {
            const int32_t x = tc_read_s32(in + (t / 3) * row_stride + (t % 3) * step);
            mac4(&a, tc_sxtab16_even(offset2, x), tc_sxtab16_odd(offset2, x), r->wv[2 * t],
                 r->wv[2 * t + 1]);
        }
        tc_write_s32(dst, (int32_t)finish4(&r->q, &a));
        dst += r->dst_step;
        in += r->in_step;
    }
    return dst;
}

/*
 * Four channels of every output pixel. Per pixel: the bias, the taps, then the
 * requantization: the narrow one (tc_requantize_narrow, offset included) when the code
 * generator has checked it, four values saturated to int8 and clamped bytewise (SSUB8/SEL:
 * exact, as -128 <= act_min <= act_max <= 127), else tc_requantize_fast per channel.
 * 3x3 (multiplier 1, no dilation): the filter is widened once; a row's interior runs
 * run3x3 without bounds, and a pixel whose window sticks out of the image runs it on a
 * 3x3x4 copy of its window with the input zero point in the padding ((zero point + input
 * offset) * w = 0: what skipping the tap means). Other kernels: the taps inside the image.
 */
void tc_dw_plane4_s8(const tc_dw_geometry *g, int32_t out_h, int32_t out_w, int32_t c,
                     int8_t *dst, int32_t dst_step)
{
    const tc_dw_geometry geo = *g; /* locals: the int8 stores below may alias *g */
    const int32_t in_c = geo.channels, row_stride = geo.in_w * in_c;
    const int8_t *const input = geo.input + c / geo.ch_mult;
    const int8_t *const filter = geo.filter + c;
    const int mult1 = geo.ch_mult == 1;
    const int is_3x3 = mult1 && geo.k_h == 3 && geo.k_w == 3 && geo.dil_h == 1 && geo.dil_w == 1;
    const int32_t zp4 = (int32_t)((uint32_t)(uint8_t)(-geo.input_offset) * 0x01010101u);

    run3x3_args r;
    out4 *const q = &r.q;
    q->multiplier = geo.multiplier + c;
    q->shift = geo.shift + c;
    q->lo4 = (uint32_t)(uint8_t)geo.act_min * 0x01010101u;
    q->hi4 = (uint32_t)(uint8_t)geo.act_max * 0x01010101u;
    q->narrow = geo.narrow;
    q->output_offset = geo.output_offset;
    q->act_min = geo.act_min;
    q->act_max = geo.act_max;
    for (int32_t j = 0; j < 4; ++j) {
        r.bias[j] = geo.bias != NULL ? geo.bias[c + j] : 0;
        if (q->narrow) {
            q->rq[j] = tc_rq_narrow_of(q->multiplier[j], q->shift[j], q->output_offset);
        }
    }
    r.offset2 = tc_dup16(geo.input_offset);
    r.in_step = geo.stride_w * in_c;
    r.dst_step = dst_step;
    /* Output columns whose 3x3 window lies inside the image: x_lo <= out_x <= x_hi. */
    int32_t x_lo = out_w, x_hi = -1;
    if (is_3x3) {
        for (int32_t t = 0; t < 9; ++t) {
            const int32_t w = tc_read_s32(filter + t * geo.out_c);
            r.wv[2 * t] = tc_sxtb16_even(w);
            r.wv[2 * t + 1] = tc_sxtb16_odd(w);
        }
        if (geo.in_w - 3 + geo.pad_w >= 0) {
            x_lo = (geo.pad_w + geo.stride_w - 1) / geo.stride_w;
            x_hi = TC_MIN((geo.in_w - 3 + geo.pad_w) / geo.stride_w, out_w - 1);
        }
    }

    for (int32_t out_y = 0; out_y < out_h; ++out_y) {
        const int32_t base_y = out_y * geo.stride_h - geo.pad_h;
        const int32_t ky_begin = tc_dw_first_tap(base_y, geo.dil_h);
        const int32_t ky_end = tc_dw_end_tap(base_y, geo.dil_h, geo.in_h, geo.k_h);
        const int whole_rows = ky_begin == 0 && ky_end == 3;
        for (int32_t out_x = 0; out_x < out_w; ++out_x) {
            const int32_t base_x = out_x * geo.stride_w - geo.pad_w;
            const int8_t *in = input + base_y * row_stride + base_x * in_c;
            if (whole_rows && out_x == x_lo && x_lo <= x_hi) {
                dst = run3x3(in, x_hi - x_lo + 1, row_stride, in_c, &r, dst);
                out_x = x_hi;
                continue;
            }
            const int32_t kx_begin = tc_dw_first_tap(base_x, geo.dil_w);
            const int32_t kx_end = tc_dw_end_tap(base_x, geo.dil_w, geo.in_w, geo.k_w);
            if (is_3x3) {
                /* A window sticking out of the image: a copy with the zero point around. */
                int32_t window[9] = {zp4, zp4, zp4, zp4, zp4, zp4, zp4, zp4, zp4};
                for (int32_t ky = ky_begin; ky < ky_end; ++ky) {
                    const int8_t *row = in + ky * row_stride;
                    for (int32_t kx = kx_begin; kx < kx_end; ++kx) {
                        window[ky * 3 + kx] = tc_read_s32(row + kx * in_c);
                    }
                }
                dst = run3x3((const int8_t *)window, 1, 12, 4, &r, dst);
                continue;
            }
            acc4 a = {r.bias[0], r.bias[1], r.bias[2], r.bias[3]};
            if (mult1) {
                window_taps(&a, &geo, in, filter, ky_begin, ky_end, kx_begin, kx_end, r.offset2, 1);
            } else {
                window_taps(&a, &geo, in, filter, ky_begin, ky_end, kx_begin, kx_end, r.offset2, 0);
            }
            tc_write_s32(dst, (int32_t)finish4(q, &a));
            dst += dst_step;
        }
    }
}
#endif

#if TC_ISA_MVE
void tc_dw_plane4_s8(const tc_dw_geometry *g, int32_t out_h, int32_t out_w, int32_t c,
                     int8_t *dst, int32_t dst_step)
{
    const int32_t in_c = g->channels, out_c = g->out_c;
    const int32_t row_stride = g->in_w * in_c;
    const int32_t offset = g->input_offset, output_offset = g->output_offset;
    const int8_t *const input = g->input + c / g->ch_mult;
    const int8_t *const filter = g->filter + c;
    const int32_t k_w = g->k_w, dil_w = g->dil_w, dil_h = g->dil_h;
    const int32_t stride_w = g->stride_w, pad_w = g->pad_w, in_w = g->in_w;
    const int mult1 = g->ch_mult == 1;
    const int is_3x3 = mult1 && g->k_h == 3 && k_w == 3 && dil_h == 1 && dil_w == 1;
    const int32x4_t multiplier = vldrwq_s32(g->multiplier + c);
    const int32x4_t shift = vldrwq_s32(g->shift + c);
    const int32x4_t lo = vdupq_n_s32(g->act_min), hi = vdupq_n_s32(g->act_max);
    const int32x4_t bias = g->bias != NULL ? vldrwq_s32(g->bias + c) : vdupq_n_s32(0);

    /* With a whole 3x3 window the input offset's share,
     * offset * sum(filter), goes into the starting value (integer sums: exact). */
    int32x4_t wsum = vdupq_n_s32(0);
    if (is_3x3) {
        for (int32_t t = 0; t < 9; ++t) {
            wsum = vaddq_s32(wsum, vldrbq_s32(filter + t * out_c));
        }
    }
    const int32x4_t bias_full = vmlaq_n_s32(bias, wsum, offset);

    int32_t x_lo = out_w, x_hi = -1;
    if (is_3x3 && in_w - 3 + pad_w >= 0) {
        x_lo = (pad_w + stride_w - 1) / stride_w;
        x_hi = TC_MIN((in_w - 3 + pad_w) / stride_w, out_w - 1);
    }

    for (int32_t out_y = 0; out_y < out_h; ++out_y) {
        const int32_t base_y = out_y * g->stride_h - g->pad_h;
        const int32_t ky_begin = tc_dw_first_tap(base_y, dil_h);
        const int32_t ky_end = tc_dw_end_tap(base_y, dil_h, g->in_h, g->k_h);
        const int full_rows = ky_begin == 0 && ky_end == 3;
        for (int32_t out_x = 0; out_x < out_w; ++out_x) {
            int32x4_t acc;
            if (full_rows && out_x >= x_lo && out_x <= x_hi) {
                const int8_t *in =
                    input + base_y * row_stride + (out_x * stride_w - pad_w) * in_c;
                const int8_t *f = filter;
                acc = bias_full;
                for (int32_t ky = 0; ky < 3; ++ky) {
                    acc = vaddq_s32(acc, vmulq_s32(vldrbq_s32(in), vldrbq_s32(f)));
                    acc = vaddq_s32(acc, vmulq_s32(vldrbq_s32(in + in_c), vldrbq_s32(f + out_c)));
                    acc = vaddq_s32(acc, vmulq_s32(vldrbq_s32(in + 2 * in_c),
                                                   vldrbq_s32(f + 2 * out_c)));
                    in += row_stride;
                    f += 3 * out_c;
                }
            } else {
                const int32_t base_x = out_x * stride_w - pad_w;
                const int32_t kx_begin = tc_dw_first_tap(base_x, dil_w);
                const int32_t kx_end = tc_dw_end_tap(base_x, dil_w, in_w, k_w);
                acc = bias;
                for (int32_t ky = ky_begin; ky < ky_end; ++ky) {
                    const int8_t *in = input + (base_y + ky * dil_h) * row_stride +
                                       (base_x + kx_begin * dil_w) * in_c;
                    const int8_t *f = filter + (ky * k_w + kx_begin) * out_c;
                    for (int32_t kx = kx_begin; kx < kx_end; ++kx) {
                        /* Multiplier 1: four input channels; else one for all four. */
                        const int32x4_t x = mult1 ? vaddq_n_s32(vldrbq_s32(in), offset)
                                                  : vdupq_n_s32(*in + offset);
                        acc = vaddq_s32(acc, vmulq_s32(x, vldrbq_s32(f)));
                        in += dil_w * in_c;
                        f += out_c;
                    }
                }
            }
            acc = tc_requantize_x4_pc(acc, multiplier, shift);
            acc = vminq_s32(vmaxq_s32(vaddq_n_s32(acc, output_offset), lo), hi);
            vstrbq_s32(dst, acc);
            dst += dst_step;
        }
    }
}
#endif
