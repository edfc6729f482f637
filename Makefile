# eddylink — the two commands of the README are `make run` and `make test`.
# Both set everything up first (scripts/setup.sh is idempotent: seconds when done).

CONFIG      ?= configs/double_gyre_64.toml
OCEAN_RANKS ?= 2
ML_RANKS    ?= 1
# Tests that skip a check append why here (tests/src/skip.rs); `make test` prints it.
SKIP_LOG    := $(CURDIR)/target/test-skips.txt

.PHONY: run test setup build build-debug bench-coupler clean-out help

## run: set up, build (release), run the default coupled experiment and plot it
run: build
	jobs/local.sh $(CONFIG) $(OCEAN_RANKS) $(ML_RANKS)
	target/release/ocean-model plot $(CONFIG)

## test: set up and run every test (unit, validation, MPMD end-to-end), then list what was skipped and why
test: setup
	@mkdir -p target && rm -f $(SKIP_LOG)
	@status=0; EDDYLINK_SKIP_LOG=$(SKIP_LOG) cargo test --workspace || status=$$?; \
	if [ -s $(SKIP_LOG) ]; then echo "skipped ($$(wc -l < $(SKIP_LOG))):"; sort $(SKIP_LOG); \
	else echo "skipped: nothing"; fi; exit $$status

## setup: install MPI, libclang and libtorch into .venv when the system has none
setup:
	@bash scripts/setup.sh

build: setup
	cargo build --release --workspace --bins

## bench-coupler: put→get bandwidth against raw MPI (see docs/benchmarks.md)
bench-coupler: build
	jobs/bench-coupler.sh

clean-out:
	rm -rf out

help:
	@grep -E '^## ' Makefile | sed 's/^## //'
