/*
 * tc_dw_block_s8, portable C: the reference arithmetic for a few channels of one pixel.
 * Built when the target has neither Helium nor the DSP extension (or with
 * -DTC_REFERENCE_KERNELS); the in-place depthwise kernel uses it there.
 */
#include "tc_dwconv_block.h"

#if defined(TC_DW_REF)

#include "tc_nn_support.h"

void tc_dw_block_s8(const tc_dw_geometry *g, int32_t out_y, int32_t out_x, int32_t c,
                    int32_t count, int8_t *dst)
{
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
        acc = tc_requantize(acc, g->multiplier[ch], g->shift[ch]) + g->output_offset;
        dst[j] = (int8_t)TC_CLAMP(acc, g->act_min, g->act_max);
    }
}

#else
/* ISO C needs at least one declaration in a translation unit. */
typedef int tc_dw_block_ref_unused;
#endif
