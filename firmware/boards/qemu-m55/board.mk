# Cortex-M55 (Armv8.1-M: Helium/MVE, FPU, TrustZone) on QEMU's MPS3 AN547 (SSE-300) image.
# The CPU boots Secure, so everything lives at the Secure aliases (address bit 28 set).
# QEMU 7.2 memory map (`info mtree`, checked by booting): ITCM 512 KiB @0x10000000 (the
# only place the reset vector table is fetched from: an image based in SRAM, QSPI or DDR
# locks up at reset), QSPI flash 8 MiB @0x38000000 (read-only, holds code and weights),
# SRAM 2 MiB @0x11000000, DTCM 512 KiB @0x30000000, SRAM 2+3 4 MiB @0x31000000 (RAM).
CPU := cortex-m55
ISA := mve
CPU_FLAGS := -mcpu=cortex-m55 -mthumb -mfloat-abi=hard
VECTORS_ORIGIN := 0x10000000
VECTORS_SIZE := 512K
FLASH_ORIGIN := 0x38000000
FLASH_SIZE ?= 8M
RAM_ORIGIN := 0x31000000
RAM_SIZE ?= 4M
QEMU_MACHINE := mps3-an547
FLASH_TOOL :=
include $(FW_DIR)/boards/common/cortex-m.mk
