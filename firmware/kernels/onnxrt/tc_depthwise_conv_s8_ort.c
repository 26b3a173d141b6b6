/*
 * tc_depthwise_conv_s8_ort: QLinearConv with one group per input channel, as onnxruntime
 * computes it. NHWC input, 1HWC filter (c = output channels = input channels x ch_mult),
 *     acc = bias[oc] + sum (x[oc / ch_mult] + input_offset) * (w + filter_offset)
 * over the taps inside the image, then tc_ort_requantize per output (tc_nn_onnxrt.h).
 * Exact in int32 in any order: every ISA gives the portable kernel's bytes.
 *
 * Portable C (and any depth multiplier other than 1): tc_ort_window_run, the reference
 * loop nest (tc_ort_internal.h).
 *
 * Depth multiplier 1: a block of channels over the whole plane, per output pixel its taps
 * inside the image only.
 * Armv7E-M DSP (kernels up to 7 x 7): four channels at a time. The block's filter is
 * widened once, on the stack, with the filter offset added (SXTAB16 / SXTAB16 ROR #8:
 * channels 0, 2 and 1, 3 in int16 lanes; w + filter_offset fits for uint8 weights too);
 * per tap a word of input is widened with the input offset, and SMLABB / SMLATT do one MAC
 * per channel. The last C % 4 channels take the portable sum.
 * Helium: eight channels at a time in int16 lanes (VLDRB.S16, offsets added), VMULLB /
 * VMULLT into int32 even / odd channels, the channel tail under a VCTP predicate;
 * requantized four lanes at a time (tc_ort_requantize_x4).
 * No scratch.
 */
#include "tc_ort_internal.h"
#include "../dwconv/tc_dwconv_block.h"

#if !TC_ISA_PORTABLE
/* One output row of the plane: its kernel rows inside the image, and how to find a
 * pixel's taps. */
typedef struct {
    const int8_t *input;   /* channel 0 of input row y0 + ky0 * dilation.h, column 0 */
    const int8_t *filter;  /* channel 0 of kernel row ky0, column 0 (Helium) */
    const int32_t *wide;   /* kernel row ky0 of the block's widened filter (DSP) */
    int32_t rows;          /* kernel rows inside the image */
    int32_t out_w, in_w, k_w, stride_w, pad_w, dil_w;
    int32_t x_row_step;    /* input elements between kernel rows */
    int32_t w_row_step;    /* filter bytes (Helium) / widened words (DSP) between rows */
    int32_t channels;
    int32_t input_offset, filter_offset;
    const int32_t *bias;
    const tc_ort_output_stage *stage;
} dw_row;

/* The kernel columns [kx0, kx0 + cols) of output column ox that lie inside the image. */
static inline int32_t first_column(const dw_row *r, int32_t ox, int32_t *cols)
{
    const int32_t x0 = ox * r->stride_w - r->pad_w;
    const int32_t kx0 = tc_dw_first_tap(x0, r->dil_w);
    *cols = TC_MAX(tc_dw_end_tap(x0, r->dil_w, r->in_w, r->k_w) - kx0, 0);
    return kx0;
}

#if TC_ISA_DSP
#define BLOCK 4
#define WIDE_TAPS 49 /* kernels up to 7 x 7: the widened filter block on the stack */

/* The filter of channels [c, c + 4), every tap: w + filter_offset as two words of int16
 * lanes (channels 0, 2 and 1, 3), widened once for the whole plane. */
static void widen_filter(int32_t *wide, const int8_t *filter, int32_t taps, int32_t channels,
                         int32_t c, int32_t filter_offset)
{
    const int32_t offsets = tc_dup16(filter_offset);
    for (int32_t k = 0; k < taps; k++, wide += 2) {
        const int32_t w = tc_read_s32(filter + (size_t)k * channels + c);
        wide[0] = tc_sxtab16_even(offsets, w);
        wide[1] = tc_sxtab16_odd(offsets, w);
    }
}

/* Output channels [c, c + 4) of every pixel of the row (out: its first pixel): sums over
 * the taps of (x + input_offset) * (w + filter_offset) (the widened filter), requantized.
 * Not inlined: in a function of its own the loops keep their values in registers. */
