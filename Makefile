# make demo   install what is missing, build, run the demo (two replicas converge offline)
# make test   install what is missing, build, run every suite through ctest, then the core
#             suites again under AddressSanitizer + UndefinedBehaviorSanitizer
# make bench  run the benchmarks and print their figures
# make fuzz   build the libFuzzer targets with clang and run each for FUZZ_SECONDS
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 60
CMAKE_FLAGS ?=

.PHONY: all deps build build-asan test test-release test-asan demo bench fuzz clean format

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	@cmake --build build -j $(JOBS)

build-asan: deps
	@cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTOPO_SANITIZE=ON -DTOPO_BUILD_TOOLS=OFF $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-asan -j $(JOBS)

test-release: build
	@cd build && ctest --output-on-failure -j $(JOBS)

# The core suites under sanitizers; the convergence property test runs 64 seeds there
# (all 1,000 run in the release build above).
test-asan: build-asan
	@cd build-asan && TOPO_CONVERGENCE_CASES=64 ctest --output-on-failure -j $(JOBS) -L 'util|crypto|codec|graph|store|object|sync|net|node|api|apps'

test: test-release test-asan

demo: build
	@scripts/demo.sh

bench: build
	@build/bin/topo-bench all

fuzz: deps
	@CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTOPO_FUZZ=ON >/dev/null
	@cmake --build build-fuzz -j $(JOBS)
	@scripts/fuzz.sh build-fuzz/bin $(FUZZ_SECONDS)

format:
	@find src tests bench fuzz -name '*.cc' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf build build-asan build-fuzz
