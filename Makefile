# Two commands do all the set-up on a fresh machine:
#   make demo   install and start the app on the built-in demo
#   make test   install what the tests need and run them
# and one long check:
#   make fuzz   the property-based tests with the "fuzz" profile (13,000 generated cases)
PY ?= python3
PIP = $(PY) -m pip install --quiet --disable-pip-version-check --root-user-action=ignore
PORT ?= 8501

.PHONY: demo test fuzz install install-test chromium

install:
	$(PIP) -r requirements.txt

demo: install
	$(PY) -m streamlit run app.py --server.port=$(PORT) --server.headless=true

# CPU torch first when none is installed: an open range would pull a multi-GB CUDA build
install-test:
	$(PY) -c "import torch" 2>/dev/null || $(PIP) torch==2.13.0
	$(PIP) -r requirements.txt -r requirements-dev.txt

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
	  >/dev/null || echo "warning: could not install chromium; the browser test will skip"; }

test: install-test chromium
	$(PY) -m pytest -q

# pytest's exit status is kept; the last line sums hypothesis' per-test statistics
fuzz: install-test
	@log=$$(mktemp); HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest -q tests/test_fuzz.py \
	  --hypothesis-show-statistics >$$log 2>&1; status=$$?; \
	grep -E "^tests/|passing examples|Stopped|passed|failed" $$log; \
	awk '/passing examples/ {p += $$2; f += $$5} END {print "fuzz: " p " passing, " f " failing examples"}' $$log; \
	rm -f $$log; exit $$status
