/*
 * tc_convolve_s8_ort: QLinearConv as onnxruntime computes it. NHWC input, OHWI filter
 * (c = input channels per group), int32 accumulator
 *     acc = bias[oc] + sum (x + input_offset) * (w + filter_offset)
 * over the taps inside the image (padding reads the input zero point: contributes 0), then
 * tc_ort_requantize per output (float32 scale per channel, clamp, round half to even; see
 * tc_nn_onnxrt.h). The sum is exact in int32 in any order, so every ISA's loops give the
 * portable kernel's bytes. Loops per ISA (tc_nn_math_types.h):
 *
 * Portable C: tc_ort_window_run (tc_ort_internal.h), the reference loop nest.
 *
 * Armv7E-M DSP (Cortex-M4/M7/M33), given the scratch (K = kh * kw * cin >= 4):
 * tc_convolve_s8's im2col columns (tc_gather_field, tc_widen_column: tc_conv_internal.h):
 * the receptive field of each of two output pixels in filter order (padding taps read the
 * input zero point), widened into int16 with the input offset added, elements 0, 2 then
 * 1, 3 of each group of four. Two filter rows are widened the same way with the filter
 * offset added (SXTAB16: w + filter_offset fits int16 for uint8 weights too), and SMLAD
 * does two MACs: 2 pixels x 2 output channels per inner loop.
 *
 * Helium (Cortex-M55/M85), given the scratch: the receptive fields of four pixels as four
 * int8 columns (tc_gather_field; padding taps = the input zero point), each filter row
 * dotted with the four (tc_mve_dot_1x4, VMLADAVA). With the pads at the zero point every
 * tap counts, so
 *     acc = sum x w + input_offset sum w + filter_offset sum x + K input_offset filter_offset
 * with sum w from the dot product and sum x once per column (tc_mve_sum). The four pixels'
 * outputs of a channel are requantized as one vector (tc_ort_requantize_x4).
 *
 * Scratch: tc_convolve_s8_ort_get_buffer_size (tc_ort_get_buffer_sizes_s8.c); without it
 * (or K < 4 on DSP) the portable loop runs.
 */
#include "tc_ort_internal.h"

#if TC_ISA_DSP
/* The int16 column of pixel px (group from c0): its field gathered into the column's upper
 * half, then widened in place (tc_widen_column, tc_convolve_s8's columns). */
static void fill_column(int32_t *column, int32_t k4, tc_tail_lanes tail,
                        const tc_ort_window *win, const tc_dims *filter_dims, tc_pixel px,
                        int32_t c0)
{
    int8_t *field = (int8_t *)column + k4;
    tc_gather_field(field, win->params, win->input_dims, win->input, filter_dims, px, c0);
    tc_widen_column(column, field, win->k_h * win->k_w * win->group_c,
                    win->params->input_offset, tail);
}

/* Four bytes of each filter row r (plus the filter offset) against one group of each
 * column c into a_rc; the column pointers step past it (LDRD with writeback). */
static inline __attribute__((always_inline)) void mac_group(int32_t *a00, int32_t *a01,
                                                            int32_t *a10, int32_t *a11,
                                                            int32_t row0, int32_t row1,
                                                            int32_t offsets,
                                                            const int32_t **c0,
                                                            const int32_t **c1)
{
    int32_t c0e, c0o, c1e, c1o;
    __asm__("ldrd %0, %1, [%2], #8" : "=r"(c0e), "=r"(c0o), "+r"(*c0) : "m"(**c0));
    __asm__("ldrd %0, %1, [%2], #8" : "=r"(c1e), "=r"(c1o), "+r"(*c1) : "m"(**c1));
    const int32_t r0e = tc_sxtab16_even(offsets, row0), r0o = tc_sxtab16_odd(offsets, row0);
    const int32_t r1e = tc_sxtab16_even(offsets, row1), r1o = tc_sxtab16_odd(offsets, row1);
    *a00 = tc_smlad(r0o, c0o, tc_smlad(r0e, c0e, *a00));
    *a01 = tc_smlad(r0o, c1o, tc_smlad(r0e, c1e, *a01));
    *a10 = tc_smlad(r1o, c0o, tc_smlad(r1e, c0e, *a10));
    *a11 = tc_smlad(r1o, c1o, tc_smlad(r1e, c1e, *a11));
}

/* What the tiles of a pair of output pixels share. */
typedef struct {
    const int8_t *filter;
    const int32_t *c0, *c1; /* the two columns (c1 = c0 for a last odd pixel) */
    int8_t *out;            /* the first pixel's outputs */
    int32_t out_step;       /* to the second pixel's; 0 for a last odd pixel */
    int32_t k_len;
    int32_t filter_offset;
    const int32_t *bias;
    const tc_ort_output_stage *stage;
} tile_args;

