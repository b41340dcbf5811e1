# The front door. `make demo` and `make test` are the two commands in the README.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all build demo test test-sanitize fuzz bench clean install conformance

all: build

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

demo:
	@scripts/deps.sh build
	@$(MAKE) --no-print-directory build >/dev/null
	$(BUILD)/synack demo

# Every test layer this machine allows.
test:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# Every public packetdrill script in ../shared/packetdrill/scripts, each with
# its profile; a table per corpus and category; fails below tests/packetdrill/FLOOR.
# Without the scripts (exit 77) it says so and succeeds.
conformance:
	@$(MAKE) --no-print-directory build >/dev/null
	@scripts/conformance.sh $(BUILD)/synack || [ $$? -eq 77 ]

# Every benchmark, synack beside the Linux kernel in the same run; one table,
# and the figures in $(BUILD)/bench/results.json. BENCH_QUICK=1 for a short run.
bench:
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory build >/dev/null
	sh bench/run.sh $(BUILD)

# The same tests built with AddressSanitizer and UndefinedBehaviorSanitizer.
test-sanitize:
	@scripts/deps.sh test
	cmake -S . -B build-asan -DSN_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang >/dev/null
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ctest --output-on-failure -j $(JOBS)

# Bounded libFuzzer runs of every fuzz target (FUZZ_SECONDS each).
FUZZ_SECONDS ?= 60
fuzz:
	@scripts/deps.sh test
	cmake -S . -B build-fuzz -DSN_FUZZ=ON -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build build-fuzz -j $(JOBS)
	@for f in build-fuzz/tests/fuzz_*; do \
		name=$$(basename $$f); \
		echo "== $$name ($(FUZZ_SECONDS) s)"; \
		mkdir -p build-fuzz/corpus/$$name; \
		if ! $$f -max_total_time=$(FUZZ_SECONDS) -timeout=10 -print_final_stats=1 \
			build-fuzz/corpus/$$name >build-fuzz/$$name.log 2>&1; then \
			tail -40 build-fuzz/$$name.log; echo "FUZZ FAILED: $$name"; exit 1; \
		fi; \
		grep -E "stat::number_of_executed_units|Done" build-fuzz/$$name.log | tail -2; \
	done

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) build-asan build-fuzz
