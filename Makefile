# biaslab build. Knobs first: override on the command line or edit here for a
# cluster's modules, e.g.  make CC=mpicc BLAS_LIBS="-lopenblas" NETCDF_LIBS=...
CC          ?= mpicc
OPTFLAGS    ?= -O3 -g -fno-trapping-math
WARNFLAGS   ?= -Wall -Wextra -Wshadow -Wno-unused-parameter
NETCDF_CFLAGS ?= $(shell pkg-config --cflags netcdf 2>/dev/null)
NETCDF_LIBS ?= $(shell pkg-config --libs netcdf 2>/dev/null || echo -lnetcdf)
BLAS_LIBS   ?= -lopenblas
# OpenBLAS carries LAPACK; with another BLAS name it, e.g. LAPACK_LIBS=-llapack.
LAPACK_LIBS ?=
SCALAPACK_LIBS ?= -lscalapack-openmpi
INIH_LIBS   ?= -linih
ZLIB_LIBS   ?= -lz
GLPK_LIBS   ?= -lglpk
CUNIT_LIBS  ?= -lcunit
# Ranks used by `make run` and the MPI tests.
RANKS       ?= 2
# Set to 0 to skip installing missing Debian packages.
AUTO_DEPS   ?= 1
# Set to 0 to build with an MPI other than Open MPI (the tests assume it).
MPI_CHECK   ?= 1
# Packages to install: run (build and run) unless a goal builds or runs tests.
TEST_GOALS  := test mutants golden-refresh test-sanitize bin/test_unit bin/fuzz/% bin/sanitize/%
DEPS_FOR    ?= $(if $(filter $(TEST_GOALS),$(MAKECMDGOALS)),all,run)

override CC := $(if $(filter cc,$(CC)),mpicc,$(CC))
CPPFLAGS += -Iinclude -Ibin/gen $(NETCDF_CFLAGS) -D_GNU_SOURCE
# A call to an undeclared function is an error, whatever WARNFLAGS says: an
# implicit int-returning declaration of a pointer function crashes at run time.
# -ffp-contract=off: no compiler fuses a product and a sum into one FMA (gcc's
# -std=c11 implies it, clang's default does not), so results are the same
# bits whatever the compiler and whichever vector clone runs (src/linalg/gemm.c
# adds in OpenBLAS's order; test_gemm checks it bitwise).
CFLAGS   += -std=c11 -ffp-contract=off $(OPTFLAGS) $(WARNFLAGS) -Werror=implicit-function-declaration -MMD -MP
LDLIBS   += $(NETCDF_LIBS) $(SCALAPACK_LIBS) $(LAPACK_LIBS) $(BLAS_LIBS) $(INIH_LIBS) $(ZLIB_LIBS) $(GLPK_LIBS) -lm

# src/ holds the run's plumbing; src/<area>/ one folder per kind of piece
# (models, optim, data, metrics, reference, linalg, task)
SRC      := $(wildcard src/*.c src/*/*.c)
LIB_OBJ  := $(patsubst src/%.c,bin/obj/%.o,$(filter-out src/main.c,$(SRC)))
TEST_SRC := $(wildcard tests/unit/*.c)
TEST_OBJ := $(patsubst tests/unit/%.c,bin/obj/test_%.o,$(TEST_SRC))
VERSION  := 0.1.0
GIT_COMMIT := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

.PHONY: all deps run test bench clean golden-refresh

all: deps bin/biaslab

# Every compile waits for this (order-only prerequisites below), so `make -j`
# installs the packages before it compiles anything.
deps:
	@AUTO_DEPS=$(AUTO_DEPS) MPI_CHECK=$(MPI_CHECK) DEPS_FOR=$(DEPS_FOR) sh tools/install-deps.sh

bin/gen/bl_build_info.h: FORCE | deps
	@mkdir -p bin/gen
	@printf '#define BL_VERSION "%s"\n#define BL_GIT_COMMIT "%s"\n#define BL_BUILD_FLAGS "%s"\n' \
	  '$(VERSION)' '$(GIT_COMMIT)' '$(CC) $(OPTFLAGS)' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
FORCE:

bin/obj/%.o: src/%.c bin/gen/bl_build_info.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

bin/obj/test_%.o: tests/unit/%.c | deps
	@mkdir -p bin/obj
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

bin/biaslab: bin/obj/main.o $(LIB_OBJ)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

bin/test_unit: $(TEST_OBJ) $(LIB_OBJ)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS) $(CUNIT_LIBS)

# The README's first command: set up, build, run the default experiment.
# RUN_ARGS passes biaslab run options, e.g. RUN_ARGS="--set optim.steps=2000".
RUN_ARGS ?=
run: all
	bash jobs/run_local.sh $(RANKS) inputs/quickstart.ini $(RUN_ARGS)

# The README's second command: set up, build, run the whole suite.
test: deps bin/biaslab bin/test_unit
	BL_BLAS_LIBS='$(BLAS_LIBS)' bash tests/run_all.sh

# The benchmark (README "Benchmark"): bin/biaslab bench, then PyTorch on the
# same workloads when python3-torch is installed, then real mpirun runs (many
# tasks, ensemble and data-parallel scaling); a few minutes. BENCH_ARGS=--quick
# shrinks everything (a smoke test, not figures).
BENCH_ARGS ?=
bench: all
	bash tools/bench.sh $(BENCH_ARGS)

# Rewrite the pinned golden results (tests/golden/*.txt) from this build.
# Only on purpose: the commit that changes them must say why.
golden-refresh: deps bin/biaslab
	bash tests/golden/run.sh --refresh

# The mutation check: each deliberate bug in tests/mutants/*.patch, built in a
# scratch copy of the tree, must make the tests its header names fail (about
# 3 minutes). MUTANTS="03 07" runs some, MUTANTS=--all every catch command.
MUTANTS ?=
.PHONY: mutants
mutants: deps bin/biaslab bin/test_unit
	bash tests/mutants/run.sh $(MUTANTS)

clean:
	rm -rf bin

-include $(wildcard bin/obj/*.d bin/obj/*/*.d)

