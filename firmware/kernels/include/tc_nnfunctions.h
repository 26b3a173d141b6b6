/*
 * tinyconv int8 kernels: every public kernel, grouped by family.
 * Each kernel lives in its own file, firmware/kernels/<family>/tc_<op>_<variant>_s8.c.
 */
#ifndef TC_NNFUNCTIONS_H
#define TC_NNFUNCTIONS_H

#include "tc_nn_types.h"
#include "tc_nn_conv.h"        /* convolution, 1x1 convolution, fully connected */
#include "tc_nn_dwconv_pool.h" /* depthwise, pooling, mean, pad, concatenation, transpose */
#include "tc_nn_elementwise.h" /* add, sub, mul, activations, softmax, (de)quantize */

#endif /* TC_NNFUNCTIONS_H */
