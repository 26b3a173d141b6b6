# tinyconv: the two entry points of the README, each installing what it needs.
#   make demo   export the bundled example model, run it in QEMU, print its memory report
#   make test   run the test suite
PYTHON ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm make gcc
EXAMPLE ?= models/fashion_mnist_cnn/model.tflite
TARGET ?= cortex-m7
PYTEST_ARGS ?=

.PHONY: demo test deps system-deps python-deps clean

demo: deps
	$(PYTHON) -m tinyconv.cli verify $(EXAMPLE) --target $(TARGET) -n 20 --json build/demo/verify.json
	rm -rf build/demo/project
	$(PYTHON) -m tinyconv.cli export $(EXAMPLE) --target $(TARGET) --sram 320kB --flash 1MB -o build/demo/project
	$(MAKE) -C build/demo/project run

test: deps
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
	@$(PYTHON) -c "import tinyconv, tensorflow, ai_edge_litert, tflite_micro, pytest, xdist" 2>/dev/null || { \
	  $(PYTHON) -m pip --version >/dev/null 2>&1 || { $(SUDO) apt-get update && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends python3-pip; }; \
	  $(PYTHON) -m pip install -e ".[train,test]" \
	  || $(PYTHON) -m pip install --break-system-packages -e ".[train,test]"; }
	@mkdir -p build/demo

clean:
	rm -rf build
