# papscope — build and test. `make test` is what CI runs (.ci/run).

GO      ?= go
WASMEXEC = $(shell $(GO) env GOROOT)/lib/wasm/go_js_wasm_exec

.PHONY: all run build test test-native test-wasm bench-go fuzz reference clean

all: build

## run: build and serve the site with the shipped weights at http://127.0.0.1:8080
# The site (web/, wasm/) and the shipped weights do not exist yet: they are the
# in-browser-classifier and training issues. Until then this says so and fails.
run:
	@if [ ! -f web/index.html ] || [ ! -f weights/papscope.safetensors ]; then \
		echo "make run: the site is not built yet: web/index.html and weights/papscope.safetensors arrive with the" >&2; \
		echo "in-browser classifier and the shipped weights. Today: make build, then bin/papscope classify -weights W IMAGE..." >&2; \
		exit 1; \
	fi

## build: the papscope CLI into bin/
build:
	$(GO) build -o bin/papscope ./cmd/papscope

## test: vet, every unit test natively, and the network's tests under WebAssembly (Node)
test: test-native test-wasm

test-native:
	$(GO) vet ./...
	$(GO) test ./...

# The browser runs nn compiled to wasm: run its tests there too (Node executes them).
test-wasm:
	GOOS=js GOARCH=wasm $(GO) test -exec "$(WASMEXEC)" ./nn ./safetensors ./tfjs

## bench-go: forward-pass and kernel benchmarks, native and under wasm (Node)
bench-go:
	$(GO) test -run '^$$' -bench . -count 5 ./nn
	GOOS=js GOARCH=wasm $(GO) test -exec "$(WASMEXEC)" -run '^$$' -bench . -count 5 ./nn

## fuzz: a minute of fuzzing for each parser
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 60s ./safetensors
	$(GO) test -run '^$$' -fuzz FuzzDecodeWeights -fuzztime 60s ./nn
	$(GO) test -run '^$$' -fuzz FuzzImport -fuzztime 60s ./tfjs

## reference: regenerate the TensorFlow.js reference fixtures (needs Node and npm)
reference:
	cd nn/testdata/tfjs && ./regen.sh

clean:
	rm -rf bin
