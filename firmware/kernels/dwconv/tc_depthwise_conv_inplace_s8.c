/*
 * In-place DEPTHWISE_CONV_2D (MCUNet): the output overwrites the input's buffer.
 *
 * Requirements: depth multiplier 1 (so input and output have the same channel count C)
 * and a single image. The channels are processed in blocks of B = TC_DW_INPLACE_CHANNEL_BLOCK:
 *   1. compute output channels [c0, c0 + B) of every output pixel into the scratch buffer
 *      (reading only input channels [c0, c0 + B));
 *   2. copy the scratch into the output's layout, pixel p channel c at p * C + c.
 *
 * Why this is safe. Step 2 writes the bytes p * C + c for p < OH * OW and c in the
 * block. In the input's layout (same buffer, same C) byte p * C + c is input element
 * (pixel p, channel c): the same channel c, since c = (p * C + c) mod C. So a block's
 * write lands only on input values of that block's own channels, which step 1 has
 * already consumed completely and nothing reads again: every later block reads other
 * channels, whose bytes no write has touched. This holds for any stride and padding:
 * with stride 2 the output has fewer pixels than the input (OH * OW <= IH * IW), so the
 * writes cover a prefix of the input's pixels, again only in the finished channels; the
 * input pixel a write lands on is usually not the one the output pixel came from, but it
 * belongs to a finished channel, which is all that matters. The output never extends
 * past the input buffer because OH * OW <= IH * IW for a depthwise convolution
 * (the kernel checks it).
 *
 * Step 1 cannot write into the buffer directly: output pixel p of channel c may land on
 * input pixel p of channel c that a later output pixel of the same block still needs
 * (e.g. with padding, output pixel 1 reads input pixel 0). Hence the scratch of
 * OH * OW * B bytes instead of a second OH * OW * C buffer.
 */
#include <string.h>

#include "tc_nn_dwconv_pool.h"
#include "tc_nn_support.h"
#include "tc_dwconv_block.h"
#include "tc_nn_simd.h"

#if TC_DW_BLOCK_CHANNELS < TC_DW_INPLACE_CHANNEL_BLOCK
#error "tc_dw_block_s8 must handle a whole in-place channel block"
#endif

tc_status tc_depthwise_conv_inplace_s8(const tc_context *ctx, const tc_dw_conv_params *params,
                                       const tc_per_channel_quant_params *quant,
                                       const tc_dims *input_dims, const int8_t *input,
                                       const tc_dims *filter_dims, const int8_t *filter,
                                       const tc_dims *bias_dims, const int32_t *bias,
                                       const tc_dims *output_dims, int8_t *output)
{
    (void)bias_dims;
    const int32_t channels = input_dims->c;
    const int32_t pixels = output_dims->h * output_dims->w;
    if (params->ch_mult != 1 || input_dims->n != 1 || output_dims->n != 1 ||
        output_dims->c != channels || filter_dims->c != channels ||
        pixels > input_dims->h * input_dims->w || params->stride.h < 1 ||
        params->stride.w < 1 || params->dilation.h < 1 || params->dilation.w < 1 ||
        ctx == NULL || ctx->buf == NULL ||
        ctx->size < tc_dw_inplace_buffer_bytes(output_dims)) {
        TC_RETURN_ARG_ERROR();
    }

    int8_t *scratch = (int8_t *)ctx->buf;
    tc_dw_geometry g;
    tc_dw_geometry_init(&g, params, quant, input_dims, input, filter_dims, filter, bias, 0);

    for (int32_t c0 = 0; c0 < channels; c0 += TC_DW_INPLACE_CHANNEL_BLOCK) {
        const int32_t count = TC_MIN(TC_DW_INPLACE_CHANNEL_BLOCK, channels - c0);
        int8_t *dst = scratch;
#if !TC_ISA_PORTABLE
        if (count == 4) {
            tc_dw_plane4_s8(&g, output_dims->h, output_dims->w, c0, dst, 4);
        } else
#endif
        {
            for (int32_t out_y = 0; out_y < output_dims->h; ++out_y) {
                for (int32_t out_x = 0; out_x < output_dims->w; ++out_x) {
                    tc_dw_block_s8(&g, out_y, out_x, c0, count, dst);
                    dst += count;
                }
            }
        }
        const int8_t *src = scratch;
        int8_t *out = output + c0;
        if (count == 4) {
            for (int32_t p = 0; p < pixels; ++p) {
                tc_write_s32(out, tc_read_s32(src));
                src += 4;
                out += channels;
            }
        } else {
            for (int32_t p = 0; p < pixels; ++p) {
                memcpy(out, src, (size_t)count);
                src += count;
                out += channels;
            }
        }
    }
    return TC_OK;
}
