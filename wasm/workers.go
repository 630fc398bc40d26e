//go:build js && wasm

package main

import (
	"encoding/json"
	"sync"
	"syscall/js"

	"papscope/internal/bridge"
)

// maxWorkers bounds the batch pool: each worker holds the model and its
// buffers (tens of MB: README, Speed), so a many-core phone
// should not start one per core.
const maxWorkers = 4

// conn is the page's side of one Web Worker running papscope.wasm: it posts
// requests and hands each response to the call waiting for it.
type conn struct {
	w       js.Value
	mu      sync.Mutex // guards nextID, pending and dead
	nextID  int
	pending map[int]chan bridge.Response
	dead    string // why the worker stopped; calls then fail with it

	handlers []js.Func // its onmessage and onerror, released when it stops
}

// connect takes over a worker's messages. onFatal is told when the worker
// cannot run (it failed to start, or sent a fatal message); the calls waiting
// on it then fail with the same message.
func connect(w js.Value, onFatal func(msg string)) *conn {
	c := &conn{w: w, pending: map[int]chan bridge.Response{}}
	die := func(msg string) {
		c.fail(msg)
		onFatal(msg)
	}
	onMessage := js.FuncOf(func(_ js.Value, args []js.Value) any {
		var resp bridge.Response
		switch err := json.Unmarshal([]byte(args[0].Get("data").Get("msg").String()), &resp); {
		case err != nil:
			die("papscope's worker sent a message the page cannot read: " + err.Error())
		case resp.Kind == bridge.Fatal:
			die(resp.Error)
		default:
			c.deliver(resp)
		}
		return nil
	})
	onError := js.FuncOf(func(_ js.Value, args []js.Value) any {
		msg := "the worker failed"
		if m := args[0].Get("message"); m.Type() == js.TypeString {
			msg += ": " + m.String()
		}
		die(msg)
		return nil
	})
	w.Set("onmessage", onMessage)
	w.Set("onerror", onError)
	c.handlers = []js.Func{onMessage, onError}
	return c
}

// call sends a request to the worker, transferring bufs, and waits for its response.
func (c *conn) call(req bridge.Request, bufs ...js.Value) bridge.Response {
	c.mu.Lock()
	if c.dead != "" {
		c.mu.Unlock()
		return bridge.Response{Kind: req.Kind, Error: c.dead}
	}
	c.nextID++
	req.ID = c.nextID
	ch := make(chan bridge.Response, 1)
	c.pending[req.ID] = ch
	c.mu.Unlock()
	msg, err := json.Marshal(req)
	if err != nil {
		c.deliver(bridge.Response{Kind: req.Kind, ID: req.ID, Error: err.Error()})
	} else {
		list := jsArray(bufs...)
		c.w.Call("postMessage", map[string]any{"msg": string(msg), "buffers": list}, list)
	}
	return <-ch
}

// deliver hands a response to the call waiting for it.
func (c *conn) deliver(resp bridge.Response) {
	c.mu.Lock()
	ch, ok := c.pending[resp.ID]
	delete(c.pending, resp.ID)
	c.mu.Unlock()
	if ok {
		ch <- resp
	}
}

// fail marks the worker dead and fails every call waiting on it with msg.
func (c *conn) fail(msg string) {
	c.mu.Lock()
	c.dead = msg
	waiting := c.pending
	c.pending = map[int]chan bridge.Response{}
	c.mu.Unlock()
	for id, ch := range waiting {
		ch <- bridge.Response{ID: id, Error: msg}
	}
}

// stop ends the worker; calls still waiting fail.
func (c *conn) stop() {
	c.w.Call("terminate")
	for _, h := range c.handlers {
		h.Release()
	}
	c.fail("the worker was stopped")
}

// weightsFile is one file of the weights in use, kept to load into batch workers.
type weightsFile struct {
	name string
	buf  js.Value // an ArrayBuffer of its bytes, never transferred
}

// load loads weights into the main worker. On success they become the
// weights in use and the batch workers, which hold the previous ones, stop;
// on failure everything stays as it was.
func (p *page) load(names []string, bufs []js.Value) bridge.Response {
	kept := make([]weightsFile, len(bufs))
	for i, b := range bufs {
		kept[i] = weightsFile{name: names[i], buf: b.Call("slice", 0)} // bufs are transferred to the worker
	}
	resp := p.main.call(bridge.Request{Kind: bridge.Load, Files: names}, bufs...)
	if resp.Error == "" {
		p.weights = kept
		for _, h := range p.helpers {
			h.stop()
		}
		p.helpers = nil
	}
	return resp
}

// batchWorkers returns the workers that classify a batch of n images: the
// main worker and, when the device has more cores, batch workers running the
// weights in use, started on first need and kept for later batches. A batch
// worker that cannot start is left out.
func (p *page) batchWorkers(n int) []*conn {
	cores := p.global.Get("navigator").Get("hardwareConcurrency")
	size := 1
	if cores.Type() == js.TypeNumber {
		size = max(1, min(cores.Int(), maxWorkers))
	}
	want := max(0, min(size, n)-1)
	if missing := want - len(p.helpers); missing > 0 {
		started := make(chan *conn, missing)
		for range missing {
			go func() { started <- p.startHelper() }()
		}
		for range missing {
			if h := <-started; h != nil {
				p.helpers = append(p.helpers, h)
			}
		}
	}
	return append([]*conn{p.main}, p.helpers[:min(want, len(p.helpers))]...)
}

// startHelper starts a batch worker with the weights in use, or returns nil if it cannot.
func (p *page) startHelper() *conn {
	module := p.global.Get("papscopeModule")
	if !module.Truthy() || len(p.weights) == 0 {
		return nil
	}
	h := connect(p.global.Get("Worker").New("worker.js"), func(string) {})
	h.w.Call("postMessage", map[string]any{"boot": module})
	names := make([]string, len(p.weights))
	bufs := make([]js.Value, len(p.weights))
	for i, f := range p.weights {
		names[i], bufs[i] = f.name, f.buf.Call("slice", 0)
	}
	if resp := h.call(bridge.Request{Kind: bridge.Load, Files: names}, bufs...); resp.Error != "" {
		h.stop()
		return nil
	}
	return h
}
