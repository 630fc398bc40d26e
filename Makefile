# papscope — build and test. `make test` is what CI runs (.ci/run).

GO      ?= go
# The project needs Go 1.27.3 (go.mod; wasm SIMD). A machine starts on its own Go with GOTOOLCHAIN=local:
# the go command fetches 1.27.3 from the module proxy once (about 76 MB, seconds).
export GOTOOLCHAIN = go1.27.3
# Native builds, tests and benchmarks use Go's SIMD package (simd/archsimd, AVX-512 kernels in internal/kernel/);
# the scalar kernels stay the reference and the path elsewhere (test-native runs them too). Not for wasm.
NATIVE   = GOEXPERIMENT=simd
WASMEXEC = $(shell $(GO) env GOROOT)/lib/wasm/go_js_wasm_exec
# The browser gets two builds of wasm/: papscope.wasm with WebAssembly SIMD128 kernels (GOEXPERIMENT=simd),
# fetched by every browser that validates a SIMD module, and papscope-scalar.wasm, the scalar kernels, for
# the rest (web/loader.js chooses). nojsonv2 keeps Go 1.27's encoding/json on its own code instead of the
# json/v2 layer it otherwise links (+280 kB gzipped for the same behaviour).
WASM_SIMD   = GOOS=js GOARCH=wasm GOEXPERIMENT=simd,nojsonv2
WASM_SCALAR = GOOS=js GOARCH=wasm GOEXPERIMENT=nojsonv2

.PHONY: weights all run build test test-native test-wasm test-e2e chromium bench bench-go bench-train fuzz reference clean

all: build

## run: build the site and serve it at http://127.0.0.1:$(PORT) (this machine only; Ctrl-C stops).
## PORT=8081 picks another port; ADDR=0.0.0.0:8080 serves the LAN too (see the README: offline use needs HTTPS there)
PORT ?= 8080
ADDR ?= 127.0.0.1:$(PORT)
run: build
	bin/papscope serve -addr $(ADDR) -dir web

## build: the papscope CLI into bin/, and the site (see site)
build: site
	@echo "make: the papscope CLI is in bin/papscope; the site is in web/ (make run serves it)"

## site: the static site in web/, ready to publish: the wasm (-s -w), the Go toolchain's
## wasm_exec.js, the shipped weights, the teaching cases and the service worker's cache version.
## The cases: CASES=DIR (a teacher's folder per class or cases.csv), else the real LBC fields
## listed in web/samples.csv, copied from LBC_DATA; without either, a site with no bundled examples.
LBC_DATA ?= ../shared/data/lbc
CASES ?=
.PHONY: site
site:
	@echo "make: compiling the browser's papscope.wasm (the first build fetches and compiles the dependencies: a minute or two)"
	$(WASM_SIMD) $(GO) build -v -ldflags="-s -w" -trimpath -o web/papscope.wasm ./wasm
	$(WASM_SCALAR) $(GO) build -ldflags="-s -w" -trimpath -o web/papscope-scalar.wasm ./wasm
	cp "$$($(GO) env GOROOT)/lib/wasm/wasm_exec.js" web/wasm_exec.js
	cp weights/papscope.safetensors web/papscope.safetensors
	@echo "make: compiling the papscope CLI into bin/ (the first build compiles the trainer too: a few minutes more)"
	$(NATIVE) $(GO) build -v -o bin/papscope ./cmd/papscope
	@echo "make: adding the teaching cases to web/samples/"
	@if [ -n "$(CASES)" ]; then \
		echo "bin/papscope site -o web -cases \"$(CASES)\""; bin/papscope site -o web -cases "$(CASES)"; \
	elif [ -f "$(LBC_DATA)/manifest.csv" ]; then \
		echo "bin/papscope site -o web -cases \"$(LBC_DATA)\" -list web/samples.csv"; bin/papscope site -o web -cases "$(LBC_DATA)" -list web/samples.csv; \
	else \
		echo "make: no LBC data in $(LBC_DATA) (set LBC_DATA=DIR, or CASES=DIR): the site is built without bundled examples"; \
		bin/papscope site -o web; \
	fi

## test: vet, the unit tests natively and under WebAssembly (Node), then the browser tests.
## Installs Chromium and Debian's PyTorch first when missing (as root with apt-get), else says how.
test: chromium torch test-native test-wasm test-e2e

# Every package but e2e: the browser tests run in test-e2e, after the site is built.
UNIT_PKGS = $(shell $(GO) list ./... | grep -v '/e2e$$')

test-native:
	$(NATIVE) $(GO) vet ./...
	$(NATIVE) $(GO) test $(UNIT_PKGS)
	@echo "make: the kernels and the trainer again without SIMD (the scalar reference and other architectures' path)"
	$(GO) test ./internal/kernel ./train

# The browser runs nn compiled to wasm: run its tests there too (Node executes them), with the SIMD128
# kernels and, for the kernels and the network, again with the scalar ones the fallback build runs.
test-wasm:
	$(WASM_SIMD) $(GO) test -exec "$(WASMEXEC)" ./internal/kernel ./nn ./safetensors ./tfjs ./internal/bridge ./internal/imagehead ./internal/results ./internal/heatmap ./internal/modelcard ./wasm
	$(WASM_SCALAR) $(GO) test -exec "$(WASMEXEC)" ./internal/kernel ./nn

