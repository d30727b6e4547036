# seqbook on a fresh machine: two commands (see README.md).
#   make book   set up .venv, build the book (English, then the Chinese edition), print where to open it
#   make test   set up .venv and a browser, run the whole test suite
#   make lab    set up .venv, open the chapters in JupyterLab (optional)
# The set-up is done once per version of requirements.txt and pyproject.toml: the stamp file
# .venv/.installed-<hash> records it, so a second run goes straight to the work.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HASH := $(shell cat requirements.txt pyproject.toml | sha256sum | cut -c1-16)
STAMP := $(VENV)/.installed-$(HASH)
BUILD := jupyter-book build . -W -n --keep-going
export MPLBACKEND ?= Agg
# The environment's tools (jupyter-book, jupyter, pip) come first for every command below.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: book test lab setup browser sync clean

# The Chinese edition (tools/i18n.py) is built from the English build's executed notebooks, without
# running them again, into _build/html/zh_CN.
book: $(STAMP)
	$(BIN)/$(BUILD)
	$(BIN)/python tools/i18n.py build
	@echo
	@echo "The book is at file://$(CURDIR)/_build/html/index.html"
	@echo "The Chinese edition (中文版) is at file://$(CURDIR)/_build/html/zh_CN/index.html"

test: $(STAMP) browser
	$(BIN)/python -m pytest -q

lab: $(STAMP)
	$(BIN)/jupyter lab book/ $(if $(filter 0,$(shell id -u)),--allow-root)

setup: $(STAMP)

# A virtual environment with the pinned requirements and seqlib (editable). Debian's python3
# needs the python3-venv package for `python3 -m venv`; it is installed when missing and root.
$(STAMP):
	@if [ ! -x $(BIN)/python ]; then \
	    if ! $(PYTHON) -m venv $(VENV) 2>/dev/null; then \
	        rm -rf $(VENV); \
	        if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	            apt-get update && apt-get install -y python3-venv && $(PYTHON) -m venv $(VENV); \
	        else \
	            echo "'$(PYTHON) -m venv' failed: install your Python's venv module (Debian/Ubuntu: apt-get install python3-venv)"; exit 1; \
	        fi; \
	    fi; \
	fi
	$(BIN)/python -m pip install -q -r requirements.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

# The browser tests drive Chromium or Chrome; Debian's chromium is installed when none is found.
browser: $(STAMP)
	@$(BIN)/python tools/find_browser.py --install

# Rewrite every chapter's Colab set-up cell after changing `repository:` in _config.yml (and the
# Chinese notebooks, which are generated from the English ones).
sync: $(STAMP)
	$(BIN)/python -m seqlib.nbsetup sync
	$(BIN)/python tools/i18n.py notebooks

clean:
	rm -rf _build
