/*
 * tinyconv int8 kernels: which instruction set the kernels compile for (the role
 * CMSIS-NN's arm_nn_math_types.h plays). The only place the compiler's feature macros are
 * read; every kernel selects its inner loops with these, and with nothing else:
 *
 *   TC_ISA_MVE       Helium (Armv8.1-M MVE integer: Cortex-M55/M85), from __ARM_FEATURE_MVE
 *   TC_ISA_DSP       Armv7E-M DSP extension (Cortex-M4/M7/M33), from __ARM_FEATURE_DSP
 *   TC_ISA_PORTABLE  plain C, any compiler (Cortex-M0/M3, the host)
 *
 * Exactly one of the three is 1. -DTC_REFERENCE_KERNELS forces the portable kernels on any
 * target (`KERNELS=ref`, `--kernels ref`). -DTC_FORCE_ISA_MVE / -DTC_FORCE_ISA_DSP select an
 * ISA without its compiler support: only for the `*_get_buffer_sizes_s8.c` files, which the
 * host compiles once per ISA so that Python asks each ISA's scratch sizes from the C
 * (tinyconv/kernel_lib.py). No kernel compiles that way.
 */
#ifndef TC_NN_MATH_TYPES_H
#define TC_NN_MATH_TYPES_H

#if defined(TC_REFERENCE_KERNELS)
#define TC_ISA_MVE 0
#define TC_ISA_DSP 0
#elif defined(TC_FORCE_ISA_MVE)
#define TC_ISA_MVE 1
#define TC_ISA_DSP 0
#elif defined(TC_FORCE_ISA_DSP)
#define TC_ISA_MVE 0
#define TC_ISA_DSP 1
#elif defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#define TC_ISA_MVE 1
#define TC_ISA_DSP 0
#elif defined(__ARM_FEATURE_DSP)
#define TC_ISA_MVE 0
#define TC_ISA_DSP 1
#else
#define TC_ISA_MVE 0
#define TC_ISA_DSP 0
#endif

#define TC_ISA_PORTABLE (!TC_ISA_MVE && !TC_ISA_DSP)

/* The DSP extension's scalar instructions (SMMULR, SSAT, ...) exist on the target: every
 * DSP core, and the Helium cores (Armv8.1-M with MVE includes them). */
#if !TC_ISA_PORTABLE && defined(__ARM_FEATURE_DSP)
#define TC_HAS_DSP_INSNS 1
#else
#define TC_HAS_DSP_INSNS 0
#endif

#endif /* TC_NN_MATH_TYPES_H */
