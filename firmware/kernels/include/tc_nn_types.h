/*
 * tinyconv int8 kernels: shared types.
 *
 * Shaped like CMSIS-NN so the upstream library can be swapped in: NHWC tensors, the
 * TFLite int8 quantization spec, and the same argument order in every kernel:
 *   (ctx, op params, quant params, input_dims, input, filter_dims, filter,
 *    bias_dims, bias, output_dims, output)
 * Kernels with scratch have a `<name>_get_buffer_size` partner; the caller passes the
 * scratch in ctx->buf (tinyconv's planner places it in the arena).
 */
#ifndef TC_NN_TYPES_H
#define TC_NN_TYPES_H

#include <stdint.h>
#include <stddef.h>

typedef enum {
    TC_OK = 0,
    TC_ARG_ERROR = -1,
} tc_status;

/*
 * Argument checks: a kernel returns TC_ARG_ERROR for arguments it cannot run with. The
 * firmware of a generated model is built with -DTC_ARG_CHECKS=0 (firmware/Makefile): the
 * code generator has checked every call at export (tinyconv/ir/validate.py and the
 * lowerings), so the checks compile away there, code and instructions. Any other build (the
 * kernels as a library, the host and QEMU tests) keeps them.
 */
#ifndef TC_ARG_CHECKS
#define TC_ARG_CHECKS 1
#endif
#if TC_ARG_CHECKS
#define TC_RETURN_ARG_ERROR() return TC_ARG_ERROR
#else
#define TC_RETURN_ARG_ERROR() __builtin_unreachable()
#endif

/* NHWC dimensions. Filters: OHWI for conv (c = input channels per group),
 * 1HWC for depthwise, {n = output units, c = accumulation depth} for fully connected. */
typedef struct {
    int32_t n;
    int32_t h;
    int32_t w;
    int32_t c;
} tc_dims;

typedef struct {
    int32_t h;
    int32_t w;
} tc_tile;

/* Scratch memory handed to a kernel; size is what its _get_buffer_size returned. */
typedef struct {
    void *buf;
    int32_t size;
} tc_context;

/* Clamp range of the fused activation, in the output's quantized domain. */
typedef struct {
    int32_t min;
    int32_t max;
} tc_activation;

/* Per-output-channel requantization: real = multiplier * 2^(shift - 31). `narrow` = 1
 * when the code generator has checked that tc_requantize_narrow (tc_nn_simd.h) is exact
 * for every accumulator of the layer (from its weights, bias and input zero point); the
 * optimized kernels then take it, otherwise tc_requantize's general form. */
typedef struct {
    const int32_t *multiplier;
    const int32_t *shift;
    int32_t narrow;
} tc_per_channel_quant_params;

typedef struct {
    int32_t multiplier;
    int32_t shift;
} tc_per_tensor_quant_params;

typedef struct {
    int32_t input_offset;  /* -input zero point */
    int32_t output_offset; /* +output zero point */
    tc_tile stride;
    tc_tile padding;       /* top/left padding; bottom/right follow from the shapes */
    tc_tile dilation;
    tc_activation activation;
} tc_conv_params;

typedef struct {
    int32_t input_offset;
    int32_t output_offset;
    int32_t ch_mult;       /* depth multiplier: output channels per input channel */
    tc_tile stride;
    tc_tile padding;
    tc_tile dilation;
    tc_activation activation;
} tc_dw_conv_params;

typedef struct {
    int32_t input_offset;
    int32_t filter_offset; /* -filter zero point (0 for symmetric int8 weights) */
    int32_t output_offset;
    tc_activation activation;
} tc_fc_params;

typedef struct {
    tc_tile stride;
    tc_tile padding;
    tc_activation activation;
} tc_pool_params;

#endif /* TC_NN_TYPES_H */
