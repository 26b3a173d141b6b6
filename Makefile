# tinyconv: the two entry points of the README, each installing what it needs.
#   make demo   train a CNN on Fashion-MNIST (int8, QAT), verify it bit-exact in QEMU, export firmware
#   make test   run the test suite
PYTHON ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm make gcc
DEMO_MODEL ?= lenet5
DEMO_EPOCHS ?= 3
TARGET ?= cortex-m7
DEMO := build/demo
PYTEST_ARGS ?=

.PHONY: demo test deps system-deps python-deps data-deps clean

# Train on the default dataset, then deploy the int8 model the training wrote: verify it
# byte for byte against LiteRT in QEMU, export a firmware project and run it.
demo: deps data-deps
	rm -rf $(DEMO)
	$(PYTHON) -m tinyconv.cli train --model $(DEMO_MODEL) --dataset fashion_mnist --epochs $(DEMO_EPOCHS) \
	  --qat --qat-epochs 1 -o $(DEMO)/run
	$(PYTHON) -m tinyconv.cli verify $(DEMO)/run/model_int8.tflite --target $(TARGET) -n 20 --json $(DEMO)/verify.json
	$(PYTHON) -m tinyconv.cli export $(DEMO)/run/model_int8.tflite --target $(TARGET) --sram 320kB --flash 1MB -o $(DEMO)/project
	$(MAKE) -C $(DEMO)/project run
	@echo "demo: trained model, metrics.json and ONNX in $(DEMO)/run; firmware project in $(DEMO)/project"

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
