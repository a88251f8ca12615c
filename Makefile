# The two set-up commands: `make run` (the nightly job on the synthesised sample) and
# `make test` (every test). Both work on a fresh clone with only a Rust toolchain.

CARGO ?= cargo
BIN := $(or $(CARGO_TARGET_DIR),target)/release/burgerpeiling
SAMPLE := data/sample

.PHONY: build run test bench clean

build:
	$(CARGO) build --release --locked

# The sample inbox is synthesised once; delete data/sample to make it anew.
$(SAMPLE)/inbox: | build
	$(BIN) synth --out $(SAMPLE)

run: build $(SAMPLE)/inbox
	$(BIN) run --pipeline pipelines/nightly.toml

test:
	$(CARGO) test --locked

# Criterion benchmarks (not part of `make test`); the first run synthesises the corpus.
bench:
	$(CARGO) bench --locked

clean:
	rm -rf data/lake data/sample
