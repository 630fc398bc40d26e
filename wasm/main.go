//go:build js && wasm

// Command wasm is papscope in the browser: one WebAssembly binary
// (web/papscope.wasm) that plays two roles, chosen at start. In a Web Worker
// (no document) it is the bridge to the network: it answers the page's
// requests with a [bridge.Engine]. On the page it is the user interface,
// written with honnef.co/go/js/dom/v2; web/loader.js and web/worker.js are
// only the glue that fetches, compiles and starts it.
//
// # Start
//
// loader.js fetches papscope.wasm (showing its progress), compiles it once to a
// WebAssembly.Module, starts worker.js and posts it {boot: module}, then runs
// the same module on the page. worker.js queues any message that arrives
// before Go runs (self.papscopeQueue); the worker's main drains the queue and
// takes over self.onmessage.
//
// That first worker answers single images, Grad-CAM requests and weights. A
// batch of images also runs on batch workers, up to one per core (at most
// maxWorkers in all), started from the same module (self.papscopeModule) on
// the first batch and loaded with the weights in use; new weights stop them.
//
// # Worker message protocol
//
// Every message, both ways, is a plain object
//
//	{msg: string, buffers: [ArrayBuffer, ...]}
//
// where msg is the JSON of a [bridge.Request] (page → worker) or a
// [bridge.Response] (worker → page), and buffers carry the bytes beside it,
// posted as transferables (moved, not copied). The worker copies each buffer
// once into Go memory; the pixel buffer is reused between images.
//
// Requests, each with an id the response echoes:
//
//	{"kind":"load","id":1,"files":["papscope.safetensors"]}      buffers: the files' bytes, in order
//	{"kind":"load","id":2,"files":["model.json","group1-shard1of1.bin"]}
//	{"kind":"classify","id":3,"name":"HSIL-1","width":640,"height":480,"cam":true}
//	                                                              buffers: [RGBA pixels, width×height×4, non-premultiplied]
//	{"kind":"gradcam","id":4,"class":"LSIL"}                     the map of a class for the last classify with cam
//
// Responses: {"kind","id"} and either "error" (a message for people; on a
// failed load the previous model stays in use) or the result:
//
//	load:     "model" (the model card, see [modelcard.Card]), "input" {"Height","Width"}
//	classify: "name", "probs" [HSIL, LSIL, NILM, SCC] (float32, exact in JSON),
//	          "top", "ms", "timing" {"copy","preprocess","forward","cam", and the forward pass by layer kind
//	          "conv1","depthwise","pointwise","pool","head"} (milliseconds, for the benchmark),
//	          "width", "height", "ood" {"score","threshold","in"} or absent
//	          when the weights carry no OOD statistics, and with cam "cam"
//	gradcam:  "cam" {"class","width","height","values"}: the Grad-CAM map at the
//	          network's feature resolution, row-major, in [0,1]
//
// One response answers no request: {"kind":"fatal","id":0,"error":...}
// ([bridge.Fatal]), sent by worker.js when the module cannot start in the
// worker; the page then fails every call on that worker with its error.
//
// The worker handles one request at a time, in order.
package main

import "syscall/js"

func main() {
	if js.Global().Get("document").IsUndefined() {
		runWorker()
	} else {
		runPage()
	}
	select {} // keep the Go runtime alive for callbacks
}
