/*
 * Private to tc_resize_bilinear_s8 / _s16: TFLite's reference_ops::ResizeBilinearInteger,
 * bit for bit, on int8 or int16 codes (`size` 1 or 2, a constant in each caller).
 * Per output row y: sample point sy = y * scale_h (half_pixel_centers:
 * + scale_h / 2 - 2^9), y0 = max(sy / 2^10, 0), y1 = min(ceil(sy / 2^10), H - 1),
 * dy = sy - 2^10 * y0; the same for columns. Then
 *   o = v00 (2^10 - dy)(2^10 - dx) + v10 dy (2^10 - dx) + v01 (2^10 - dy) dx + v11 dy dx,
 *   out = (o + sign(o) 2^19) / 2^20 (C division, toward zero).
 * For int8 codes every product and the sum stay below 2^31 (|v| <= 128, weights <= 1536,
 * and the weights of distinct rows are non-negative), so int32 suffices; an int16 code
 * times two 11-bit weights needs 38 bits, so int16 sums in int64, as TFLite does.
 */
#ifndef TC_RESIZE_BILINEAR_INTERNAL_H
#define TC_RESIZE_BILINEAR_INTERNAL_H

#include "tc_spatial_internal.h"

/* One output code from the four neighbours at p00, p10, p01, p11 (element c) and their
 * weights. */
static inline int32_t tc_bilinear_mix(const void *p00, const void *p10, const void *p01,
                                      const void *p11, int32_t c, const int32_t w[4],
                                      size_t size)
{
    const int32_t v00 = tc_load_sized(p00, c, size), v10 = tc_load_sized(p10, c, size);
    const int32_t v01 = tc_load_sized(p01, c, size), v11 = tc_load_sized(p11, c, size);
    if (size == 1) {
        const int32_t o = v00 * w[0] + v10 * w[1] + v01 * w[2] + v11 * w[3];
        return (o + (o > 0 ? (1 << 19) : -(1 << 19))) / (1 << 20);
    }
    const int64_t o = (int64_t)v00 * w[0] + (int64_t)v10 * w[1] + (int64_t)v01 * w[2] +
                      (int64_t)v11 * w[3];
    return (int32_t)((o + (o > 0 ? (1 << 19) : -(1 << 19))) / (1 << 20));
}

static inline tc_status tc_resize_bilinear_elements(const tc_resize_bilinear_params *params,
                                                    const tc_dims *input_dims,
                                                    const void *input,
                                                    const tc_dims *output_dims, void *output,
                                                    size_t size)
{
    if (!tc_bilinear_args_ok(params, input_dims, output_dims)) {
        TC_RETURN_ARG_ERROR();
    }
    const int32_t in_h = input_dims->h;
    const int32_t in_w = input_dims->w;
    const int32_t depth = input_dims->c;
    const size_t pixel = (size_t)depth * size;
    uint8_t *out = (uint8_t *)output;
    for (int32_t b = 0; b < output_dims->n; ++b) {
        const uint8_t *in_batch = (const uint8_t *)input + (size_t)b * in_h * in_w * pixel;
        for (int32_t y = 0; y < output_dims->h; ++y) {
            int32_t sy, y0, y1;
            tc_bilinear_point(y, params->scale_h, params->half_pixel_centers, in_h, &sy, &y0,
                              &y1);
            const int32_t dy = sy - (1 << 10) * y0;
            const uint8_t *row0 = in_batch + (size_t)y0 * in_w * pixel;
            const uint8_t *row1 = in_batch + (size_t)y1 * in_w * pixel;
            for (int32_t x = 0; x < output_dims->w; ++x) {
                int32_t sx, x0, x1;
                tc_bilinear_point(x, params->scale_w, params->half_pixel_centers, in_w, &sx,
                                  &x0, &x1);
                const int32_t dx = sx - (1 << 10) * x0;
                const int32_t w[4] = {((1 << 10) - dy) * ((1 << 10) - dx),
                                      dy * ((1 << 10) - dx), ((1 << 10) - dy) * dx, dy * dx};
                const uint8_t *p00 = row0 + x0 * pixel;
                const uint8_t *p01 = row0 + x1 * pixel;
                const uint8_t *p10 = row1 + x0 * pixel;
                const uint8_t *p11 = row1 + x1 * pixel;
                for (int32_t c = 0; c < depth; ++c) {
                    tc_store_sized(out, c, tc_bilinear_mix(p00, p10, p01, p11, c, w, size),
                                   size);
                }
                out += pixel;
            }
        }
    }
    return TC_OK;
}

#endif /* TC_RESIZE_BILINEAR_INTERNAL_H */
