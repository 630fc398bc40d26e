//go:build js && wasm

package main

import (
	"errors"
	"syscall/js"
)

// await waits for a JavaScript promise. Call it from a goroutine, never from a callback.
func await(promise js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	var onOK, onErr js.Func
	onOK = js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{v: arg0(args)}
		return nil
	})
	onErr = js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{err: jsError(arg0(args))}
		return nil
	})
	promise.Call("then", onOK, onErr)
	r := <-ch
	onOK.Release()
	onErr.Release()
	return r.v, r.err
}

func arg0(args []js.Value) js.Value {
	if len(args) == 0 {
		return js.Undefined()
	}
	return args[0]
}

// jsError turns a rejected promise's reason into an error.
func jsError(v js.Value) error {
	if v.Type() == js.TypeObject {
		if m := v.Get("message"); m.Type() == js.TypeString {
			return errors.New(m.String())
		}
	}
	if v.Type() == js.TypeString {
		return errors.New(v.String())
	}
	return errors.New("unknown JavaScript error")
}

// bytesOf copies an ArrayBuffer or typed array into Go memory.
func bytesOf(v js.Value) []byte {
	u8 := js.Global().Get("Uint8Array").New(v)
	b := make([]byte, u8.Get("length").Int())
	js.CopyBytesToGo(b, u8)
	return b
}

// jsArray returns a JavaScript array of vs.
func jsArray(vs ...js.Value) js.Value {
	a := js.Global().Get("Array").New()
	for _, v := range vs {
		a.Call("push", v)
	}
	return a
}

// fileList returns the File objects of a FileList.
func fileList(list js.Value) []js.Value {
	if !list.Truthy() {
		return nil
	}
	files := make([]js.Value, list.Length())
	for i := range files {
		files[i] = list.Index(i)
	}
	return files
}