static __attribute__((noinline)) void block_row(const dw_row *r, int32_t c, int8_t *out)
{
    /* Locals: the stores below could alias anything read through a pointer. */
    const tc_ort_output_stage stage = *r->stage;
    int32_t bias[BLOCK] = {0, 0, 0, 0};
    float scale[BLOCK];
    for (int32_t j = 0; j < BLOCK; j++) {
        bias[j] = tc_conv_bias(r->bias, c + j);
        scale[j] = stage.scale[(c + j) * stage.step];
    }
    const int32_t x_offsets = tc_dup16(r->input_offset);
    const int32_t x_step = r->dil_w * r->channels, rows = r->rows;
    const int32_t x_row_step = r->x_row_step, w_row_step = r->w_row_step;
    for (int32_t ox = 0; ox < r->out_w; ox++, out += r->channels) {
        int32_t cols;
        const int32_t kx0 = first_column(r, ox, &cols);
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        const int8_t *x_row = r->input + (ox * r->stride_w - r->pad_w + kx0 * r->dil_w) *
                                             r->channels + c;
        const int32_t *w = r->wide + 2 * kx0;
        for (int32_t y = 0; y < rows && cols > 0; y++, x_row += x_row_step, w += w_row_step) {
            const int8_t *x = x_row;
            for (int32_t k = 0; k < cols; k++) {
                const int32_t xv = tc_read_s32(x);
                x += x_step;
                const int32_t x02 = tc_sxtab16_even(x_offsets, xv);
                a0 = (int32_t)__smlabb(x02, w[2 * k], a0);
                a2 = (int32_t)__smlatt(x02, w[2 * k], a2);
                const int32_t x13 = tc_sxtab16_odd(x_offsets, xv);
                a1 = (int32_t)__smlabb(x13, w[2 * k + 1], a1);
                a3 = (int32_t)__smlatt(x13, w[2 * k + 1], a3);
            }
        }
        const int8_t y0 =
            tc_ort_requantize_clamped(tc_add_wrap(a0, bias[0]), scale[0], &stage.clamp);
        const int8_t y1 =
            tc_ort_requantize_clamped(tc_add_wrap(a1, bias[1]), scale[1], &stage.clamp);
        const int8_t y2 =
            tc_ort_requantize_clamped(tc_add_wrap(a2, bias[2]), scale[2], &stage.clamp);
        const int8_t y3 =
            tc_ort_requantize_clamped(tc_add_wrap(a3, bias[3]), scale[3], &stage.clamp);
        tc_write_s32(out + c, tc_pack_s8x4(y0, y1, y2, y3));
    }
}

#define WIDE_TAPS_OF_ISA WIDE_TAPS

#else /* TC_ISA_MVE */
#define BLOCK 8
#define WIDE_TAPS_OF_ISA 0 /* unused: no widened filter */

/* Output channels [c, c + min(8, C - c)) of every pixel of the row (out: its first
 * pixel): even channels accumulate in one vector, odd ones in another. */
static __attribute__((noinline)) void block_row(const dw_row *r, int32_t c, int8_t *out)
{
    /* Locals: the stores below could alias anything read through a pointer. */
    const tc_ort_output_stage stage = *r->stage;
    const int32_t channels = r->channels, n = TC_MIN(BLOCK, channels - c);
    const mve_pred16_t lanes = vctp16q((uint32_t)n);
    const int16_t x_offset = (int16_t)r->input_offset, w_offset = (int16_t)r->filter_offset;
    const int32_t x_step = r->dil_w * channels;
    for (int32_t ox = 0; ox < r->out_w; ox++, out += channels) {
        int32_t cols;
        const int32_t kx0 = first_column(r, ox, &cols);
        int32x4_t even = vdupq_n_s32(0), odd = vdupq_n_s32(0);
        const int8_t *x_row = r->input + (ox * r->stride_w - r->pad_w + kx0 * r->dil_w) *
                                             channels + c;
        const int8_t *w_row = r->filter + kx0 * channels + c;
        for (int32_t y = 0; y < r->rows && cols > 0;
             y++, x_row += r->x_row_step, w_row += r->w_row_step) {
            const int8_t *x = x_row, *w = w_row;
            for (int32_t k = 0; k < cols; k++, x += x_step, w += channels) {
                const int16x8_t xv = vaddq_n_s16(vldrbq_z_s16(x, lanes), x_offset);
                const int16x8_t wv = vaddq_n_s16(vldrbq_z_s16(w, lanes), w_offset);
                even = vaddq_s32(even, vmullbq_int_s16(xv, wv));
                odd = vaddq_s32(odd, vmulltq_int_s16(xv, wv));
            }
        }
#if TC_ORT_REQUANTIZE_X4
        /* Even channels c, c + 2, ... then odd ones, four lanes at a time. */
        const uint32x4_t every_other = vidupq_n_u32(0, 2);
        for (int32_t half = 0; half < 2; half++) {
            const mve_pred16_t lanes_of_half = vctp32q((uint32_t)((n + 1 - half) / 2));
            int32x4_t acc = half ? odd : even;
            if (r->bias != NULL) {
                acc = vaddq_s32(acc, vldrwq_gather_shifted_offset_z_s32(
                                         r->bias + c + half, every_other, lanes_of_half));
            }
            const float32x4_t scale =
                stage.step ? vldrwq_gather_shifted_offset_z_f32(stage.scale + c + half,
                                                                every_other, lanes_of_half)
                           : vdupq_n_f32(stage.scale[0]);
            vstrbq_scatter_offset_p_s32(out + c + half, every_other,
                                        tc_ort_requantize_x4(acc, scale, &stage.clamp),
                                        lanes_of_half);
        }
#else
        int32_t acc[8];
        vstrwq_s32(acc, even);
        vstrwq_s32(acc + 4, odd);
        for (int32_t j = 0; j < n; j++) {
            const int32_t b = tc_conv_bias(r->bias, c + j);
            out[c + j] = tc_ort_output(tc_add_wrap(acc[(j & 1) * 4 + j / 2], b), &stage, c + j);
        }
#endif
    }
}
#endif

