# tinyconv: the two entry points of the README, each installing what it needs.
#   make demo   search the most accurate network for 64 KiB SRAM / 256 KiB flash on Fashion-MNIST,
#               train it (QAT, int8), verify it bit-exact in QEMU, and run its firmware on real
#               test images
#   make test   run the test suite
PYTHON ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm make gcc
# The demo's search: the shipped supernet (trained once by `tinyconv search --proxy supernet`
# at this budget, models/fashion_mnist_supernet) scores each candidate in about a second.
DEMO_SRAM ?= 64kB
DEMO_FLASH ?= 256kB
DEMO_SUPERNET ?= models/fashion_mnist_supernet
DEMO_BUDGET ?= 100
DEMO_EPOCHS ?= 1
TARGET ?= cortex-m7
DEMO := build/demo
PYTEST_ARGS ?=

.PHONY: demo test deps system-deps python-deps data-deps clean

# Search on the default dataset, train the winner from its supernet weights (1 epoch + QAT),
# export its firmware with 10 real test images; verify the int8 model byte for byte against
# LiteRT in QEMU, then run the firmware: it prints its prediction beside each true label.
demo: deps data-deps
	rm -rf $(DEMO)
	$(PYTHON) -m tinyconv.cli search --sram $(DEMO_SRAM) --flash $(DEMO_FLASH) --dataset fashion_mnist \
	  --target $(TARGET) --proxy supernet --supernet $(DEMO_SUPERNET) --budget $(DEMO_BUDGET) \
	  --epochs $(DEMO_EPOCHS) --export -o $(DEMO)
	$(PYTHON) -m tinyconv.cli verify $(DEMO)/model_int8.tflite --target $(TARGET) -n 20 --json $(DEMO)/verify.json
	$(MAKE) -C $(DEMO)/firmware run
	@echo "demo: search log, leaderboard, arch.json and the trained model in $(DEMO); firmware project in $(DEMO)/firmware"

test: deps data-deps
	$(PYTHON) -m pytest -n 2 $(PYTEST_ARGS)

deps: system-deps python-deps

# Debian packages: the Arm cross compiler with newlib headers, and QEMU for Cortex-M.
system-deps:
	@if ! command -v arm-none-eabi-gcc >/dev/null || ! command -v qemu-system-arm >/dev/null \
	    || [ ! -d /usr/lib/arm-none-eabi/newlib ]; then \
	  $(SUDO) apt-get update && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends $(APT_PACKAGES); \
	fi

# Debian's own python3 has no pip by default and refuses system-wide installs (PEP 668):
# install python3-pip, then retry with --break-system-packages (a venv works too: PYTHON=...).
python-deps:
	@$(PYTHON) -c "import tinyconv, tensorflow, ai_edge_litert, tflite_micro, pytest, xdist, ray" 2>/dev/null || { \
	  $(PYTHON) -m pip --version >/dev/null 2>&1 || { $(SUDO) apt-get update && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends python3-pip; }; \
	  $(PYTHON) -m pip install -e ".[train,test]" \
	  || $(PYTHON) -m pip install --break-system-packages -e ".[train,test]"; }

# The default dataset: Debian packages Fashion-MNIST (in /usr/share/datasets/fashion-mnist).
data-deps:
	@$(PYTHON) -c "from tinyconv.data.locate import find_dataset_dir as f; f('fashion-mnist', 'train-images-idx3-ubyte.gz')" 2>/dev/null \
	  || { $(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends dataset-fashion-mnist; }

clean:
	rm -rf build