## test-e2e: build the site, serve it on 127.0.0.1 and drive headless Chromium through it (e2e/)
test-e2e: chromium build
	$(GO) test -count=1 -timeout 20m ./e2e

## chromium: install Debian's Chromium for the browser tests if there is none (CHROME overrides)
chromium:
	@if [ -n "$$CHROME" ] || command -v chromium >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "make: installing Chromium (Debian's package) for the browser tests"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	else \
		echo "make: the browser tests need Chromium and there is none. Install it with" >&2; \
		echo "  sudo apt-get update && sudo apt-get install -y chromium" >&2; \
		echo "or set CHROME=/path/to/chrome-or-chromium." >&2; \
		exit 1; \
	fi

## torch: install Debian's PyTorch and Pillow (python3-torch, python3-pil) for the PyTorch twin's tests
## (torchimport/, cmd/papscope/) when /usr/bin/python3 cannot import them. PAPSCOPE_PYTHON=/path/to/python
## uses another Python (which must have torch and PIL); PAPSCOPE_NO_TORCH=1 skips those tests and this.
.PHONY: torch
torch:
	@if [ "$$PAPSCOPE_NO_TORCH" = 1 ]; then exit 0; fi; \
	py="$${PAPSCOPE_PYTHON:-/usr/bin/python3}"; \
	if "$$py" -c 'import torch, PIL' >/dev/null 2>&1; then exit 0; fi; \
	if [ -z "$$PAPSCOPE_PYTHON" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "make: installing PyTorch and Pillow (Debian's python3-torch, python3-pil) for the PyTorch twin's tests"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y python3-torch python3-pil && \
		"$$py" -c 'import torch, PIL; print("make: PyTorch " + torch.__version__ + " is installed")'; \
	else \
		echo "make: the PyTorch twin's tests (torchimport/, cmd/papscope/) need $$py with PyTorch and Pillow, and it cannot import them. Install them with" >&2; \
		echo "  sudo apt-get update && sudo apt-get install -y python3-torch python3-pil" >&2; \
		echo "or set PAPSCOPE_PYTHON=/path/to/python3 (one with torch and PIL), or PAPSCOPE_NO_TORCH=1 to skip those tests." >&2; \
		exit 1; \
	fi

## bench: the browser benchmark: papscope's worker, with each wasm build (papscope.wasm, SIMD, and
## papscope-scalar.wasm), and TensorFlow.js (pinned in bench/tfjs) on the same 299x299 network and weights
## in headless Chromium; one JSON line, then a table with a column per build (about 4 minutes)
bench: chromium build
	cd bench/tfjs && npm ci --no-audit --no-fund
	$(GO) run ./bench

## bench-go: forward-pass and kernel benchmarks natively, then as wasm under Node and in
## headless Chromium (bench/gotest runs the wasm test binary in a page), the SIMD and the scalar build
bench-go: chromium
	$(NATIVE) $(GO) test -run '^$$' -bench . -count 5 ./nn
	$(WASM_SIMD) $(GO) test -exec "$(WASMEXEC)" -run '^$$' -bench . -count 5 ./nn
	$(GO) build -o bin/gotest-chromium ./bench/gotest
	$(WASM_SIMD) $(GO) test -exec "$(CURDIR)/bin/gotest-chromium" -run '^$$' -bench . -count 5 ./internal/kernel ./nn
	$(WASM_SCALAR) $(GO) test -exec "$(CURDIR)/bin/gotest-chromium" -run '^$$' -bench . -count 5 ./internal/kernel ./nn

## bench-train: one Adam step of the network in papscope's trainer and in PyTorch (bench/torch/step.py): same
## initial weights, batch and threads, at 96, 128 and 224 px, batch 32. It first checks that both compute the
## same loss and gradients (in float64 on both sides, 1e-4 relative), then times them: one JSON line, then a
## table (about 5 minutes on 2 cores). Installs Debian's PyTorch first when missing (see torch).
bench-train: torch
	$(NATIVE) $(GO) run ./bench/train

## weights: the shipped weights, from the real LBC fields in LBC_DATA (see weights/MODEL_CARD.md): the recipe
## cross-validated by slide (4 folds, and by image for contrast), then trained on every slide and calibrated on
## the out-of-fold outputs. Writes weights/papscope.safetensors, weights/cv.json and weights/confusion.png.
## About 55 minutes on 2 cores; resumable (rerun continues from build/cv).
RECIPE = -size 128 -batch 32 -epochs 12 -patience 5 -val 0.15 -lr 0.001 -schedule constant -augment light -jpeg-quality 75 -crop 0.5 -seed 1
weights:
	@test -f "$(LBC_DATA)/manifest.csv" || { echo "make weights: no LBC data in $(LBC_DATA) (set LBC_DATA=DIR)" >&2; exit 1; }
	$(NATIVE) $(GO) build -o bin/papscope ./cmd/papscope
	bin/papscope cv -data "$(LBC_DATA)" -folds 4 $(RECIPE) -work build/cv -json -plot weights/confusion.png \
		-data-kind real -describe "Mendeley LBC Pap smear fields (Hussain 2019, doi:10.17632/zddtpgzv63.4, CC BY 4.0; 512x512 derivative)" \
		-o weights/papscope.safetensors > weights/cv.json

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
