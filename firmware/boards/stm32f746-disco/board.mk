# STM32F746G-DISCO: Cortex-M7 @ up to 216 MHz (runs on the 16 MHz reset clock here).
# Flash 1 MiB @0x08000000 (AXIM); SRAM 320 KiB @0x20000000 = DTCM 64 KiB + SRAM1 240 KiB
# + SRAM2 16 KiB, contiguous. Console and files via semihosting (OpenOCD: `arm semihosting
# enable`).
CPU := cortex-m7
ISA := dsp
CPU_FLAGS := -mcpu=cortex-m7 -mthumb -mfpu=fpv5-sp-d16 -mfloat-abi=hard
BOARD_CFLAGS := -DTC_ENABLE_ICACHE
FLASH_ORIGIN := 0x08000000
FLASH_SIZE ?= 1M
RAM_ORIGIN := 0x20000000
RAM_SIZE ?= 320K
QEMU_MACHINE :=
FLASH_TOOL := openocd
OPENOCD_CFG := board/stm32f746g-disco.cfg
include $(FW_DIR)/boards/common/cortex-m.mk
