# Cortex-M33 (Armv8-M mainline: DSP extension, single-precision FPU, TrustZone) on QEMU's
# MPS2 AN505 (IoTKit) image. The CPU boots Secure with its vector table at 0x10000000, so
# everything lives at the Secure aliases (address bit 28 set); the MPCs reset to all-Secure.
# QEMU 7.2 memory map (hw/arm/mps2-tz.c, `info mtree`): SSRAM1 4 MiB @0x10000000 (code; the
# Non-secure alias is @0x0), SSRAM2 + SSRAM3 2 + 2 MiB @0x38000000 (RAM, contiguous; NS
# alias @0x28000000), IoTKit SRAM 32 KiB @0x30000000 (unused).
CPU := cortex-m33
ISA := dsp
CPU_FLAGS := -mcpu=cortex-m33 -mthumb -mfpu=fpv5-sp-d16 -mfloat-abi=hard
FLASH_ORIGIN := 0x10000000
FLASH_SIZE ?= 4M
RAM_ORIGIN := 0x38000000
RAM_SIZE ?= 4M
QEMU_MACHINE := mps2-an505
FLASH_TOOL :=
include $(FW_DIR)/boards/common/cortex-m.mk
