# Parley: `make run` serves the product on embedded defaults; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Debian packages the tests need: the browser for end-to-end tests, ffprobe for media checks,
# pdftotext/pdftoppm for the agreement PDF, the Chinese font the PDF embeds, nginx, which
# tests/e2e/test_nginx.py runs (as its own process, never the system service) in front of the
# split roles with docs/nginx.conf, and the phone line's real SIP callers (SIPp is Debian's
# sip-tester; baresip) with espeak-ng for its prompts.
APT_TEST_PACKAGES := chromium ffmpeg poppler-utils fonts-wqy-zenhei nginx sip-tester baresip espeak-ng
# The phone line's default prompts are synthesised at build time (docs/telephony.md).
PROMPTS := signaling/telephony/prompts/.built
# The agreement PDF embeds this TrueType font (server/agreements/pdf.py) at run time too.
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc

# Browser libraries from the npm registry, pinned by package-lock.json: Apache ECharts for the
# supervisor's charts (docs/reports.md). `npm ci` installs them; the page serves the copy in
# web/vendor (git-ignored), never a CDN.
ECHARTS := web/vendor/echarts.esm.min.js

.PHONY: run test install prompts install-test-system install-system-fonts bench-deps lint typecheck imports clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

$(ECHARTS): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
	  echo "installing Debian package: npm"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q npm; \
	}
	npm ci --ignore-scripts --no-audit --no-fund
	cp node_modules/echarts/dist/echarts.esm.min.mjs $@
	cp node_modules/echarts/LICENSE web/vendor/echarts.LICENSE

install: $(STAMP) $(ECHARTS) prompts

# espeak-ng (Debian) speaks the prompts once; a deployment may set PARLEY_SIP_PROMPTS instead.
prompts: $(PROMPTS)

$(PROMPTS): signaling/telephony/prompt_texts.py | $(STAMP)
	@command -v espeak-ng >/dev/null 2>&1 || { \
	  echo "installing Debian package: espeak-ng"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q espeak-ng; \
	}
	rm -f signaling/telephony/prompts/*.wav
	$(BIN)/python -m signaling.telephony.build_prompts
	touch $(PROMPTS)

run: install install-system-fonts
	$(BIN)/parley db upgrade
	# Development: staff read the local notifier's outbox (invitation and signing codes); the
	# phone line answers softphones and SIPp on loopback (PARLEY_SIP_LISTEN= turns it off).
	PARLEY_DEV_OUTBOX=$${PARLEY_DEV_OUTBOX:-1} PARLEY_SIP_LISTEN=$${PARLEY_SIP_LISTEN-127.0.0.1:5060} \
	  $(BIN)/parley serve

install-system-fonts:
	@if [ ! -f $(CJK_FONT) ]; then \
	  echo "installing Debian package: fonts-wqy-zenhei"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q fonts-wqy-zenhei; \
	fi

install-test-system:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v ffprobe >/dev/null 2>&1 || missing="$$missing ffmpeg"; \
	command -v pdftotext >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	command -v sipp >/dev/null 2>&1 || missing="$$missing sip-tester"; \
	command -v baresip >/dev/null 2>&1 || missing="$$missing baresip"; \
	command -v espeak-ng >/dev/null 2>&1 || missing="$$missing espeak-ng"; \
	[ -f $(CJK_FONT) ] || missing="$$missing fonts-wqy-zenhei"; \
	command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

# Two pytest-xdist workers: the media tests in turn on one, the rest on the other
# (tests/conftest.py). TEST_WORKERS=0 runs everything in this process.
TEST_WORKERS ?= 2

test: install install-test-system
	$(BIN)/lint-imports
	$(BIN)/python -m tests.services
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

# Optional, for benchmarks only (never the test path): bench/media.py measures Janus Gateway in
# the same run as the media worker.
APT_BENCH_PACKAGES := janus

bench-deps:
	@command -v janus >/dev/null 2>&1 || { \
	  echo "installing Debian packages: $(APT_BENCH_PACKAGES)"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(APT_BENCH_PACKAGES); \
	}

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy

# The import contract in pyproject.toml ([tool.importlinter]); `make test` checks it first.
imports: install
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) var .pytest_cache node_modules $(ECHARTS) web/vendor/echarts.LICENSE