/* Output channels oc, oc + n_ch - 1 (n_ch = 1 or 2) of the two pixels: two filter rows
 * against the two columns, requantized and stored. Not inlined: in a function of its own
 * the loop keeps its values in registers. */
static __attribute__((noinline)) void tile_2x2(const tile_args *t, int32_t oc, int32_t n_ch)
{
    const int32_t k_len = t->k_len;
    const int32_t offsets = tc_dup16(t->filter_offset);
    const int8_t *f0 = t->filter + (size_t)oc * k_len;
    const int32_t step = (n_ch - 1) * k_len; /* to the second row (itself when alone) */
    const int32_t *c0 = t->c0, *c1 = t->c1;
    int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
    const int8_t *const last = f0 + k_len - 4;
    for (; f0 < last; f0 += 4) {
        mac_group(&a00, &a01, &a10, &a11, tc_read_s32(f0), tc_read_s32(f0 + step), offsets,
                  &c0, &c1);
    }
    mac_group(&a00, &a01, &a10, &a11, tc_read_s32(last), tc_read_s32(last + step), offsets,
              &c0, &c1);
    const int32_t acc[4] = {a00, a01, a10, a11}; /* row r, column c: acc[2 * r + c] */
    /* Locals: the byte stores below could alias anything read through a pointer. */
    const tc_ort_output_stage stage = *t->stage;
    const int32_t *const bias = t->bias;
    int8_t *const out0 = t->out + oc, *const out1 = out0 + t->out_step;
    for (int32_t j = 0; j < n_ch; j++) {
        const int32_t b = tc_conv_bias(bias, oc + j);
        const int8_t y1 = tc_ort_output(tc_add_wrap(acc[2 * j + 1], b), &stage, oc + j);
        const int8_t y0 = tc_ort_output(tc_add_wrap(acc[2 * j], b), &stage, oc + j);
        out1[j] = y1; /* the second pixel first: a last odd pixel is the first */
        out0[j] = y0;
    }
}

static void convolve_simd(const tc_context *ctx, const tc_ort_window *win,
                          const tc_ort_requant_params *quant, const tc_dims *filter_dims,
                          const tc_dims *output_dims, int8_t *output)
{
    const int32_t gc = win->group_c, k_len = win->k_h * win->k_w * gc;
    const int32_t k4 = (k_len + 3) & ~3;
    const tc_tail_lanes tail = tc_tail_lanes_of(k_len);
    const int32_t out_c = output_dims->c, per_group = win->oc_per_group;
    const int32_t groups = out_c / per_group;
    const tc_ort_output_stage stage = tc_ort_output_stage_of(
        quant, win->params->output_offset, &win->params->activation);
    /* Two word-aligned columns of k4 int16 (the scratch has a word to spare). */
    int32_t *const col0 = (int32_t *)(((uintptr_t)ctx->buf + 3) & ~(uintptr_t)3);
    int32_t *const col1 = col0 + k4 / 2;
    tile_args t = {win->filter, col0, col1, output, out_c, k_len, win->filter_offset,
                   win->bias, &stage};
    const int32_t pixels = output_dims->n * output_dims->h * output_dims->w;
    tc_pixel px = {0, 0, 0};
    for (int32_t p = 0; p < pixels; p += 2, t.out += 2 * out_c) {
        const int pair = p + 1 < pixels;
        tc_pixel px1 = px;
        tc_pixel_next(&px1, output_dims);
        if (!pair) { /* a last odd pixel takes both columns' places */
            t.c1 = col0;
            t.out_step = 0;
        }
        for (int32_t g = 0; g < groups; g++) {
            fill_column(col0, k4, tail, win, filter_dims, px, g * gc);
            if (pair) {
                fill_column(col1, k4, tail, win, filter_dims, px1, g * gc);
            }
            const int32_t oc_end = (g + 1) * per_group;
            for (int32_t oc = g * per_group; oc < oc_end; oc += 2) {
                /* An odd last channel of a group is computed twice and stored once. */
                tile_2x2(&t, oc, TC_MIN(2, oc_end - oc));
            }
        }
        tc_pixel_next(&px1, output_dims);
        px = px1;
    }
}

#elif TC_ISA_MVE

#define COLUMNS 4

