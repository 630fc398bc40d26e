// Package bridge is the worker side of papscope's page: the messages the page
// and its Web Worker exchange, and the Engine that answers them with nn. It is
// plain Go, so the worker's behaviour is tested natively; the wasm binary only
// moves the messages and their buffers between JavaScript and Engine.
//
// A message is a JSON text (Request or Response) plus a list of byte buffers
// that travel beside it as transferable ArrayBuffers, never inside the JSON.
package bridge

import (
	"fmt"
	"path"
	"strings"
	"time"

	"papscope/internal/imagehead"
	"papscope/internal/modelcard"
	"papscope/nn"
	"papscope/tfjs"
)

// Kind names a request and the response that answers it.
type Kind string

// The requests.
const (
	// Load replaces the model with weights from Files (one buffer per file): a
	// .safetensors file, or a TF.js model.json with its weight shards. On any
	// failure the previous model stays in use.
	Load Kind = "load"
	// Classify classifies one image: Width×Height RGBA pixels in buffer 0. With
	// CAM set the response carries the top class's Grad-CAM map and the engine
	// keeps the image's features for GradCAM requests.
	Classify Kind = "classify"
	// GradCAM asks for the map of Class for the last Classify with CAM set.
	GradCAM Kind = "gradcam"
)

// Fatal is the one response no request asks for: a worker that cannot run
// (web/worker.js sends it, with ID 0, when the module fails to start) says so
// in Error, and the page fails every call waiting on that worker.
const Fatal Kind = "fatal"

// Request is a message from the page to the worker.
type Request struct {
	Kind   Kind     `json:"kind"`
	ID     int      `json:"id"`              // echoed in the response
	Name   string   `json:"name,omitempty"`  // classify: the image's name, echoed
	Width  int      `json:"width,omitempty"` // classify
	Height int      `json:"height,omitempty"`
	CAM    bool     `json:"cam,omitempty"`   // classify: return and keep the Grad-CAM map
	Class  string   `json:"class,omitempty"` // gradcam: a class name
	Files  []string `json:"files,omitempty"` // load: the file names, one per buffer
}

// Response is the worker's answer to the request with the same ID.
type Response struct {
	Kind  Kind   `json:"kind"`
	ID    int    `json:"id"`
	Error string `json:"error,omitempty"` // what went wrong; the other fields are then empty

	Model *modelcard.Card `json:"model,omitempty"` // load: the new model's card
	Input *nn.Dims        `json:"input,omitempty"` // load: the model's input size

	Name   string                 `json:"name,omitempty"`   // classify: the image's name
	Probs  [nn.NumClasses]float32 `json:"probs,omitzero"`   // classify: in nn.ClassNames order
	Top    string                 `json:"top,omitempty"`    // classify: the most probable class
	Ms     float64                `json:"ms,omitempty"`     // classify: milliseconds of preprocessing and forward pass
	Timing *Timing                `json:"timing,omitempty"` // classify: where the time went
	OOD    *OOD                   `json:"ood,omitempty"`    // classify: nil when the weights carry no OOD statistics
	CAM    *Map                   `json:"cam,omitempty"`    // classify with CAM, and gradcam
	Width  int                    `json:"width,omitempty"`  // classify: the image size, echoed
	Height int                    `json:"height,omitempty"`
}

// Timing splits a classification's time into its phases, in milliseconds, so
// the browser benchmark can say where the time goes. The engine fills all but
// Copy, which the worker that moves the pixels fills.
type Timing struct {
	Copy       float64 `json:"copy"`       // the pixels from JavaScript into Go memory
	Preprocess float64 `json:"preprocess"` // resizing and scaling to the network's input
	Forward    float64 `json:"forward"`    // the network, split by layer kind below
	CAM        float64 `json:"cam"`        // the Grad-CAM map, when asked for

	// The forward pass by layer kind (see nn.LayerTimes).
	Conv1     float64 `json:"conv1"`
	Depthwise float64 `json:"depthwise"`
	Pointwise float64 `json:"pointwise"`
	Pool      float64 `json:"pool"`
	Head      float64 `json:"head"`
}

