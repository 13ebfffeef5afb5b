# The two commands a newcomer needs (see README.md):
#   make run    install what is missing, build (Release), start hotpathd with embedded defaults
#   make test   install what is missing, build (optimised, assertions on), run every test
# Everything else here is a thin wrapper too; CMake and ctest do the work.

JOBS ?= $(shell nproc)
RELEASE_DIR ?= build/release
TEST_DIR ?= build/test
THREADS_DIR ?= build/clang
FUZZ_DIR ?= build/fuzz
ASAN_DIR ?= build/asan
FUZZ_SECONDS ?= 60
ARGS ?=

.PHONY: bootstrap build run test test-asan check-threads fuzz-build fuzz-smoke fuzz bench bench-engine format clean

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

test: bootstrap $(TEST_DIR)/CMakeCache.txt check-threads
	cmake --build $(TEST_DIR) -j $(JOBS)
	cd $(TEST_DIR) && ctest --output-on-failure -j $(JOBS)
	$(MAKE) fuzz-smoke

# The whole suite under ASan+UBSan (clang; the e2e tests run the instrumented hotpathd).
# Slower than `make test`: run it before landing memory work. (No TSan target: Debian's
# abseil is not built for TSan, so it cannot see absl::Mutex order every access relies on, and
# reports each of them as a race.)
$(ASAN_DIR)/CMakeCache.txt: | bootstrap
	cmake -S . -B $(ASAN_DIR) -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined \
	  -fno-omit-frame-pointer"

test-asan: bootstrap $(ASAN_DIR)/CMakeCache.txt
	cmake --build $(ASAN_DIR) -j $(JOBS)
	cd $(ASAN_DIR) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS)

# libFuzzer over what hotpathd reads from outside (tests/fuzz), with ASan and UBSan: a few
# seconds per target in `make test`, FUZZ_SECONDS each in `make fuzz`. Inputs that crash are
# left in $(FUZZ_DIR)/crashes. The seed corpora stay as they are (new finds go to a copy).
$(FUZZ_DIR)/CMakeCache.txt: | bootstrap
	cmake -S . -B $(FUZZ_DIR) -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DHOTPATH_FUZZ=ON -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined \
	  -fno-sanitize-recover=undefined -fno-omit-frame-pointer"

fuzz-build: bootstrap $(FUZZ_DIR)/CMakeCache.txt
	cmake --build $(FUZZ_DIR) -j $(JOBS) --target fuzzers

fuzz-smoke: fuzz-build
	bash scripts/fuzz.sh $(FUZZ_DIR) 5

fuzz: fuzz-build
	bash scripts/fuzz.sh $(FUZZ_DIR) $(FUZZ_SECONDS)

# clang's -Wthread-safety analysis over every library hotpathd links (warnings are errors).
$(THREADS_DIR)/CMakeCache.txt: | bootstrap
	cmake -S . -B $(THREADS_DIR) -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug

check-threads: bootstrap $(THREADS_DIR)/CMakeCache.txt
	cmake --build $(THREADS_DIR) -j $(JOBS) --target hotpathd

# The standard suite, hotpath side by side with Redis: rewrites docs/benchmarks.md and .png.
bench: build
	@bash scripts/bootstrap.sh --bench
	/usr/bin/python3 tools/bench/run_suite.py --build $(RELEASE_DIR) \
	  --hotpathd $(RELEASE_DIR)/services/server/hotpathd \
	  --bench $(RELEASE_DIR)/tools/bench/hotpath-bench

bench-engine: build
	for b in keyspace sorted_set hash stream; do $(RELEASE_DIR)/engine/$${b}_benchmark; done
	$(RELEASE_DIR)/persistence/store_benchmark

format:
	git ls-files '*.h' '*.cc' | xargs clang-format -i

clean:
	rm -rf build
