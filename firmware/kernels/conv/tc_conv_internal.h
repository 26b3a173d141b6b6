/*
 * Private to the convolution family: which ISA variant this translation unit compiles,
 * argument checks and the shared output stage.
 *
 * Exactly one of TC_CONV_MVE, TC_CONV_DSP, TC_CONV_REF is 1, so each public kernel is
 * defined by exactly one of its files (tc_<op>_s8.c = portable C, _dsp.c, _mve.c).
 */
#ifndef TC_CONV_INTERNAL_H
#define TC_CONV_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "tc_nn_conv.h"
#include "tc_nn_support.h"

#if !defined(TC_REFERENCE_KERNELS) && defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#define TC_CONV_MVE 1
#define TC_CONV_DSP 0
#define TC_CONV_REF 0
#elif !defined(TC_REFERENCE_KERNELS) && defined(__ARM_FEATURE_DSP)
#define TC_CONV_MVE 0
#define TC_CONV_DSP 1
#define TC_CONV_REF 0
#else
#define TC_CONV_MVE 0
#define TC_CONV_DSP 0
#define TC_CONV_REF 1
#endif

/* The output stage every variant shares: requantize, add the zero point, clamp. */
static inline int8_t tc_conv_output(int32_t acc, int32_t multiplier, int32_t shift,
                                    int32_t output_offset, tc_activation act)
{
    return tc_clamp_s8(tc_requantize(acc, multiplier, shift) + output_offset, act);
}

static inline int32_t tc_conv_bias(const int32_t *bias, int32_t channel)
{
    return bias != NULL ? bias[channel] : 0;
}

/* Unaligned 32-bit load (an LDR on cores with unaligned access, bytes elsewhere). */
static inline int32_t tc_read_s32(const void *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void tc_write_s32(void *p, int32_t v)
{
    memcpy(p, &v, sizeof v);
}

static inline int tc_dims_positive(const tc_dims *d)
{
    return d != NULL && d->n > 0 && d->h > 0 && d->w > 0 && d->c > 0;
}

/* Shapes of a (grouped) convolution agree with each other and the scratch is big enough. */
static inline int tc_conv_args_valid(const tc_context *ctx, const tc_conv_params *params,
                                     const tc_per_channel_quant_params *quant,
                                     const tc_dims *input_dims, const int8_t *input,
                                     const tc_dims *filter_dims, const int8_t *filter,
                                     const tc_dims *output_dims, const int8_t *output,
                                     int32_t scratch_bytes)
{
    if (params == NULL || quant == NULL || quant->multiplier == NULL || quant->shift == NULL ||
        input == NULL || filter == NULL || output == NULL || !tc_dims_positive(input_dims) ||
        !tc_dims_positive(filter_dims) || !tc_dims_positive(output_dims)) {
        return 0;
    }
    if (input_dims->c % filter_dims->c != 0 || input_dims->n != output_dims->n ||
        filter_dims->n != output_dims->c) {
        return 0;
    }
    const int32_t groups = input_dims->c / filter_dims->c;
    if (output_dims->c % groups != 0 || params->stride.h < 1 || params->stride.w < 1 ||
        params->dilation.h < 1 || params->dilation.w < 1) {
        return 0;
    }
    if (scratch_bytes > 0 && (ctx == NULL || ctx->buf == NULL || ctx->size < scratch_bytes)) {
        return 0;
    }
    return 1;
}

/* 1x1 convolution: a GEMM, so every output pixel is the input pixel at the same place. */
static inline int tc_conv_1x1_args_valid(const tc_conv_params *params,
                                         const tc_per_channel_quant_params *quant,
                                         const tc_dims *input_dims, const int8_t *input,
                                         const tc_dims *filter_dims, const int8_t *filter,
                                         const tc_dims *output_dims, const int8_t *output)
{
    return tc_conv_args_valid(NULL, params, quant, input_dims, input, filter_dims, filter,
                              output_dims, output, 0) &&
           filter_dims->h == 1 && filter_dims->w == 1 && filter_dims->c == input_dims->c &&
           params->stride.h == 1 && params->stride.w == 1 && params->padding.h == 0 &&
           params->padding.w == 0 && input_dims->h == output_dims->h &&
           input_dims->w == output_dims->w;
}

static inline int tc_fc_args_valid(const tc_fc_params *params,
                                   const tc_per_channel_quant_params *quant,
                                   const tc_dims *input_dims, const int8_t *input,
                                   const tc_dims *filter_dims, const int8_t *filter,
                                   const tc_dims *output_dims, const int8_t *output)
{
    return params != NULL && quant != NULL && quant->multiplier != NULL &&
           quant->shift != NULL && input != NULL && filter != NULL && output != NULL &&
           tc_dims_positive(input_dims) && tc_dims_positive(filter_dims) &&
           tc_dims_positive(output_dims) && input_dims->c == filter_dims->c &&
           input_dims->n == output_dims->n && filter_dims->n == output_dims->c;
}

/* Where output pixel (y, x) of a convolution starts reading the input. */
typedef struct {
    int32_t batch;
    int32_t y;
    int32_t x;
} tc_pixel;

static inline void tc_pixel_next(tc_pixel *p, const tc_dims *output_dims)
{
    if (++p->x == output_dims->w) {
        p->x = 0;
        if (++p->y == output_dims->h) {
            p->y = 0;
            ++p->batch;
        }
    }
}

#endif /* TC_CONV_INTERNAL_H */
