# NUCLEO-U575ZI-Q (STM32U575ZIT6Q): Cortex-M33 with DSP extension and single-precision FPU,
# up to 160 MHz (runs on the 4 MHz MSI reset clock here). TrustZone is off as shipped
# (option byte TZEN=0): the core runs Non-secure from the Non-secure aliases below.
# Flash 2 MiB @0x08000000; RAM is SRAM1 192 KiB @0x20000000 + SRAM2 64 KiB @0x20030000 +
# SRAM3 512 KiB @0x20040000 = 768 KiB, contiguous (SRAM4 16 KiB @0x28000000 is separate).
# Flashed through the on-board STLINK-V3E with OpenOCD (0.12 or later: target/stm32u5x.cfg);
# console and files via semihosting (OpenOCD: `arm semihosting enable`). STM32CubeProgrammer
# works too: STM32_Programmer_CLI -c port=SWD -w build/nucleo-u575zi-q/tinyconv.elf -v -rst
CPU := cortex-m33
ISA := dsp
CPU_FLAGS := -mcpu=cortex-m33 -mthumb -mfpu=fpv5-sp-d16 -mfloat-abi=hard
FLASH_ORIGIN := 0x08000000
FLASH_SIZE ?= 2M
RAM_ORIGIN := 0x20000000
RAM_SIZE ?= 768K
QEMU_MACHINE :=
FLASH_TOOL := openocd
OPENOCD_CFG := interface/stlink-dap.cfg target/stm32u5x.cfg
include $(FW_DIR)/boards/common/cortex-m.mk