static void convolve_simd(const tc_context *ctx, const tc_ort_window *win,
                          const tc_ort_requant_params *quant, const tc_dims *filter_dims,
                          const tc_dims *output_dims, int8_t *output)
{
    const int32_t gc = win->group_c, k_len = win->k_h * win->k_w * gc;
    const int32_t out_c = output_dims->c, per_group = win->oc_per_group;
    const int32_t groups = out_c / per_group;
    const tc_ort_output_stage stage = tc_ort_output_stage_of(
        quant, win->params->output_offset, &win->params->activation);
    const uint32_t x_offset = (uint32_t)win->params->input_offset;
    const uint32_t w_offset = (uint32_t)win->filter_offset;
    /* Both offsets over every tap (the pads are at the zero point): K ox ow. */
    const uint32_t both = (uint32_t)k_len * x_offset * w_offset;
    int8_t *const columns = (int8_t *)ctx->buf;
    /* Locals: the byte stores below could alias anything read through a pointer. */
    const int8_t *const filter = win->filter;
    const int32_t *const bias = win->bias;
    const int32_t pixels = output_dims->n * output_dims->h * output_dims->w;
#if TC_ORT_REQUANTIZE_X4
    const uint32x4_t pixel_offsets = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)out_c);
#endif
    tc_pixel px = {0, 0, 0};
    for (int32_t p = 0; p < pixels; p += COLUMNS, output += COLUMNS * out_c) {
        const int32_t n_px = TC_MIN(COLUMNS, pixels - p);
        for (int32_t g = 0; g < groups; g++) {
            const int8_t *col[COLUMNS];
            uint32_t x_term[COLUMNS] = {0, 0, 0, 0};
            tc_pixel pj = px;
            for (int32_t j = 0; j < COLUMNS; j++) {
                /* Past the last pixel, columns repeat the first; their results drop. */
                col[j] = columns + (j < n_px ? j : 0) * k_len;
                if (j < n_px) {
                    tc_gather_field(columns + j * k_len, win->params, win->input_dims,
                                    win->input, filter_dims, pj, g * gc);
                    tc_pixel_next(&pj, output_dims);
                    x_term[j] = w_offset * (uint32_t)tc_mve_sum(col[j], k_len) + both;
                }
            }
            const int32_t oc_end = (g + 1) * per_group;
            for (int32_t oc = g * per_group; oc < oc_end; oc++) {
                int32_t acc[COLUMNS] = {0, 0, 0, 0};
                const int32_t w_sum = tc_mve_dot_1x4(filter + (size_t)oc * k_len, col[0], col[1],
                                                     col[2], col[3], k_len, acc);
                const uint32_t start =
                    x_offset * (uint32_t)w_sum + (uint32_t)tc_conv_bias(bias, oc);
#if TC_ORT_REQUANTIZE_X4
                /* The four pixels' outputs of channel oc at once, out_c bytes apart. */
                const int32x4_t sums = vaddq_s32(vldrwq_s32(acc), vreinterpretq_s32_u32(
                    vaddq_n_u32(vldrwq_u32(x_term), start)));
                const int32x4_t y = tc_ort_requantize_x4(
                    sums, vdupq_n_f32(stage.scale[oc * stage.step]), &stage.clamp);
                vstrbq_scatter_offset_p_s32(output + oc, pixel_offsets, y,
                                            vctp32q((uint32_t)n_px));
#else
                for (int32_t j = 0; j < n_px; j++) {
                    output[j * out_c + oc] =
                        tc_ort_output((int32_t)((uint32_t)acc[j] + start + x_term[j]), &stage,
                                      oc);
                }
#endif
            }
        }
        for (int32_t j = 0; j < n_px; j++) {
            tc_pixel_next(&px, output_dims);
        }
    }
}
#endif

tc_status tc_convolve_s8_ort(const tc_context *ctx, const tc_conv_params *params,
                             const tc_ort_requant_params *quant,
                             const tc_dims *input_dims, const int8_t *input,
                             const tc_dims *filter_dims, const int8_t *filter,
                             const tc_dims *bias_dims, const int32_t *bias,
                             const tc_dims *output_dims, int8_t *output)
{
    (void)bias_dims;
    const int32_t k_c = filter_dims->c, out_c = output_dims->c;
    if (k_c <= 0 || input_dims->c % k_c != 0 || filter_dims->n != out_c ||
        out_c % (input_dims->c / k_c) != 0) {
        TC_RETURN_ARG_ERROR();
    }
    const int32_t k_len = filter_dims->h * filter_dims->w * k_c;
    const tc_ort_window win = {
        params, input_dims, input, filter, bias, filter_dims->h, filter_dims->w,
        quant->filter_offset, k_c, out_c / (input_dims->c / k_c), k_len, k_c,
    };
#if !TC_ISA_PORTABLE
    const int32_t scratch = tc_convolve_s8_ort_get_buffer_size(input_dims, filter_dims);
    if (scratch > 0 && ctx != NULL && ctx->buf != NULL && ctx->size >= scratch) {
        convolve_simd(ctx, &win, quant, filter_dims, output_dims, output);
        return TC_OK;
    }
#else
    (void)ctx;
#endif
    tc_ort_window_run(&win, quant, output_dims, output);
    return TC_OK;
}
