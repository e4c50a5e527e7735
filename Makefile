# biaslab build. Knobs first: override on the command line or edit here for a
# cluster's modules, e.g.  make CC=mpicc BLAS_LIBS="-lopenblas" NETCDF_LIBS=...
CC          ?= mpicc
OPTFLAGS    ?= -O3 -g -fno-trapping-math
WARNFLAGS   ?= -Wall -Wextra -Wshadow -Wno-unused-parameter
NETCDF_CFLAGS ?= $(shell pkg-config --cflags netcdf 2>/dev/null)
NETCDF_LIBS ?= $(shell pkg-config --libs netcdf 2>/dev/null || echo -lnetcdf)
BLAS_LIBS   ?= -lopenblas
SCALAPACK_LIBS ?= -lscalapack-openmpi
INIH_LIBS   ?= -linih
ZLIB_LIBS   ?= -lz
CUNIT_LIBS  ?= -lcunit
# Ranks used by `make run` and the MPI tests.
RANKS       ?= 2
# Set to 0 to skip installing missing Debian packages.
AUTO_DEPS   ?= 1

override CC := $(if $(filter cc,$(CC)),mpicc,$(CC))
CPPFLAGS += -Iinclude -Ibin/gen $(NETCDF_CFLAGS) -D_GNU_SOURCE
CFLAGS   += -std=c11 $(OPTFLAGS) $(WARNFLAGS) -MMD -MP
LDLIBS   += $(NETCDF_LIBS) $(SCALAPACK_LIBS) $(BLAS_LIBS) $(INIH_LIBS) $(ZLIB_LIBS) -lm

SRC      := $(wildcard src/*.c)
LIB_OBJ  := $(patsubst src/%.c,bin/obj/%.o,$(filter-out src/main.c,$(SRC)))
TEST_SRC := $(wildcard tests/unit/*.c)
TEST_OBJ := $(patsubst tests/unit/%.c,bin/obj/test_%.o,$(TEST_SRC))
VERSION  := 0.1.0
GIT_COMMIT := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

.PHONY: all deps run test bench clean

all: deps bin/biaslab

deps:
	@AUTO_DEPS=$(AUTO_DEPS) sh tools/install-deps.sh

bin/gen/bl_build_info.h: FORCE
	@mkdir -p bin/gen
	@printf '#define BL_VERSION "%s"\n#define BL_GIT_COMMIT "%s"\n#define BL_BUILD_FLAGS "%s"\n' \
	  '$(VERSION)' '$(GIT_COMMIT)' '$(CC) $(OPTFLAGS)' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
FORCE:

bin/obj/%.o: src/%.c bin/gen/bl_build_info.h
	@mkdir -p bin/obj
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

bin/obj/test_%.o: tests/unit/%.c
	@mkdir -p bin/obj
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

bin/biaslab: bin/obj/main.o $(LIB_OBJ)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

bin/test_unit: $(TEST_OBJ) $(LIB_OBJ)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS) $(CUNIT_LIBS)

# The README's first command: set up, build, run the default experiment.
run: all
	bash jobs/run_local.sh $(RANKS) inputs/quickstart.ini

# The README's second command: set up, build, run the whole suite.
test: deps bin/biaslab bin/test_unit
	bash tests/run_all.sh

bench: all
	bin/biaslab bench

clean:
	rm -rf bin

-include $(wildcard bin/obj/*.d)
