//go:build goexperiment.simd

#include "textflag.h"

// WebAssembly SIMD128 micro-kernel of Gemm (gemm_wasm.go). Go 1.27's wasm
// assembler is a stack machine over typed locals: R0…R15 are i64, V0…V15
// v128; a memory access takes an i32 address from the stack. Two of its
// defects are stepped around: V128Load32Splat is misencoded (so a broadcast
// is F32Load then F32x4Splat), and an offset on V128Store is dropped (so each
// store's address is computed in full). Relaxed SIMD's fused multiply-add is
// misencoded too (and would break the bitwise match with the scalar form).

// func strip2x16(a0, a1, b *float32, ldb uintptr, k, tiles int, out *float32, ldo uintptr, ep *wasmEpilogue)
//
// For tiles t = 0…tiles-1 and rows r = 0, 1: out[r·ldo + 64t …+64] (bytes)
// = ep(Σ_d a_r[d] · b[d·ldb + 64t …+64]), summed in order of d with a
// multiply then an add per step (bitwise the scalar loop's), then the
// epilogue in the scalar form's order. The loop along d is unrolled four
// times (k is a multiple of 4, at least 4). b's values are loaded where they
// are used: the engine folds the loads into the multiplies.
//
// Locals: R0 R1 the rows of a; R2 R3 R13 the epilogue's bias, scale and
// shift at this tile (0 for none), R12 its flags; R4 b at this tile; R5 ldb;
// R6 k; R7 tiles left; R8 out at this tile; R9 ldo; R10 R11 the rows of a at
// step d; R14 b's row d; R15 steps left. V0…V7 the 2×16 accumulators (row r
// in V4r…V4r+3), V8 a broadcast value, V9 zeros.

