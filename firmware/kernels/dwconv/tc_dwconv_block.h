/*
 * Private to firmware/kernels/dwconv: the building blocks of both depthwise kernels,
 * defined in tc_dw_block_s8.c, their inner loops chosen by the ISA macros
 * (tc_nn_math_types.h):
 * - tc_dw_plane4_s8 (DSP, Helium): four output channels of every output pixel;
 * - tc_dw_block_s8: one output pixel, a block of channels, depth multiplier 1 (the channel
 *   tails, and every pixel of the portable build's in-place kernel).
 */
#ifndef TC_DWCONV_BLOCK_H
#define TC_DWCONV_BLOCK_H

#include <stdint.h>

#include "tc_nn_dwconv_pool.h"
#include "tc_nn_math_types.h"
#include "tc_nn_support.h"

#if TC_ISA_MVE
#define TC_DW_BLOCK_CHANNELS 16 /* four int32x4 accumulators */
#else
#define TC_DW_BLOCK_CHANNELS 4 /* DSP: one 32-bit word of int8 lanes */
#endif

/* Everything about one image of a depthwise layer. */
typedef struct {
    const int8_t *input;  /* this batch's image, H x W x C */
    const int8_t *filter; /* KH x KW x (C * ch_mult) */
    const int32_t *bias;  /* C * ch_mult entries, or NULL */
    const int32_t *multiplier;
    const int32_t *shift;
    int32_t narrow; /* tc_quant_narrow: tc_requantize_narrow is exact for every channel */
    int32_t in_h, in_w, channels; /* channels: of the input */
    int32_t ch_mult, out_c;       /* out_c = channels * ch_mult */
    int32_t k_h, k_w;
    int32_t stride_h, stride_w;
    int32_t pad_h, pad_w;
    int32_t dil_h, dil_w;
    int32_t input_offset, output_offset;
    int32_t act_min, act_max;
} tc_dw_geometry;

/*
 * Output channels [c, c + count) of pixel (out_y, out_x) into dst[0 .. count).
 * 1 <= count <= TC_DW_BLOCK_CHANNELS. Reads only those channels of the input.
 */
void tc_dw_block_s8(const tc_dw_geometry *g, int32_t out_y, int32_t out_x, int32_t c,
                    int32_t count, int8_t *dst);

#if !TC_ISA_PORTABLE
/*
 * Output channels [c, c + 4) of every output pixel (out_h x out_w, row by row) into dst,
 * dst_step bytes from one pixel's four bytes to the next (4 into a scratch block, out_c
 * into the output). c + 4 <= out_c; depth multiplier 1, or a multiple of 4 (then the four
 * channels read one input channel, c / ch_mult). The group's filter (widened once for a
 * 3x3 one), bias and requantization constants are set up once for the whole plane.
 */
void tc_dw_plane4_s8(const tc_dw_geometry *g, int32_t out_h, int32_t out_w, int32_t c,
                     int8_t *dst, int32_t dst_step);
#endif

/* The taps k in [0, k_size) whose input coordinate base + k * dilation is in [0, size). */
static inline int32_t tc_dw_first_tap(int32_t base, int32_t dilation)
{
    return base >= 0 ? 0 : (-base + dilation - 1) / dilation;
}

static inline int32_t tc_dw_end_tap(int32_t base, int32_t dilation, int32_t size, int32_t k_size)
{
    if (base >= size) {
        return 0;
    }
    const int32_t end = (size - 1 - base) / dilation + 1;
    return end < k_size ? end : k_size;
}

/* Fills a geometry from the public kernel arguments, for image `batch`. */
void tc_dw_geometry_init(tc_dw_geometry *g, const tc_dw_conv_params *params,
                         const tc_per_channel_quant_params *quant, const tc_dims *input_dims,
                         const int8_t *input, const tc_dims *filter_dims, const int8_t *filter,
                         const int32_t *bias, int32_t batch);

/* Scratch of the in-place kernel: output_h * output_w * min(C, TC_DW_INPLACE_CHANNEL_BLOCK)
 * bytes (one channel block of every output pixel). */
static inline int32_t tc_dw_inplace_buffer_bytes(const tc_dims *output_dims)
{
    return output_dims->h * output_dims->w * TC_MIN(output_dims->c, TC_DW_INPLACE_CHANNEL_BLOCK);
}

#endif /* TC_DWCONV_BLOCK_H */
