# Cortex-M3 (Armv7-M: no DSP extension, no FPU) on QEMU's MPS2 AN385 FPGA image.
# QEMU memory map (`info mtree`): SSRAM1 4 MiB @0x0 (code), SSRAM2/3 4 MiB @0x20000000.
CPU := cortex-m3
ISA := ref
CPU_FLAGS := -mcpu=cortex-m3 -mthumb -mfloat-abi=soft
FLASH_ORIGIN := 0x00000000
FLASH_SIZE ?= 4M
RAM_ORIGIN := 0x20000000
RAM_SIZE ?= 4M
QEMU_MACHINE := mps2-an385
FLASH_TOOL :=
include $(FW_DIR)/boards/common/cortex-m.mk