TEXT ·strip2x16(SB), NOSPLIT, $0-72
	MOVD a0+0(FP), R0
	MOVD a1+8(FP), R1
	MOVD b+16(FP), R4
	MOVD ldb+24(FP), R5
	MOVD k+32(FP), R6
	MOVD tiles+40(FP), R7
	MOVD out+48(FP), R8
	MOVD ldo+56(FP), R9
	MOVD ep+64(FP), R2
	// The epilogue: R2 bias, R3 scale, R13 shift (0 for none), R12 flags.
	Get R2
	I32WrapI64
	I64Load $24
	Set R12
	Get R2
	I32WrapI64
	I64Load $16
	Set R13
	Get R2
	I32WrapI64
	I64Load $8
	Set R3
	Get R2
	I32WrapI64
	I64Load $0
	Set R2
	I32Const $0
	I32x4Splat
	Set V9 // zeros, for the ReLU
	Loop // over tiles of 16 columns
		Get V9
		Tee V0
		Tee V1
		Tee V2
		Tee V3
		Tee V4
		Tee V5
		Tee V6
		Set V7
		Get R0
		Set R10
		Get R1
		Set R11
		Get R4
		Set R14
		Get R6
		Set R15
		Loop // along k, four steps at a time
			// step d+0
			Get R10
			I32WrapI64
			F32Load $0
			F32x4Splat
			Set V8
			Get V8
			Get R14
			I32WrapI64
			V128Load $0
			F32x4Mul
			Get V0
			F32x4Add
			Set V0
			Get V8
			Get R14
			I32WrapI64
			V128Load $16
			F32x4Mul
			Get V1
			F32x4Add
			Set V1
			Get V8
			Get R14
			I32WrapI64
			V128Load $32
			F32x4Mul
			Get V2
			F32x4Add
			Set V2
			Get V8
			Get R14
			I32WrapI64
			V128Load $48
			F32x4Mul
			Get V3
			F32x4Add
			Set V3
			Get R11
			I32WrapI64
			F32Load $0
			F32x4Splat
			Set V8
			Get V8
			Get R14
			I32WrapI64
			V128Load $0
			F32x4Mul
			Get V4
			F32x4Add
			Set V4
			Get V8
			Get R14
			I32WrapI64
			V128Load $16
			F32x4Mul
			Get V5
			F32x4Add
			Set V5
			Get V8
			Get R14
			I32WrapI64
			V128Load $32
			F32x4Mul
			Get V6
			F32x4Add
			Set V6
			Get V8
			Get R14
			I32WrapI64
			V128Load $48
			F32x4Mul
			Get V7
			F32x4Add
			Set V7
			Get R14
			Get R5
			I64Add
			Set R14
			// step d+1
			Get R10
			I32WrapI64
			F32Load $4
			F32x4Splat
			Set V8
			Get V8
			Get R14
			I32WrapI64
			V128Load $0
			F32x4Mul
			Get V0
			F32x4Add
			Set V0
			Get V8
			Get R14
			I32WrapI64
			V128Load $16
			F32x4Mul
			Get V1
			F32x4Add
			Set V1
			Get V8
			Get R14
			I32WrapI64
			V128Load $32
			F32x4Mul
			Get V2
			F32x4Add
			Set V2
			Get V8
			Get R14
			I32WrapI64
			V128Load $48
			F32x4Mul
			Get V3
			F32x4Add
			Set V3
			Get R11
			I32WrapI64
			F32Load $4
			F32x4Splat
			Set V8
			Get V8
			Get R14
			I32WrapI64
			V128Load $0
			F32x4Mul
			Get V4
			F32x4Add
			Set V4
			Get V8
			Get R14
			I32WrapI64
			V128Load $16
			F32x4Mul
			Get V5
			F32x4Add
			Set V5
			Get V8
			Get R14
			I32WrapI64
			V128Load $32
			F32x4Mul
			Get V6
			F32x4Add
			Set V6
			Get V8
			Get R14
			I32WrapI64
			V128Load $48
			F32x4Mul
			Get V7
			F32x4Add
			Set V7
			Get R14
			Get R5
			I64Add
			Set R14
			// step d+2
			Get R10
			I32WrapI64
			F32Load $8
			F32x4Splat
			Set V8
			Get V8
			Get R14
			I32WrapI64
			V128Load $0
			F32x4Mul
			Get V0
			F32x4Add
			Set V0
			Get V8
			Get R14
			I32WrapI64
			V128Load $16
			F32x4Mul
			Get V1
			F32x4Add
			Set V1
			Get V8
			Get R14
			I32WrapI64
			V128Load $32
			F32x4Mul
			Get V2
			F32x4Add
			Set V2
			Get V8
			Get R14
			I32WrapI64
			V128Load $48
			F32x4Mul
			Get V3
			F32x4Add
			Set V3
			Get R11
			I32WrapI64
			F32Load $8
			F32x4Splat
			Set V8
			Get V8
			Get R14
			I32WrapI64
			V128Load $0
			F32x4Mul
			Get V4
			F32x4Add
			Set V4
			Get V8
			Get R14
			I32WrapI64
			V128Load $16
			F32x4Mul
			Get V5
			F32x4Add
			Set V5
			Get V8
			Get R14
			I32WrapI64
			V128Load $32
			F32x4Mul
			Get V6
			F32x4Add
			Set V6
			Get V8
			Get R14
			I32WrapI64
			V128Load $48
			F32x4Mul
			Get V7
			F32x4Add
			Set V7
			Get R14
			Get R5
			I64Add
			Set R14
			// step d+3
			Get R10
			I32WrapI64
			F32Load $12
			F32x4Splat
			Set V8
			Get V8
			Get R14
			I32WrapI64
			V128Load $0
			F32x4Mul
			Get V0
			F32x4Add
			Set V0
			Get V8
			Get R14
			I32WrapI64
			V128Load $16
			F32x4Mul
			Get V1
			F32x4Add
			Set V1
			Get V8
			Get R14
			I32WrapI64
			V128Load $32
			F32x4Mul
			Get V2
			F32x4Add
			Set V2
			Get V8
			Get R14
			I32WrapI64
			V128Load $48
			F32x4Mul
			Get V3
			F32x4Add
			Set V3
			Get R11
			I32WrapI64
			F32Load $12
			F32x4Splat
			Set V8
			Get V8
			Get R14
			I32WrapI64
			V128Load $0
			F32x4Mul
			Get V4
			F32x4Add
			Set V4
			Get V8
			Get R14
			I32WrapI64
			V128Load $16
			F32x4Mul
			Get V5
			F32x4Add
			Set V5
			Get V8
			Get R14
			I32WrapI64
			V128Load $32
			F32x4Mul
			Get V6
			F32x4Add
			Set V6
			Get V8
			Get R14
			I32WrapI64
			V128Load $48
			F32x4Mul
			Get V7
			F32x4Add
			Set V7
			Get R14
			Get R5
			I64Add
			Set R14
			Get R10
			I64Const $16
			I64Add
			Set R10
			Get R11
			I64Const $16
			I64Add
			Set R11
			Get R15
			I64Const $4
			I64Sub
			Tee R15
			I64Eqz
			I32Eqz
			BrIf $0
		End
		// The epilogue, on both rows: + bias, ReLU, · scale + shift, + the old value.
		Get R2
		I64Eqz
		I32Eqz
		If
			Get V0
			Get R2
			I32WrapI64
			V128Load $0
			F32x4Add
			Set V0
			Get V1
			Get R2
			I32WrapI64
			V128Load $16
			F32x4Add
			Set V1
			Get V2
			Get R2
			I32WrapI64
			V128Load $32
			F32x4Add
			Set V2
			Get V3
			Get R2
			I32WrapI64
			V128Load $48
			F32x4Add
			Set V3
			Get V4
			Get R2
			I32WrapI64
			V128Load $0
			F32x4Add
			Set V4
			Get V5
			Get R2
			I32WrapI64
			V128Load $16
			F32x4Add
			Set V5
			Get V6
			Get R2
			I32WrapI64
			V128Load $32
			F32x4Add
			Set V6
			Get V7
			Get R2
			I32WrapI64
			V128Load $48
			F32x4Add
			Set V7
		End
		Get R12
		I64Const $1
		I64And
		I32WrapI64
		If
			Get V0
			Get V9
			F32x4Max
			Set V0
			Get V1
			Get V9
			F32x4Max
			Set V1
			Get V2
			Get V9
			F32x4Max
			Set V2
			Get V3
			Get V9
			F32x4Max
			Set V3
			Get V4
			Get V9
			F32x4Max
			Set V4
			Get V5
			Get V9
			F32x4Max
			Set V5
			Get V6
			Get V9
			F32x4Max
			Set V6
			Get V7
			Get V9
			F32x4Max
			Set V7
		End
		Get R3
		I64Eqz
		I32Eqz
		If
			Get V0
			Get R3
			I32WrapI64
			V128Load $0
			F32x4Mul
			Get R13
			I32WrapI64
			V128Load $0
			F32x4Add
			Set V0
			Get V1
			Get R3
			I32WrapI64
			V128Load $16
			F32x4Mul
			Get R13
			I32WrapI64
			V128Load $16
			F32x4Add
			Set V1
			Get V2
			Get R3
			I32WrapI64
			V128Load $32
			F32x4Mul
			Get R13
			I32WrapI64
			V128Load $32
			F32x4Add
			Set V2
			Get V3
			Get R3
			I32WrapI64
			V128Load $48
			F32x4Mul
			Get R13
			I32WrapI64
			V128Load $48
			F32x4Add
			Set V3
			Get V4
			Get R3
			I32WrapI64
			V128Load $0
			F32x4Mul
			Get R13
			I32WrapI64
			V128Load $0
			F32x4Add
			Set V4
			Get V5
			Get R3
			I32WrapI64
			V128Load $16
			F32x4Mul
			Get R13
			I32WrapI64
			V128Load $16
			F32x4Add
			Set V5
			Get V6
			Get R3
			I32WrapI64
			V128Load $32
			F32x4Mul
			Get R13
			I32WrapI64
			V128Load $32
			F32x4Add
			Set V6
			Get V7
			Get R3
			I32WrapI64
			V128Load $48
			F32x4Mul
			Get R13
			I32WrapI64
			V128Load $48
			F32x4Add
			Set V7
		End
		Get R12
		I64Const $2
		I64And
		I32WrapI64
		If
			Get V0
			Get R8
			I32WrapI64
			V128Load $0
			F32x4Add
			Set V0
			Get V1
			Get R8
			I32WrapI64
			V128Load $16
			F32x4Add
			Set V1
			Get V2
			Get R8
			I32WrapI64
			V128Load $32
			F32x4Add
			Set V2
			Get V3
			Get R8
			I32WrapI64
			V128Load $48
			F32x4Add
			Set V3
			Get V4
			Get R8
			Get R9
			I64Add
			I32WrapI64
			V128Load $0
			F32x4Add
			Set V4
			Get V5
			Get R8
			Get R9
			I64Add
			I32WrapI64
			V128Load $16
			F32x4Add
			Set V5
			Get V6
			Get R8
			Get R9
			I64Add
			I32WrapI64
			V128Load $32
			F32x4Add
			Set V6
			Get V7
			Get R8
			Get R9
			I64Add
			I32WrapI64
			V128Load $48
			F32x4Add
			Set V7
		End
		// Store row r of the tile at out + r·ldo.
		Get R8
		I32WrapI64
		Get V0
		V128Store $0
		Get R8
		I64Const $16
		I64Add
		I32WrapI64
		Get V1
		V128Store $0
		Get R8
		I64Const $32
		I64Add
		I32WrapI64
		Get V2
		V128Store $0
		Get R8
		I64Const $48
		I64Add
		I32WrapI64
		Get V3
		V128Store $0
		Get R8
		Get R9
		I64Add
		I32WrapI64
		Get V4
		V128Store $0
		Get R8
		Get R9
		I64Add
		I64Const $16
		I64Add
		I32WrapI64
		Get V5
		V128Store $0
		Get R8
		Get R9
		I64Add
		I64Const $32
		I64Add
		I32WrapI64
		Get V6
		V128Store $0
		Get R8
		Get R9
		I64Add
		I64Const $48
		I64Add
		I32WrapI64
		Get V7
		V128Store $0
		// Next tile: b, out and the epilogue's vectors 64 bytes on.
		Get R4
		I64Const $64
		I64Add
		Set R4
		Get R8
		I64Const $64
		I64Add
		Set R8
		Get R2
		I64Eqz
		I32Eqz
		If
			Get R2
			I64Const $64
			I64Add
			Set R2
		End
		Get R3
		I64Eqz
		I32Eqz
		If
			Get R3
			I64Const $64
			I64Add
			Set R3
		End
		Get R13
		I64Eqz
		I32Eqz
		If
			Get R13
			I64Const $64
			I64Add
			Set R13
		End
		Get R7
		I64Const $1
		I64Sub
		Tee R7
		I64Eqz
		I32Eqz
		BrIf $0
	End
	RET