// OOD is the out-of-distribution verdict of one image.
type OOD struct {
	Score     float32 `json:"score"`
	Threshold float32 `json:"threshold"`
	In        bool    `json:"in"` // the score is at most the threshold
}

// Map is a Grad-CAM map: Width×Height values in [0,1], row-major.
type Map struct {
	Class  string    `json:"class"`
	Width  int       `json:"width"`
	Height int       `json:"height"`
	Values []float32 `json:"values"`
}

// ClassIndex returns the index of a class named exactly as nn names it
// (no other case, no alias: the protocol's names are nn's), or -1.
func ClassIndex(name string) int {
	c, err := nn.ParseClass(name)
	if err != nil || c.String() != name {
		return -1
	}
	return int(c)
}

// Engine answers requests. It holds the model in use and the features of the
// last image classified with CAM. It is not safe for concurrent use.
type Engine struct {
	model *nn.Model
	card  modelcard.Card

	// The last Classify with CAM: its model and a copy of its features.
	camModel *nn.Model
	camOut   nn.Output
	features []float32
	pooled   []float32

	now func() time.Time
}

// NewEngine returns an engine with no model: Classify fails until a Load succeeds.
func NewEngine() *Engine { return &Engine{now: time.Now} }

// Handle answers one request whose buffers are bufs.
func (e *Engine) Handle(req Request, bufs [][]byte) Response {
	var resp Response
	var err error
	switch req.Kind {
	case Load:
		resp, err = e.load(req, bufs)
	case Classify:
		resp, err = e.classify(req, bufs)
	case GradCAM:
		resp, err = e.gradCAM(req)
	default:
		err = fmt.Errorf("unknown request kind %q", req.Kind)
	}
	if err != nil {
		resp = Response{Error: err.Error()}
	}
	resp.Kind, resp.ID = req.Kind, req.ID
	return resp
}

func (e *Engine) load(req Request, bufs [][]byte) (Response, error) {
	if len(req.Files) != len(bufs) || len(bufs) == 0 {
		return Response{}, fmt.Errorf("load: %d file names for %d files", len(req.Files), len(bufs))
	}
	name, w, err := decodeWeights(req.Files, bufs)
	if err != nil {
		return Response{}, err
	}
	m, err := nn.NewModel(w)
	if err != nil {
		return Response{}, fmt.Errorf("%s: %w", name, err)
	}
	e.model = m
	e.card = modelcard.New(name, w.Meta(), w.HasOOD())
	in := m.InputDims()
	return Response{Model: &e.card, Input: &in}, nil
}

// decodeWeights reads weights from files: one .safetensors, or a model.json and its shards.
func decodeWeights(names []string, bufs [][]byte) (string, *nn.Weights, error) {
	var safetensors, modelJSON []int
	for i, n := range names {
		switch lower := strings.ToLower(n); {
		case strings.HasSuffix(lower, ".safetensors"):
			safetensors = append(safetensors, i)
		case strings.HasSuffix(lower, ".json"):
			modelJSON = append(modelJSON, i)
		}
	}
	switch {
	case len(safetensors) == 1 && len(names) == 1:
		i := safetensors[0]
		w, err := nn.DecodeWeights(bufs[i])
		if err != nil {
			return "", nil, fmt.Errorf("%s: %w", names[i], err)
		}
		return names[i], w, nil
	case len(modelJSON) == 1 && len(safetensors) == 0:
		i := modelJSON[0]
		open := func(p string) ([]byte, error) {
			base := path.Base(p)
			for j, n := range names {
				if j != i && (n == p || n == base) {
					return bufs[j], nil
				}
			}
			return nil, fmt.Errorf("weight shard %q was not among the files chosen: choose model.json together with all its .bin shards", p)
		}
		w, err := tfjs.Import(bufs[i], open)
		if err != nil {
			return "", nil, fmt.Errorf("%s: %w", names[i], err)
		}
		return names[i], w, nil
	}
	return "", nil, fmt.Errorf("choose one .safetensors file, or a TF.js model.json together with its .bin weight shards (got %s)", strings.Join(names, ", "))
}

