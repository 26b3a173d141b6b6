# Cortex-M0+ code (Armv6-M: no DSP, no hardware divide, no unaligned word access) on QEMU's
# MPS2 AN385 image, whose Cortex-M3 (Armv7-M) executes every Armv6-M instruction unchanged.
# QEMU's only Armv6-M machine, `microbit` (board qemu-microbit), has 16 KiB of RAM: real
# models run their -mcpu=cortex-m0plus build here instead. Start-up sets CCR.UNALIGN_TRP, so
# an unaligned word access faults as it would on the M0+ (startup.c); instruction counts
# are the M0+ build's. The default board of `--target cortex-m0plus` (TARGET_DEFAULT).
# QEMU memory map (`info mtree`): SSRAM1 4 MiB @0x0 (code), SSRAM2/3 4 MiB @0x20000000.
CPU := cortex-m0plus
ISA := ref
TARGET_DEFAULT := yes
CPU_FLAGS := -mcpu=cortex-m0plus -mthumb -mfloat-abi=soft
FLASH_ORIGIN := 0x00000000
FLASH_SIZE ?= 4M
RAM_ORIGIN := 0x20000000
RAM_SIZE ?= 4M
QEMU_MACHINE := mps2-an385
QEMU_CPU_NOTE := the Armv6-M build on the AN385's Cortex-M3
FLASH_TOOL :=
include $(FW_DIR)/boards/common/cortex-m.mk
