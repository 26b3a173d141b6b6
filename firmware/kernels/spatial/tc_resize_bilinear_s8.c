/*
 * RESIZE_BILINEAR, int8: TFLite's reference_ops::ResizeBilinearInteger, bit for bit.
 * Per output row y: sample point sy = y * scale_h (half_pixel_centers:
 * + scale_h / 2 - 2^9), y0 = max(sy / 2^10, 0), y1 = min(ceil(sy / 2^10), H - 1),
 * dy = sy - 2^10 * y0; the same for columns. Then
 *   o = v00 (2^10 - dy)(2^10 - dx) + v10 dy (2^10 - dx) + v01 (2^10 - dy) dx + v11 dy dx,
 *   out = (o + sign(o) 2^19) / 2^20 (C division, toward zero).
 * For int8 codes every product and the sum stay below 2^31 (|v| <= 128, weights <= 1536,
 * and the weights of distinct rows are non-negative), so int32 suffices.
 */
#include "tc_spatial_internal.h"

tc_status tc_resize_bilinear_s8(const tc_resize_bilinear_params *params,
                                const tc_dims *input_dims, const int8_t *input,
                                const tc_dims *output_dims, int8_t *output)
{
    if (!tc_bilinear_args_ok(params, input_dims, output_dims)) {
        TC_RETURN_ARG_ERROR();
    }
    const int32_t in_h = input_dims->h;
    const int32_t in_w = input_dims->w;
    const int32_t depth = input_dims->c;
    for (int32_t b = 0; b < output_dims->n; ++b) {
        const int8_t *in_batch = input + (size_t)b * in_h * in_w * depth;
        for (int32_t y = 0; y < output_dims->h; ++y) {
            int32_t sy, y0, y1;
            tc_bilinear_point(y, params->scale_h, params->half_pixel_centers, in_h, &sy, &y0,
                              &y1);
            const int32_t dy = sy - (1 << 10) * y0;
            const int8_t *row0 = in_batch + (size_t)y0 * in_w * depth;
            const int8_t *row1 = in_batch + (size_t)y1 * in_w * depth;
            for (int32_t x = 0; x < output_dims->w; ++x) {
                int32_t sx, x0, x1;
                tc_bilinear_point(x, params->scale_w, params->half_pixel_centers, in_w, &sx,
                                  &x0, &x1);
                const int32_t dx = sx - (1 << 10) * x0;
                const int32_t w00 = ((1 << 10) - dy) * ((1 << 10) - dx);
                const int32_t w10 = dy * ((1 << 10) - dx);
                const int32_t w01 = ((1 << 10) - dy) * dx;
                const int32_t w11 = dy * dx;
                const int8_t *p00 = row0 + x0 * depth;
                const int8_t *p01 = row0 + x1 * depth;
                const int8_t *p10 = row1 + x0 * depth;
                const int8_t *p11 = row1 + x1 * depth;
                for (int32_t c = 0; c < depth; ++c) {
                    const int32_t o = p00[c] * w00 + p10[c] * w10 + p01[c] * w01 + p11[c] * w11;
                    const int32_t round = o > 0 ? (1 << 19) : -(1 << 19);
                    *output++ = (int8_t)((o + round) / (1 << 20));
                }
            }
        }
    }
    return TC_OK;
}
