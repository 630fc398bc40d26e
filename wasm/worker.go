//go:build js && wasm

package main

import (
	"encoding/json"
	"runtime"
	"runtime/debug"
	"syscall/js"
	"time"

	"papscope/internal/bridge"
)

// gcPercent is the worker's GOGC. WebAssembly memory only grows, so with
// Go's default (100) it climbs over the first images towards twice the live
// heap (the model's buffers) and never comes back. Each image leaves a
// little garbage (its messages and heatmap), so a 10 % margin costs a
// collection every dozen or so images and keeps memory flat (make bench
// prints the curve; figures: README, Speed).
const gcPercent = 10

// runWorker answers the page's messages with a bridge.Engine.
func runWorker() {
	debug.SetGCPercent(gcPercent)
	self := js.Global()
	engine := bridge.NewEngine()
	uint8Array := self.Get("Uint8Array")
	var pixels []byte // reused between images: each is copied into Go memory once

	handle := js.FuncOf(func(this js.Value, args []js.Value) any {
		data := args[0].Get("data")
		var req bridge.Request
		var resp bridge.Response
		if err := json.Unmarshal([]byte(data.Get("msg").String()), &req); err != nil {
			resp = bridge.Response{Error: "worker: bad request: " + err.Error()}
		} else {
			bufs := make([][]byte, 0)
			copyStart := time.Now()
			if list := data.Get("buffers"); list.Truthy() {
				for i := range list.Length() {
					src := uint8Array.New(list.Index(i))
					n := src.Get("length").Int()
					var b []byte
					if req.Kind == bridge.Classify {
						if cap(pixels) < n {
							pixels = make([]byte, n)
						}
						b = pixels[:n]
					} else {
						b = make([]byte, n)
					}
					js.CopyBytesToGo(b, src)
					bufs = append(bufs, b)
				}
			}
			copied := time.Since(copyStart)
			if req.Kind == bridge.Load {
				// Loading weights allocates the model's buffers (most of the
				// heap) at once: at gcPercent that would be a collection every
				// 10 % of growth, dozens of them on start-up. Go's default
				// pace for the load, then one collection and back to gcPercent.
				debug.SetGCPercent(100)
				resp = engine.Handle(req, bufs)
				bufs = nil
				runtime.GC()
				debug.SetGCPercent(gcPercent)
			} else {
				resp = engine.Handle(req, bufs)
			}
			if resp.Timing != nil {
				resp.Timing.Copy = float64(copied.Microseconds()) / 1000
			}
		}
		out, err := json.Marshal(resp)
		if err != nil {
			out, _ = json.Marshal(bridge.Response{Kind: req.Kind, ID: req.ID, Error: "worker: " + err.Error()})
		}
		self.Call("postMessage", map[string]any{"msg": string(out)})
		return nil
	})
	self.Set("onmessage", handle)
	if q := self.Get("papscopeQueue"); q.Truthy() {
		for i := range q.Length() {
			handle.Invoke(q.Index(i))
		}
	}
	self.Set("papscopeQueue", js.Null())
}