func (e *Engine) classify(req Request, bufs [][]byte) (Response, error) {
	if e.model == nil {
		return Response{}, fmt.Errorf("no model loaded")
	}
	if len(bufs) != 1 {
		return Response{}, fmt.Errorf("classify: want 1 pixel buffer, got %d", len(bufs))
	}
	if err := imagehead.CheckSize("decoded", req.Width, req.Height); err != nil {
		return Response{}, err
	}
	if want := req.Width * req.Height * 4; len(bufs[0]) != want {
		return Response{}, fmt.Errorf("classify: %d bytes of pixels, want %d for %d×%d RGBA", len(bufs[0]), want, req.Width, req.Height)
	}
	var times nn.ClassifyTimes
	start := e.now()
	out, err := e.model.ClassifyRGBATimed(bufs[0], req.Width, req.Height, &times) // the weights' crop, as the CLI's ClassifyImage
	if err != nil {
		return Response{}, err
	}
	done := e.now()
	timing := timingOf(times)
	top := out.Top()
	resp := Response{
		Name: req.Name, Probs: out.Probs, Top: top.String(), Ms: millis(done.Sub(start)),
		Timing: timing, Width: req.Width, Height: req.Height,
	}
	if out.OODAvailable {
		resp.OOD = &OOD{Score: out.OODScore, Threshold: out.OODThreshold, In: out.InDistribution()}
	}
	if req.CAM {
		e.keep(out)
		if resp.CAM, err = e.camFor(top); err != nil {
			return Response{}, err
		}
		timing.CAM = millis(e.now().Sub(done))
	}
	return resp, nil
}

// timingOf converts nn's split of one classification to milliseconds.
func timingOf(t nn.ClassifyTimes) *Timing {
	l := t.Layers
	return &Timing{
		Preprocess: millis(t.Preprocess), Forward: millis(l.Total()),
		Conv1: millis(l.Conv1), Depthwise: millis(l.Depthwise), Pointwise: millis(l.Pointwise),
		Pool: millis(l.Pool), Head: millis(l.Head),
	}
}

// millis returns d in milliseconds.
func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// keep copies out's features so that GradCAM requests outlive later forward passes.
func (e *Engine) keep(out nn.Output) {
	e.features = append(e.features[:0], out.Features...)
	e.pooled = append(e.pooled[:0], out.Pooled...)
	e.camOut = out
	e.camOut.Features, e.camOut.Pooled = e.features, e.pooled
	e.camModel = e.model
}

func (e *Engine) camFor(class nn.Class) (*Map, error) {
	// A fresh slice each time: the map is handed to the encoder, and it is small.
	v, err := e.camModel.GradCAM(nil, &e.camOut, class)
	if err != nil {
		return nil, err
	}
	d := e.camOut.FeatureDims
	return &Map{Class: class.String(), Width: d.Width, Height: d.Height, Values: v}, nil
}

func (e *Engine) gradCAM(req Request) (Response, error) {
	c := ClassIndex(req.Class)
	if c < 0 {
		return Response{}, fmt.Errorf("gradcam: unknown class %q (want one of %s)", req.Class, strings.Join(nn.ClassNames(), ", "))
	}
	if e.camModel == nil {
		return Response{}, fmt.Errorf("gradcam: no image classified yet")
	}
	m, err := e.camFor(nn.Class(c))
	if err != nil {
		return Response{}, err
	}
	return Response{CAM: m}, nil
}