/* Whether the SIMD loops take this layer: depth multiplier 1 (and, DSP, a kernel whose
 * widened filter block fits WIDE_TAPS). */
static int simd_takes(const tc_dw_conv_params *params, const tc_dims *filter_dims)
{
    return params->ch_mult == 1 &&
           (TC_ISA_MVE || filter_dims->h * filter_dims->w <= WIDE_TAPS_OF_ISA);
}

static void depthwise_simd(const tc_ort_window *win, const tc_ort_requant_params *quant,
                           const tc_dims *output_dims, int8_t *output)
{
    const tc_conv_params *p = win->params;
    const tc_ort_output_stage stage =
        tc_ort_output_stage_of(quant, p->output_offset, &p->activation);
    const int32_t in_h = win->input_dims->h, in_w = win->input_dims->w;
    const int32_t channels = output_dims->c, k_w = win->k_w;
    const int32_t row_bytes = output_dims->w * channels;
    dw_row r;
    r.out_w = output_dims->w;
    r.in_w = in_w;
    r.k_w = k_w;
    r.stride_w = p->stride.w;
    r.pad_w = p->padding.w;
    r.dil_w = p->dilation.w;
    r.x_row_step = p->dilation.h * in_w * channels;
    r.w_row_step = TC_ISA_MVE ? k_w * channels : 2 * k_w; /* filter bytes / widened words */
    r.channels = channels;
    r.input_offset = p->input_offset;
    r.filter_offset = win->filter_offset;
    r.bias = win->bias;
    r.stage = &stage;
#if TC_ISA_DSP
    int32_t wide[2 * WIDE_TAPS];
#endif
    /* The SIMD blocks: all channels (Helium), or all but the last C % 4 (DSP), each over
     * the whole plane. */
    const int32_t simd_end = TC_ISA_MVE ? channels : channels & ~(BLOCK - 1);
    for (int32_t c = 0; c < simd_end; c += BLOCK) {
#if TC_ISA_DSP
        widen_filter(wide, win->filter, win->k_h * k_w, channels, c, win->filter_offset);
#endif
        int8_t *out = output;
        for (int32_t b = 0; b < output_dims->n; b++) {
            const int8_t *image = win->input + (size_t)b * in_h * in_w * channels;
            for (int32_t oy = 0; oy < output_dims->h; oy++, out += row_bytes) {
                const int32_t y0 = oy * p->stride.h - p->padding.h;
                const int32_t ky0 = tc_dw_first_tap(y0, p->dilation.h);
                r.rows = TC_MAX(tc_dw_end_tap(y0, p->dilation.h, in_h, win->k_h) - ky0, 0);
                /* No kernel row inside: nothing is read, whatever the pointers. */
                const int32_t iy = r.rows > 0 ? y0 + ky0 * p->dilation.h : 0;
                r.input = image + (size_t)iy * in_w * channels;
                r.filter = win->filter + (size_t)ky0 * k_w * channels;
#if TC_ISA_DSP
                r.wide = wide + 2 * ky0 * k_w;
#endif
                block_row(&r, c, out);
            }
        }
    }
    /* The channel tail (DSP): the portable sum. */
    for (int32_t c = simd_end; c < channels; c++) {
        int8_t *out = output;
        for (int32_t b = 0; b < output_dims->n; b++) {
            for (int32_t oy = 0; oy < output_dims->h; oy++) {
                for (int32_t ox = 0; ox < output_dims->w; ox++, out += channels) {
                    out[c] = tc_ort_output(tc_ort_window_acc(win, b, oy, ox, c), &stage, c);
                }
            }
        }
    }
}
#endif

tc_status tc_depthwise_conv_s8_ort(const tc_context *ctx, const tc_dw_conv_params *params,
                                   const tc_ort_requant_params *quant,
                                   const tc_dims *input_dims, const int8_t *input,
                                   const tc_dims *filter_dims, const int8_t *filter,
                                   const tc_dims *bias_dims, const int32_t *bias,
                                   const tc_dims *output_dims, int8_t *output)
{
    (void)ctx;
    (void)bias_dims;
    const int32_t out_c = output_dims->c, mult = params->ch_mult;
    if (mult <= 0 || input_dims->c * mult != out_c || filter_dims->c != out_c) {
        TC_RETURN_ARG_ERROR();
    }
    /* The window of tc_ort_window_acc: one input channel per group, filter 1HWC. */
    const tc_conv_params conv = {params->input_offset, params->output_offset, params->stride,
                                 params->padding, params->dilation, params->activation};
    const tc_ort_window win = {
        &conv, input_dims, input, filter, bias, filter_dims->h, filter_dims->w,
        quant->filter_offset, 1, mult, 1, out_c,
    };
#if !TC_ISA_PORTABLE
    if (simd_takes(params, filter_dims)) {
        depthwise_simd(&win, quant, output_dims, output);
        return TC_OK;
    }
#endif
    tc_ort_window_run(&win, quant, output_dims, output);
    return TC_OK;
}
