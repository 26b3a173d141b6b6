/*
 * Private to firmware/kernels/pool: the clipped pooling window of one output pixel and
 * its checks, shared by the pooling kernels.
 */
#ifndef TC_POOL_WINDOW_H
#define TC_POOL_WINDOW_H

#include <stdint.h>

#include "tc_nn_types.h"
#include "tc_nn_simd.h"


/* The part of the filter window inside the image, as TFLite's reference clips it. */
typedef struct {
    int32_t y, x;       /* input coordinates of the window's first valid element */
    int32_t rows, cols; /* valid extent; count = rows * cols */
} tc_pool_window;

static inline tc_pool_window tc_pool_clip(const tc_pool_params *params,
                                          const tc_dims *input_dims,
                                          const tc_dims *filter_dims, int32_t out_y,
                                          int32_t out_x)
{
    const int32_t origin_y = out_y * params->stride.h - params->padding.h;
    const int32_t origin_x = out_x * params->stride.w - params->padding.w;
    const int32_t fy_begin = TC_MAX(0, -origin_y);
    const int32_t fy_end = TC_MIN(filter_dims->h, input_dims->h - origin_y);
    const int32_t fx_begin = TC_MAX(0, -origin_x);
    const int32_t fx_end = TC_MIN(filter_dims->w, input_dims->w - origin_x);
    tc_pool_window window;
    window.y = origin_y + fy_begin;
    window.x = origin_x + fx_begin;
    window.rows = TC_MAX(0, fy_end - fy_begin);
    window.cols = TC_MAX(0, fx_end - fx_begin);
    return window;
}

static inline tc_status tc_pool_check(const tc_pool_params *params, const tc_dims *input_dims,
                                      const tc_dims *filter_dims, const tc_dims *output_dims)
{
    if (input_dims->n != output_dims->n || input_dims->c != output_dims->c ||
        params->stride.h < 1 || params->stride.w < 1 || filter_dims->h < 1 ||
        filter_dims->w < 1) {
        TC_RETURN_ARG_ERROR();
    }
    return TC_OK;
}

#endif /* TC_POOL_WINDOW_H */
