# The two commands a newcomer needs (see README.md):
#   make run    install what is missing, build (Release), start hotpathd with embedded defaults
#   make test   install what is missing, build (optimised, assertions on), run every test, then
#               again under ASan+UBSan, and fuzz each target for a few seconds
# Everything else here is a thin wrapper too; CMake and ctest do the work.

JOBS ?= $(shell nproc)
RELEASE_DIR ?= build/release
TEST_DIR ?= build/test
ASAN_DIR ?= build/asan
TSAN_DIR ?= build/tsan
FUZZ_SECONDS ?= 60
ARGS ?=
# ccache (CMakeLists.txt) hashes paths under the checkout as relative ones, so another clone of
# the same sources (a CI checkout, a worktree) reuses the cache. Debug info then names the
# directory of whichever clone compiled a file first.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1

.PHONY: bootstrap build run test asan-configure test-asan test-tsan fuzz-build fuzz-smoke fuzz bench bench-engine docker-check format clean

bootstrap:
	@bash scripts/bootstrap.sh

$(RELEASE_DIR)/CMakeCache.txt: | bootstrap
	cmake -S . -B $(RELEASE_DIR) -DCMAKE_BUILD_TYPE=Release

# Tests build RelWithDebInfo without NDEBUG: optimised, with HP_DCHECK/assert invariants checked.
$(TEST_DIR)/CMakeCache.txt: | bootstrap
	cmake -S . -B $(TEST_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g"

build: bootstrap $(RELEASE_DIR)/CMakeCache.txt
	cmake --build $(RELEASE_DIR) -j $(JOBS)

run: build
	$(RELEASE_DIR)/services/server/hotpathd $(ARGS)

test: bootstrap $(TEST_DIR)/CMakeCache.txt
	cmake --build $(TEST_DIR) -j $(JOBS)
	cd $(TEST_DIR) && ctest --output-on-failure -j $(JOBS)
	$(MAKE) test-asan
	$(MAKE) fuzz-smoke

# One clang build with ASan+UBSan serves the sanitizer suite, the fuzzers (tests/fuzz,
# HOTPATH_FUZZ=ON) and clang's -Wthread-safety analysis of every target (warnings are errors;
# CMakeLists.txt): the whole suite runs under the sanitizers (the e2e tests run the
# instrumented hotpathd), and libFuzzer's coverage instrumentation costs the tests little.
# Assertions stay on, as in the test build, so the analysis covers the code they compile too.
# Configured on every run (a no-op when nothing changed), so an older build/asan picks up
# these options.
asan-configure: bootstrap
	cmake -S . -B $(ASAN_DIR) -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g" -DHOTPATH_FUZZ=ON \
	  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined \
	  -fno-sanitize-recover=undefined -fno-omit-frame-pointer" > /dev/null

test-asan: asan-configure
	cmake --build $(ASAN_DIR) -j $(JOBS)
	cd $(ASAN_DIR) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS)

# The Dockerfile's image built without Docker (none runs on these machines): each stage in a
# debootstrap chroot, then the image run as its user, with the CLI and hotpath-check inside it
# (tests/docker/chroot_build.py; about 15 minutes, so not part of make test).
docker-check:
	@bash scripts/bootstrap.sh --docker
	/usr/bin/python3 tests/docker/chroot_build.py

# The whole suite under TSan, against abseil and gRPC built with TSan from Debian's sources
# (scripts/tsan.sh; the first run builds them: 11.5 minutes in all on two cores).
test-tsan:
	@bash scripts/bootstrap.sh --tsan
	bash scripts/tsan.sh $(TSAN_DIR)

# libFuzzer over what hotpathd reads from outside (tests/fuzz): a few seconds per target in
# `make test`, FUZZ_SECONDS each in `make fuzz`. Inputs that crash are left in
# $(ASAN_DIR)/crashes. The seed corpora stay as they are (new finds go to a copy).
fuzz-build: asan-configure
	cmake --build $(ASAN_DIR) -j $(JOBS) --target fuzzers

fuzz-smoke: fuzz-build
	bash scripts/fuzz.sh $(ASAN_DIR) 5

fuzz: fuzz-build
	bash scripts/fuzz.sh $(ASAN_DIR) $(FUZZ_SECONDS)

# The standard suite, hotpath side by side with Redis: rewrites docs/benchmarks.md and .png.
bench: build
	@bash scripts/bootstrap.sh --bench
	/usr/bin/python3 tools/bench/run_suite.py --build $(RELEASE_DIR) \
	  --hotpathd $(RELEASE_DIR)/services/server/hotpathd \
	  --bench $(RELEASE_DIR)/tools/bench/hotpath-bench

bench-engine: build
	for b in keyspace sorted_set hash stream; do $(RELEASE_DIR)/engine/$${b}_benchmark; done
	$(RELEASE_DIR)/persistence/store_benchmark
	$(RELEASE_DIR)/services/leaderboard/board_store_benchmark
	$(RELEASE_DIR)/services/session/session_store_benchmark

format:
	git ls-files '*.h' '*.cc' | xargs clang-format -i

clean:
	rm -rf build
