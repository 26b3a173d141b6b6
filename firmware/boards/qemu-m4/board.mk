# Cortex-M4F (Armv7E-M: DSP extension, single-precision FPU) on QEMU's MPS2 AN386 image.
# QEMU memory map (`info mtree`): SSRAM1 4 MiB @0x0 (code), SSRAM2/3 4 MiB @0x20000000.
CPU := cortex-m4
ISA := dsp
CPU_FLAGS := -mcpu=cortex-m4 -mthumb -mfpu=fpv4-sp-d16 -mfloat-abi=hard
FLASH_ORIGIN := 0x00000000
FLASH_SIZE ?= 4M
RAM_ORIGIN := 0x20000000
RAM_SIZE ?= 4M
QEMU_MACHINE := mps2-an386
FLASH_TOOL :=
include $(FW_DIR)/boards/common/cortex-m.mk