# ---- Hostile input: fuzzing, sanitizers, valgrind (tests/fuzz, tests/sanitize)
.PHONY: fuzz fuzz-build fuzz-replay test-sanitize valgrind-quickstart

# libFuzzer targets for the config parser and the data loaders, built with
# ASan and UBSan. `make fuzz` runs each for about FUZZ_SECONDS (a bounded
# run; the corpus in bin/fuzz/corpus grows from run to run), saves every
# crashing input in bin/fuzz/crashes/<target>/ and exits non-zero when one
# crashes biaslab's code. Crashes inside libnetcdf/libhdf5 are listed as
# third-party; FUZZ_STRICT=1 makes them fail the run too.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_FLAGS   ?= -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=undefined
FUZZ_BINS    := bin/fuzz/fuzz_config bin/fuzz/fuzz_idx bin/fuzz/fuzz_netcdf

bin/fuzz/fuzz_config: tests/fuzz/fuzz_config.c src/config.c src/log.c $(wildcard include/*.h tests/fuzz/*.h) | deps
	@mkdir -p bin/fuzz
	$(FUZZ_CC) -std=c11 -Iinclude -D_GNU_SOURCE $(FUZZ_FLAGS) $(filter %.c,$^) -o $@ \
	  $(INIH_LIBS) -lm

# fuzz_netcdf counts the loader's nc_open/nc_close calls through --wrap.
bin/fuzz/fuzz_netcdf: FUZZ_WRAP = -Wl,--wrap=nc_open -Wl,--wrap=nc_close
bin/fuzz/fuzz_idx bin/fuzz/fuzz_netcdf: bin/fuzz/%: tests/fuzz/%.c src/data/datafile.c src/log.c \
  $(wildcard include/*.h tests/fuzz/*.h) | deps
	@mkdir -p bin/fuzz
	$(FUZZ_CC) -std=c11 -Iinclude $(NETCDF_CFLAGS) -D_GNU_SOURCE $(FUZZ_FLAGS) \
	  $(filter %.c,$^) -o $@ $(FUZZ_WRAP) $(NETCDF_LIBS) $(ZLIB_LIBS) -lm

fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	bash tests/fuzz/run_fuzz.sh $(FUZZ_SECONDS)

# No fuzzing: run every seed (regression inputs among them) and the saved
# corpus through the targets once; a few seconds.
fuzz-replay: $(FUZZ_BINS)
	bash tests/fuzz/run_fuzz.sh 0

# The unit tests built from the same sources with ASan + UBSan (clang with
# the MPI wrapper's flags; the unit tests never call MPI_Init). Prints the
# same `unit-summary` line as bin/test_unit; non-zero exit on any failed
# test, sanitizer report or leak.
SAN_CC        ?= clang
SAN_FLAGS     ?= -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
                 -fno-sanitize-recover=undefined
SAN_MPI_CFLAGS ?= $(shell mpicc --showme:compile)
SAN_MPI_LIBS  ?= $(shell mpicc --showme:link)
SAN_OBJ := $(patsubst src/%.c,bin/sanitize/obj/%.o,$(filter-out src/main.c,$(SRC))) \
           $(patsubst tests/unit/%.c,bin/sanitize/obj/test_%.o,$(TEST_SRC))

bin/sanitize/obj/%.o: src/%.c bin/gen/bl_build_info.h
	@mkdir -p $(dir $@)
	$(SAN_CC) $(CPPFLAGS) $(SAN_MPI_CFLAGS) -std=c11 -ffp-contract=off $(SAN_FLAGS) $(WARNFLAGS) -MMD -MP -c $< -o $@

bin/sanitize/obj/test_%.o: tests/unit/%.c | deps
	@mkdir -p bin/sanitize/obj
	$(SAN_CC) $(CPPFLAGS) $(SAN_MPI_CFLAGS) -std=c11 -ffp-contract=off $(SAN_FLAGS) $(WARNFLAGS) -MMD -MP -c $< -o $@

bin/sanitize/test_unit: $(SAN_OBJ)
	$(SAN_CC) $(SAN_FLAGS) $^ -o $@ $(LDLIBS) $(CUNIT_LIBS) $(SAN_MPI_LIBS)

test-sanitize: bin/sanitize/test_unit
	bash tests/sanitize/run_unit.sh bin/sanitize/test_unit

# The shortened quickstart under valgrind, one MPI process (singleton).
valgrind-quickstart: bin/biaslab
	bash tests/sanitize/valgrind_quickstart.sh

-include $(wildcard bin/sanitize/obj/*.d bin/sanitize/obj/*/*.d)
