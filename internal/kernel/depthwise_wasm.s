//go:build goexperiment.simd

#include "textflag.h"

// WebAssembly SIMD128 kernel of Depthwise3x3 away from the image's border
// (depthwise_wasm.go; see gemm_wasm.s for the assembler's conventions).

// func depthwiseInterior(out, top, k *float32, c4, stride uintptr, n int)
//
// For n consecutive output pixels starting at out, 16 channels at a time:
// the nine taps of the 3×3 window whose top-left source pixel is top (and
// moves with the output), in tap order, a multiply then an add each (bitwise
// the scalar loop's). k is the kernel packed by groups of 16 channels, each
// group's nine taps of 16 values together (576 bytes a group); c4 is the
// bytes of a pixel (4·C, a multiple of 64), stride those of an image row.
//
// Locals: R0 out; R1 top; R2 k; R3 c4; R4 stride; R5 pixels left; R6 the
// channel group's byte offset J; R7 its packed taps; R8 the source row at J;
// R9 2·c4. V0…V3 the 16 accumulators.

TEXT ·depthwiseInterior(SB), NOSPLIT, $0-48
	MOVD out+0(FP), R0
	MOVD top+8(FP), R1
	MOVD k+16(FP), R2
	MOVD c4+24(FP), R3
	MOVD stride+32(FP), R4
	MOVD n+40(FP), R5
	Get R3
	Get R3
	I64Add
	Set R9
	Loop // over pixels
		I64Const $0
		Set R6
		Get R2
		Set R7
		Loop // over 16-channel groups
			I32Const $0
			I32x4Splat
			Tee V0
			Tee V1
			Tee V2
			Set V3
			Get R1
			Get R6
			I64Add
			Set R8
			// tap 0 (row 0, column 0)
			Get R8
			I32WrapI64
			V128Load $0
			Get R7
			I32WrapI64
			V128Load $0
			F32x4Mul
			Get V0
			F32x4Add
			Set V0
			Get R8
			I32WrapI64
			V128Load $16
			Get R7
			I32WrapI64
			V128Load $16
			F32x4Mul
			Get V1
			F32x4Add
			Set V1
			Get R8
			I32WrapI64
			V128Load $32
			Get R7
			I32WrapI64
			V128Load $32
			F32x4Mul
			Get V2
			F32x4Add
			Set V2
			Get R8
			I32WrapI64
			V128Load $48
			Get R7
			I32WrapI64
			V128Load $48
			F32x4Mul
			Get V3
			F32x4Add
			Set V3
			// tap 1 (row 0, column 1)
			Get R8
			Get R3
			I64Add
			I32WrapI64
			V128Load $0
			Get R7
			I32WrapI64
			V128Load $64
			F32x4Mul
			Get V0
			F32x4Add
			Set V0
			Get R8
			Get R3
			I64Add
			I32WrapI64
			V128Load $16
			Get R7
			I32WrapI64
			V128Load $80
			F32x4Mul
			Get V1
			F32x4Add
			Set V1
			Get R8
			Get R3
			I64Add
			I32WrapI64
			V128Load $32
			Get R7
			I32WrapI64
			V128Load $96
			F32x4Mul
			Get V2
			F32x4Add
			Set V2
			Get R8
			Get R3
			I64Add
			I32WrapI64
			V128Load $48
			Get R7
			I32WrapI64
			V128Load $112
			F32x4Mul
			Get V3
			F32x4Add
			Set V3
			// tap 2 (row 0, column 2)
			Get R8
			Get R9
			I64Add
			I32WrapI64
			V128Load $0
			Get R7
			I32WrapI64
			V128Load $128
			F32x4Mul
			Get V0
			F32x4Add
			Set V0
			Get R8
			Get R9
			I64Add
			I32WrapI64
			V128Load $16
			Get R7
			I32WrapI64
			V128Load $144
			F32x4Mul
			Get V1
			F32x4Add
			Set V1
			Get R8
			Get R9
			I64Add
			I32WrapI64
			V128Load $32
			Get R7
			I32WrapI64
			V128Load $160
			F32x4Mul
			Get V2
			F32x4Add
			Set V2
			Get R8
			Get R9
			I64Add
			I32WrapI64
			V128Load $48
			Get R7
			I32WrapI64
			V128Load $176
			F32x4Mul
			Get V3
			F32x4Add
			Set V3
			Get R8
			Get R4
			I64Add
			Set R8
			// tap 3 (row 1, column 0)
			Get R8
			I32WrapI64
			V128Load $0
			Get R7
			I32WrapI64
			V128Load $192
			F32x4Mul
			Get V0
			F32x4Add
			Set V0
			Get R8
			I32WrapI64
			V128Load $16
			Get R7
			I32WrapI64
			V128Load $208
			F32x4Mul
			Get V1
			F32x4Add
			Set V1
			Get R8
			I32WrapI64
			V128Load $32
			Get R7
			I32WrapI64
			V128Load $224
			F32x4Mul
			Get V2
			F32x4Add
			Set V2
			Get R8
			I32WrapI64
			V128Load $48
			Get R7
			I32WrapI64
			V128Load $240
			F32x4Mul
			Get V3
			F32x4Add
			Set V3
			// tap 4 (row 1, column 1)
			Get R8
			Get R3
			I64Add
			I32WrapI64
			V128Load $0
			Get R7
			I32WrapI64
			V128Load $256
			F32x4Mul
			Get V0
			F32x4Add
			Set V0
			Get R8
			Get R3
			I64Add
			I32WrapI64
			V128Load $16
			Get R7
			I32WrapI64
			V128Load $272
			F32x4Mul
			Get V1
			F32x4Add
			Set V1
			Get R8
			Get R3
			I64Add
			I32WrapI64
			V128Load $32
			Get R7
			I32WrapI64
			V128Load $288
			F32x4Mul
			Get V2
			F32x4Add
			Set V2
			Get R8
			Get R3
			I64Add
			I32WrapI64
			V128Load $48
			Get R7
			I32WrapI64
			V128Load $304
			F32x4Mul
			Get V3
			F32x4Add
			Set V3
			// tap 5 (row 1, column 2)
			Get R8
			Get R9
			I64Add
			I32WrapI64
			V128Load $0
			Get R7
			I32WrapI64
			V128Load $320
			F32x4Mul
			Get V0
			F32x4Add
			Set V0
			Get R8
			Get R9
			I64Add
			I32WrapI64
			V128Load $16
			Get R7
			I32WrapI64
			V128Load $336
			F32x4Mul
			Get V1
			F32x4Add
			Set V1
			Get R8
			Get R9
			I64Add
			I32WrapI64
			V128Load $32
			Get R7
			I32WrapI64
			V128Load $352
			F32x4Mul
			Get V2
			F32x4Add
			Set V2
			Get R8
			Get R9
			I64Add
			I32WrapI64
			V128Load $48
			Get R7
			I32WrapI64
			V128Load $368
			F32x4Mul
			Get V3
			F32x4Add
			Set V3
			Get R8
			Get R4
			I64Add
			Set R8
			// tap 6 (row 2, column 0)
			Get R8
			I32WrapI64
			V128Load $0
			Get R7
			I32WrapI64
			V128Load $384
			F32x4Mul
			Get V0
			F32x4Add
			Set V0
			Get R8
			I32WrapI64
			V128Load $16
			Get R7
			I32WrapI64
			V128Load $400
			F32x4Mul
			Get V1
			F32x4Add
			Set V1
			Get R8
			I32WrapI64
			V128Load $32
			Get R7
			I32WrapI64
			V128Load $416
			F32x4Mul
			Get V2
			F32x4Add
			Set V2
			Get R8
			I32WrapI64
			V128Load $48
			Get R7
			I32WrapI64
			V128Load $432
			F32x4Mul
			Get V3
			F32x4Add
			Set V3
			// tap 7 (row 2, column 1)
			Get R8
			Get R3
			I64Add
			I32WrapI64
			V128Load $0
			Get R7
			I32WrapI64
			V128Load $448
			F32x4Mul
			Get V0
			F32x4Add
			Set V0
			Get R8
			Get R3
			I64Add
			I32WrapI64
			V128Load $16
			Get R7
			I32WrapI64
			V128Load $464
			F32x4Mul
			Get V1
			F32x4Add
			Set V1
			Get R8
			Get R3
			I64Add
			I32WrapI64
			V128Load $32
			Get R7
			I32WrapI64
			V128Load $480
			F32x4Mul
			Get V2
			F32x4Add
			Set V2
			Get R8
			Get R3
			I64Add
			I32WrapI64
			V128Load $48
			Get R7
			I32WrapI64
			V128Load $496
			F32x4Mul
			Get V3
			F32x4Add
			Set V3
			// tap 8 (row 2, column 2)
			Get R8
			Get R9
			I64Add
			I32WrapI64
			V128Load $0
			Get R7
			I32WrapI64
			V128Load $512
			F32x4Mul
			Get V0
			F32x4Add
			Set V0
			Get R8
			Get R9
			I64Add
			I32WrapI64
			V128Load $16
			Get R7
			I32WrapI64
			V128Load $528
			F32x4Mul
			Get V1
			F32x4Add
			Set V1
			Get R8
			Get R9
			I64Add
			I32WrapI64
			V128Load $32
			Get R7
			I32WrapI64
			V128Load $544
			F32x4Mul
			Get V2
			F32x4Add
			Set V2
			Get R8
			Get R9
			I64Add
			I32WrapI64
			V128Load $48
			Get R7
			I32WrapI64
			V128Load $560
			F32x4Mul
			Get V3
			F32x4Add
			Set V3
			// store the 16 channels at out + J
			Get R0
			Get R6
			I64Add
			I32WrapI64
			Get V0
			V128Store $0
			Get R0
			Get R6
			I64Add
			I64Const $16
			I64Add
			I32WrapI64
			Get V1
			V128Store $0
			Get R0
			Get R6
			I64Add
			I64Const $32
			I64Add
			I32WrapI64
			Get V2
			V128Store $0
			Get R0
			Get R6
			I64Add
			I64Const $48
			I64Add
			I32WrapI64
			Get V3
			V128Store $0
			Get R7
			I64Const $576
			I64Add
			Set R7
			Get R6
			I64Const $64
			I64Add
			Tee R6
			Get R3
			I64LtU
			BrIf $0
		End
		Get R0
		Get R3
		I64Add
		Set R0
		Get R1
		Get R3
		I64Add
		Set R1
		Get R5
		I64Const $1
		I64Sub
		Tee R5
		I64Eqz
		I32Eqz
		BrIf $0
	End
	RET
