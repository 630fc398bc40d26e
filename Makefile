# papscope — build and test. `make test` is what CI runs (.ci/run).

GO      ?= go
WASMEXEC = $(shell $(GO) env GOROOT)/lib/wasm/go_js_wasm_exec

.PHONY: all build test test-native test-wasm bench-go fuzz reference clean

all: build

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
