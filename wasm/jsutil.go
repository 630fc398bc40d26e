//go:build js && wasm

package main

import (
	"errors"
	"syscall/js"

	"honnef.co/go/js/dom/v2"
)

// elem wraps a DOM element as dom/v2's concrete *BasicHTMLElement, for
// binary size. The page never lets dom/v2 wrap an element or an event
// (GetElementByID, CreateElement, QuerySelector, AddEventListener, Target):
// those return interfaces built by type switches over ~140 element and ~90
// event types, and Go's linker then keeps every interface-called method of
// each, about 2,000 functions. Wrapping here (elem, find, listen) keeps them
// out of papscope.wasm.
func elem(v js.Value) *dom.BasicHTMLElement {
	return &dom.BasicHTMLElement{BasicElement: &dom.BasicElement{BasicNode: &dom.BasicNode{Value: v}}}
}

// find returns the first element under e that matches selector.
func find(e *dom.BasicHTMLElement, selector string) *dom.BasicHTMLElement {
	return elem(e.Underlying().Call("querySelector", selector))
}

// appendChild adds child as parent's last child. It stands in for dom/v2's
// AppendChild, whose dom.Node parameter brings in the Node and Event
// interfaces and through them every method of time.Time (47 KB gzipped).
func appendChild(parent, child *dom.BasicHTMLElement) {
	parent.Underlying().Call("appendChild", child.Underlying())
}

// listen calls fn on every typ event at target (an element, the document or the window).
func listen(target js.Value, typ string, fn func(*dom.BasicEvent)) {
	target.Call("addEventListener", typ, js.FuncOf(func(_ js.Value, args []js.Value) any {
		fn(&dom.BasicEvent{Value: args[0]})
		return nil
	}))
}

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
