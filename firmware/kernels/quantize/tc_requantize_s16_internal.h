/*
 * Private to the int16 requantize kernels: TFLite's reference_ops::Requantize, the loop
 * QUANTIZE runs between int8 and int16 (either way) and from int16 to int16:
 *   out = clamp(tc_requantize(in + input_offset, multiplier, shift) + output_offset,
 *               activation.min, activation.max)
 * with the output type's range as the activation (LEAKY_RELU and RELU use their own).
 */
#ifndef TC_REQUANTIZE_S16_INTERNAL_H
#define TC_REQUANTIZE_S16_INTERNAL_H

#include "tc_nn_elementwise.h"
#include "tc_nn_support.h"

#define TC_REQUANTIZE_LOOP(p, size, input, output, out_type)                              \
    do {                                                                                  \
        for (int32_t i_ = 0; i_ < (size); ++i_) {                                         \
            int32_t y_ = tc_requantize((input)[i_] + (p).input_offset, (p).multiplier,    \
                                       (p).shift);                                        \
            y_ = tc_add_wrap(y_, (p).output_offset);                                      \
            y_ = y_ > (p).activation.max ? (p).activation.max : y_;                       \
            y_ = y_ < (p).activation.min ? (p).activation.min : y_;                       \
            (output)[i_] = (out_type)y_;                                                  \
        }                                                                                 \
    } while (0)

#endif /* TC_REQUANTIZE_S16_INTERNAL_H */
