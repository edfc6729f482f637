# eddylink — the two commands of the README are `make run` and `make test`.
# Both set everything up first (scripts/setup.sh is idempotent: seconds when done).

# the default experiment: the FullyCNN trained on this ocean (configs/double_gyre_64.toml is
# the same ocean with the analytic backscatter, the fast baseline most tests use)
CONFIG      ?= configs/double_gyre_64_learned.toml
OCEAN_RANKS ?= 2
ML_RANKS    ?= 1
# Tests that skip a check append why here (tests/src/skip.rs); `make test` prints it.
SKIP_LOG    := $(CURDIR)/target/test-skips.txt
# the settings the shipped weights were trained with (weights/double_gyre_64_fullycnn.md)
TRAIN_ARGS  ?= --epochs 12 --decay-at 7,10 --batch 4 --checkpoints out/closure/train_ckpt

CAPI_DIR    ?= $(CURDIR)/target/capi

.PHONY: run test setup build build-debug capi bench-coupler truth train evaluate tune stability clean-out help

## run: set up, build (release), run the default coupled experiment and plot it
run: build
	jobs/local.sh $(CONFIG) $(OCEAN_RANKS) $(ML_RANKS)
	target/release/ocean-model plot $(CONFIG)

## test: set up and run every test (unit, validation, MPMD end-to-end), then list what was skipped and why
test: setup
	@mkdir -p target && rm -f $(SKIP_LOG)
	@# `cargo test` builds coupler-capi's rlib only: the C and Fortran toys link its libeddylink.so
	cargo build -p coupler-capi --lib
	@status=0; EDDYLINK_SKIP_LOG=$(SKIP_LOG) cargo test --workspace || status=$$?; \
	if [ -s $(SKIP_LOG) ]; then echo "skipped ($$(wc -l < $(SKIP_LOG))):"; sort $(SKIP_LOG); \
	else echo "skipped: nothing"; fi; exit $$status

## setup: install MPI, libclang and libtorch into .venv when the system has none
setup:
	@bash scripts/setup.sh

build: setup
	cargo build --release --workspace --bins

## capi: the C/Fortran library, eddylink.h, eddylink.f90 and eddylink.pc in $(CAPI_DIR) (docs/fortran.md)
capi: setup
	cargo build --release -p coupler-capi
	@mkdir -p $(CAPI_DIR)/lib/pkgconfig $(CAPI_DIR)/include $(CAPI_DIR)/fortran
	cp target/release/libeddylink.a target/release/libeddylink.so $(CAPI_DIR)/lib/
	cp coupler-capi/include/eddylink.h $(CAPI_DIR)/include/
	cp coupler-capi/fortran/eddylink.f90 $(CAPI_DIR)/fortran/
	@mpi_libs=$$(sed -n 's/^EDDYLINK_MPI_LIBDIRS = "\(.*\)"/\1/p' .cargo/config.toml | tr ':' '\n' | sed '/^$$/d; s/^/-L/' | paste -sd' ' -); \
	printf '%s\n' "prefix=$(CAPI_DIR)" 'libdir=$${prefix}/lib' 'includedir=$${prefix}/include' '' \
	  'Name: eddylink' "Description: C ABI of eddylink's coupler (docs/fortran.md)" 'Version: 0.1.0' \
	  'Cflags: -I$${includedir}' 'Libs: -L$${libdir} -leddylink -Wl,-rpath,$${libdir}' \
	  "Libs.private: $$mpi_libs -lmpi -lpthread -ldl -lm" > $(CAPI_DIR)/lib/pkgconfig/eddylink.pc
	@echo "eddylink C/Fortran library in $(CAPI_DIR): see docs/fortran.md"

## bench-coupler: put→get bandwidth against raw MPI (see docs/benchmarks.md)
bench-coupler: build
	jobs/bench-coupler.sh

clean-out:
	rm -rf out

help:
	@grep -E '^## ' Makefile | sed 's/^## //'

## truth: the learned closure's 15 km truth and its coarse-grained samples (about 1.5 h on 2 cores)
truth: build
	scripts/closure_truth.sh

## train: train the FullyCNN on the coarse samples; writes weights/double_gyre_64_fullycnn.*
train: build
	target/release/closure train --data out/closure/coarse_a.nc --data out/closure/coarse_b.nc \
	  --out weights/double_gyre_64_fullycnn.safetensors $(TRAIN_ARGS)

## evaluate: run the closures online over the test period and score them (docs/science.md)
evaluate: build
	scripts/closure_evaluate.sh

## tune: choose the learned closure's forcing_factor on the training period (about 30 min)
tune: build
	scripts/closure_tune.sh

## stability: 10-year online runs of the learned closure, mean and stochastic (about 1 h each)
stability: build
	scripts/closure_stability.sh
