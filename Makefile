# `make run`: the whole product on embedded defaults (SQLite, filesystem broker), no server needed.
# `make test`: the full suite on PostgreSQL and Redis (started if they are stopped).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-clock lint check bench services install browser messages clean

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py beat_sync
	$(BIN)/python manage.py seed_demo --customers 200 --if-empty
	$(BIN)/python manage.py demo_activity --if-empty
	$(BIN)/python manage.py ensure_superuser
	$(BIN)/honcho start

services:
	bin/services

# The browser tests drive Debian's Chromium (Playwright's own browser download is not used).
browser:
	@command -v chromium >/dev/null 2>&1 || { echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
		|| { echo "chromium is missing and could not be installed: run 'apt-get install chromium' as root"; exit 1; }

test: install services browser
	$(BIN)/pytest

# The suite again with the clock moved to a night hour on a DST-change date (02:30 in Tallinn,
# 01:30 in Stockholm, 03:30 in Moscow, half an hour before Europe springs forward): a test that
# passes only at some hours or on some dates is a defect. TEST_NOW=<ISO 8601 with offset> picks another.
TEST_NOW ?= 2027-03-28T00:30:00+00:00
test-clock: install services browser
	$(BIN)/pytest --now=$(TEST_NOW)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

check: install
	$(BIN)/python manage.py makemigrations --check --dry-run
	DJANGO_SETTINGS_MODULE=config.settings.production SECRET_KEY=$$(head -c 48 /dev/urandom | base64) \
		ALLOWED_HOSTS=crm.example.com PUBLIC_BASE_URL=https://crm.example.com \
		$(BIN)/python manage.py check --deploy --fail-level WARNING

# Benchmarks also install their peers (django-post-office), never needed by the product itself.
BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP) requirements-bench.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-bench.txt
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP) services
	$(BIN)/python bench/run.py

# Customer-facing translations: extract new strings into locale/*/django.po and compile them (needs
# gettext's msgfmt). The .po files are the source of truth: translators edit them, and this target
# never writes a msgstr (makemessages merges without fuzzy guesses and drops obsolete entries).
messages: install
	$(BIN)/python manage.py makemessages -l et -l fi -l ru -l sv --ignore=.venv --ignore=tests --ignore=bench --no-obsolete
	$(BIN)/python manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) var
