//go:build goexperiment.simd

#include "textflag.h"

// WebAssembly SIMD128 kernel of MaxPool3x3s2 (pool_wasm.go; see gemm_wasm.s
// for the assembler's conventions).

// func maxPoolPixels(out, top *float32, c4, stride uintptr, n int)
//
// For n consecutive output pixels starting at out, 16 channels at a time:
// the maximum of the nine values of the 3×3 window whose top-left source
// pixel is top (two pixels further for each output pixel), taken in tap
// order with f32x4.max. c4 is the bytes of a pixel (4·C, a multiple of 64),
// stride those of a source image row.
//
// Locals: R0 out; R1 top; R2 c4; R3 stride; R4 pixels left; R5 the channel
// group's byte offset J; R6 the source row at J; R7 2·c4. V0…V3 the 16
// running maxima.

TEXT ·maxPoolPixels(SB), NOSPLIT, $0-40
	MOVD out+0(FP), R0
	MOVD top+8(FP), R1
	MOVD c4+16(FP), R2
	MOVD stride+24(FP), R3
	MOVD n+32(FP), R4
	Get R2
	Get R2
	I64Add
	Set R7
	Loop // over output pixels
		I64Const $0
		Set R5
		Loop // over 16-channel groups
			Get R1
			Get R5
			I64Add
			Set R6
			// tap 0 (row 0, column 0)
			Get R6
			I32WrapI64
			V128Load $0
			Set V0
			Get R6
			I32WrapI64
			V128Load $16
			Set V1
			Get R6
			I32WrapI64
			V128Load $32
			Set V2
			Get R6
			I32WrapI64
			V128Load $48
			Set V3
			// tap 1 (row 0, column 1)
			Get V0
			Get R6
			Get R2
			I64Add
			I32WrapI64
			V128Load $0
			F32x4Max
			Set V0
			Get V1
			Get R6
			Get R2
			I64Add
			I32WrapI64
			V128Load $16
			F32x4Max
			Set V1
			Get V2
			Get R6
			Get R2
			I64Add
			I32WrapI64
			V128Load $32
			F32x4Max
			Set V2
			Get V3
			Get R6
			Get R2
			I64Add
			I32WrapI64
			V128Load $48
			F32x4Max
			Set V3
			// tap 2 (row 0, column 2)
			Get V0
			Get R6
			Get R7
			I64Add
			I32WrapI64
			V128Load $0
			F32x4Max
			Set V0
			Get V1
			Get R6
			Get R7
			I64Add
			I32WrapI64
			V128Load $16
			F32x4Max
			Set V1
			Get V2
			Get R6
			Get R7
			I64Add
			I32WrapI64
			V128Load $32
			F32x4Max
			Set V2
			Get V3
			Get R6
			Get R7
			I64Add
			I32WrapI64
			V128Load $48
			F32x4Max
			Set V3
			Get R6
			Get R3
			I64Add
			Set R6
			// tap 3 (row 1, column 0)
			Get V0
			Get R6
			I32WrapI64
			V128Load $0
			F32x4Max
			Set V0
			Get V1
			Get R6
			I32WrapI64
			V128Load $16
			F32x4Max
			Set V1
			Get V2
			Get R6
			I32WrapI64
			V128Load $32
			F32x4Max
			Set V2
			Get V3
			Get R6
			I32WrapI64
			V128Load $48
			F32x4Max
			Set V3
			// tap 4 (row 1, column 1)
			Get V0
			Get R6
			Get R2
			I64Add
			I32WrapI64
			V128Load $0
			F32x4Max
			Set V0
			Get V1
			Get R6
			Get R2
			I64Add
			I32WrapI64
			V128Load $16
			F32x4Max
			Set V1
			Get V2
			Get R6
			Get R2
			I64Add
			I32WrapI64
			V128Load $32
			F32x4Max
			Set V2
			Get V3
			Get R6
			Get R2
			I64Add
			I32WrapI64
			V128Load $48
			F32x4Max
			Set V3
			// tap 5 (row 1, column 2)
			Get V0
			Get R6
			Get R7
			I64Add
			I32WrapI64
			V128Load $0
			F32x4Max
			Set V0
			Get V1
			Get R6
			Get R7
			I64Add
			I32WrapI64
			V128Load $16
			F32x4Max
			Set V1
			Get V2
			Get R6
			Get R7
			I64Add
			I32WrapI64
			V128Load $32
			F32x4Max
			Set V2
			Get V3
			Get R6
			Get R7
			I64Add
			I32WrapI64
			V128Load $48
			F32x4Max
			Set V3
			Get R6
			Get R3
			I64Add
			Set R6
			// tap 6 (row 2, column 0)
			Get V0
			Get R6
			I32WrapI64
			V128Load $0
			F32x4Max
			Set V0
			Get V1
			Get R6
			I32WrapI64
			V128Load $16
			F32x4Max
			Set V1
			Get V2
			Get R6
			I32WrapI64
			V128Load $32
			F32x4Max
			Set V2
			Get V3
			Get R6
			I32WrapI64
			V128Load $48
			F32x4Max
			Set V3
			// tap 7 (row 2, column 1)
			Get V0
			Get R6
			Get R2
			I64Add
			I32WrapI64
			V128Load $0
			F32x4Max
			Set V0
			Get V1
			Get R6
			Get R2
			I64Add
			I32WrapI64
			V128Load $16
			F32x4Max
			Set V1
			Get V2
			Get R6
			Get R2
			I64Add
			I32WrapI64
			V128Load $32
			F32x4Max
			Set V2
			Get V3
			Get R6
			Get R2
			I64Add
			I32WrapI64
			V128Load $48
			F32x4Max
			Set V3
			// tap 8 (row 2, column 2)
			Get V0
			Get R6
			Get R7
			I64Add
			I32WrapI64
			V128Load $0
			F32x4Max
			Set V0
			Get V1
			Get R6
			Get R7
			I64Add
			I32WrapI64
			V128Load $16
			F32x4Max
			Set V1
			Get V2
			Get R6
			Get R7
			I64Add
			I32WrapI64
			V128Load $32
			F32x4Max
			Set V2
			Get V3
			Get R6
			Get R7
			I64Add
			I32WrapI64
			V128Load $48
			F32x4Max
			Set V3
			// store the 16 channels at out + J
			Get R0
			Get R5
			I64Add
			I32WrapI64
			Get V0
			V128Store $0
			Get R0
			Get R5
			I64Add
			I64Const $16
			I64Add
			I32WrapI64
			Get V1
			V128Store $0
			Get R0
			Get R5
			I64Add
			I64Const $32
			I64Add
			I32WrapI64
			Get V2
			V128Store $0
			Get R0
			Get R5
			I64Add
			I64Const $48
			I64Add
			I32WrapI64
			Get V3
			V128Store $0
			Get R5
			I64Const $64
			I64Add
			Tee R5
			Get R2
			I64LtU
			BrIf $0
		End
		Get R0
		Get R2
		I64Add
		Set R0
		Get R1
		Get R7
		I64Add
		Set R1
		Get R4
		I64Const $1
		I64Sub
		Tee R4
		I64Eqz
		I32Eqz
		BrIf $0
	End
	RET

