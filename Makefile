# make run  — set up .venv, migrate the SQLite database, load the demo county, serve on :5000
# make test — set up .venv with the test requirements and run the whole suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
FLASK := $(BIN)/flask --app tracker

.PHONY: run test clean-venv translations messages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.requirements: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.requirements-test: requirements-test.txt $(VENV)/.requirements
	$(BIN)/pip install --quiet -r requirements-test.txt
	touch $@

# The English translation (source strings are Chinese); compiled .mo files are not committed.
translations: $(VENV)/.requirements
	@if [ -d translations ]; then $(BIN)/pybabel -q compile -f -d translations; fi

# Re-extract the source strings (N_ marks labels translated where they are shown) and merge them
# into translations/en; then translate the new entries in messages.po.
messages: $(VENV)/.requirements
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k N_ -k NP_:1c,2 --project tracker --version 1.0 -w 100 -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations -l en --no-fuzzy-matching --ignore-obsolete -w 100

run: $(VENV)/.requirements translations
	$(FLASK) db upgrade
	$(FLASK) demo-data --if-empty
	@echo "tracker: http://$(HOST):$(PORT)/"
	$(FLASK) run --host $(HOST) --port $(PORT)

test: $(VENV)/.requirements-test translations
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean-venv:
	rm -rf $(VENV)
