/*
 * tinyconv int8 kernels: every public kernel, grouped by family.
 *
 * Layout, as CMSIS-NN's: one public function per file, named after it,
 * firmware/kernels/<family>/tc_<op>[_<shape>]_s8[_<variant>].c, defined once; its inner
 * loops per ISA are selected inside it by TC_ISA_MVE / TC_ISA_DSP / TC_ISA_PORTABLE
 * (tc_nn_math_types.h, the only reader of the compiler's feature macros). SIMD helpers
 * shared across families: tc_nn_simd.h. The scratch sizes of a family are in
 * tc_<family>_get_buffer_sizes_s8.c (plain C, also built on the host per ISA so that the
 * planner asks them: tinyconv/kernel_lib.py). Private headers (tc_*_internal.h,
 * tc_dwconv_block.h, tc_pool_window.h, tc_add_sub_row.h) stay inside their family.
 */
#ifndef TC_NNFUNCTIONS_H
#define TC_NNFUNCTIONS_H

#include "tc_nn_types.h"
#include "tc_nn_conv.h"        /* convolution, 1x1 convolution, fully connected */
#include "tc_nn_dwconv_pool.h" /* depthwise, pooling, pad, concatenation, transpose */
#include "tc_nn_elementwise.h" /* add, sub, mul, activations, softmax, (de)quantize */
#include "tc_nn_shape.h"       /* slice, split, pack, gather, depth/space, broadcast, cast */
#include "tc_nn_math.h"        /* maximum/minimum, unary math, comparisons, select */
#include "tc_nn_reduce.h"      /* reductions, arg max/min, log softmax, l2 normalization */
#include "tc_nn_spatial.h"     /* resize, transpose conv, batch matmul */
#include "tc_nn_recurrent.h"   /* LSTM, SVDF */
#include "tc_nn_onnxrt.h"      /* onnxruntime's arithmetic (--match onnxruntime) */

#endif /* TC_NNFUNCTIONS_H */
