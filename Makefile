# Two commands for a new machine (see README):
#   make run    install everything the workstation needs, then start it
#   make test   install what the tests need too, then run every check and the whole suite,
#               then build the one-folder bundle and smoke-test it (make bundle)
# Both are idempotent; the second time they only check stamps.

PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.frx-installed
TSTAMP := $(VENV)/.frx-test-installed
BSTAMP := $(VENV)/.frx-bundle-installed
# The PyInstaller bundle is built outside the checkout (README, "Building a one-folder bundle").
BUNDLE_DIST ?= /tmp/frx-dist
BUNDLE_WORK ?= /tmp/frx-build
# Debian packages: Qt's xcb platform plugin needs these; xvfb gives tests and screenshots a display;
# poppler-utils renders/reads PDFs; postgresql lets the suite run casework against a real server.
APT_RUN  := libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxcb-image0 libxcb-render-util0 \
            libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libxcb-xkb1 libxkbcommon-x11-0 \
            libxkbcommon0 libegl1 libgl1 libglib2.0-0 libfontconfig1 libdbus-1-3 fonts-dejavu-core
APT_TEST := xvfb xauth poppler-utils postgresql

.PHONY: run test setup setup-test apt apt-test lint check-imports clean-venv bench bundle

run: setup
	$(PY) -m app

# The suite runs on SQLite, then every database test again against a real PostgreSQL on loopback.
# Each pass has a hard limit (a hung run fails instead of waiting for CI's deadline); single tests
# have their own limit in pyproject.toml.
PASS_LIMIT := timeout -k 30 1500
test: setup-test
	QT_QPA_PLATFORM=offscreen $(PY) -m tools.check
	QT_QPA_PLATFORM=offscreen $(PASS_LIMIT) $(PY) -m pytest -n 2 --dist loadfile -q tests
	FRX_TEST_DATABASE_URL=$$(./tools/pg-test-server.sh start) QT_QPA_PLATFORM=offscreen \
	  $(PASS_LIMIT) $(PY) -m pytest -n 2 --dist loadfile -q -m database tests
	$(MAKE) bundle

# One-folder bundle of frx-workstation and frx (pyinstaller.spec), then its smoke test: the built
# programs on an empty data folder without Python (tools/bundle-smoke.sh). About 2 minutes.
bundle: setup $(BSTAMP)
	timeout -k 30 900 $(VENV)/bin/pyinstaller --noconfirm --log-level WARN \
	  --distpath $(BUNDLE_DIST) --workpath $(BUNDLE_WORK) pyinstaller.spec
	timeout -k 30 600 ./tools/bundle-smoke.sh $(BUNDLE_DIST)/frx-workstation

setup: apt $(STAMP)
setup-test: setup apt-test $(TSTAMP)

apt:
	@./tools/apt-ensure.sh $(APT_RUN)

apt-test:
	@./tools/apt-ensure.sh $(APT_TEST)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip wheel setuptools

$(STAMP): pyproject.toml $(VENV)/bin/python tools/fix-opencv.sh
	$(PIP) install -q -e .
	./tools/fix-opencv.sh $(PY)
	touch $@

$(TSTAMP): $(STAMP) pyproject.toml
	$(PIP) install -q -e '.[test,postgres]'
	./tools/fix-opencv.sh $(PY)
	touch $@

$(BSTAMP): $(STAMP) pyproject.toml
	$(PIP) install -q -e '.[bundle]'
	./tools/fix-opencv.sh $(PY)
	touch $@

bench: setup-test
	@echo "Benchmarks run by hand: see bench/README.md"

clean-venv:
	rm -rf $(VENV)
