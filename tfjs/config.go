package tfjs

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"papscope/nn"
)

// inputDims reads the input size from an InputLayer's batch_input_shape (Keras
// 2, TF.js) or batch_shape (Keras 3); unknown height and width mean 299.
func inputDims(n *node) (nn.Dims, error) {
	v, ok := n.config["batch_input_shape"]
	if !ok || v == nil {
		v, ok = n.config["batch_shape"]
	}
	if !ok || v == nil {
		return nn.Dims{}, n.errorf("has no batch_input_shape or batch_shape")
	}
	shape, isList := v.([]any)
	bad := func() (nn.Dims, error) {
		return nn.Dims{}, n.errorf("has shape %s, want [null, height, width, 3] (channels last, RGB)", jsonString(v))
	}
	if !isList || len(shape) != 4 {
		return bad()
	}
	if c, ok := shape[3].(float64); !ok || c != 3 {
		return bad()
	}
	side := func(v any) (int, bool) {
		if v == nil {
			return nn.DefaultInputSize, true
		}
		f, ok := v.(float64)
		if !ok || f != math.Trunc(f) || f < 1 || f > 1<<20 {
			return 0, false
		}
		return int(f), true
	}
	h, okH := side(shape[1])
	w, okW := side(shape[2])
	if !okH || !okW {
		return bad()
	}
	d := nn.Dims{Height: h, Width: w}
	if err := nn.CheckInput(d); err != nil {
		return nn.Dims{}, n.errorf("has an unusable input size: %w", err)
	}
	return d, nil
}

// checkConfig checks the config fields of a file layer that change what it computes.
func checkConfig(n *node, l nn.Layer) error {
	c := checker{n: n, l: l}
	switch l.Kind {
	case nn.Conv2D, nn.SeparableConv2D:
		c.int("filters", l.Filters)
		c.pair("kernel_size", l.KernelSize, false)
		c.pair("strides", l.Stride, true)
		c.padding(l.SamePad)
		c.pair("dilation_rate", 1, true)
		c.dataFormat()
		c.boolean("use_bias", true)
		if l.Kind == nn.Conv2D {
			c.optionalInt("groups", 1)
		} else {
			c.optionalInt("depth_multiplier", 1)
		}
		c.activation()
	case nn.BatchNorm:
		if v, ok := n.config["axis"]; ok && v != nil && !isLastAxis(v) {
			if l, isList := v.([]any); isList && len(l) == 1 {
				v = l[0]
			}
			if f, ok := v.(float64); !ok || f != 3 {
				c.fail("axis", n.config["axis"], "-1 (channels last)")
			}
		}
		if v, ok := n.config["epsilon"]; ok {
			if f, isNum := v.(float64); !isNum || math.Abs(f-nn.BNEpsilon) > 1e-9 {
				c.fail("epsilon", v, nn.BNEpsilon)
			}
		}
		c.boolean("center", true)
		c.boolean("scale", true)
	case nn.MaxPool2D:
		c.pair("pool_size", l.KernelSize, false)
		if v, ok := n.config["strides"]; ok && v == nil {
			c.fail("strides", "null (the pool size)", fmt.Sprintf("[%d, %d]", l.Stride, l.Stride))
		}
		c.pair("strides", l.Stride, true)
		c.padding(l.SamePad)
		c.dataFormat()
	case nn.GlobalAvgPool2D:
		c.dataFormat()
		if v, ok := n.config["keepdims"]; ok && v != nil && v != false {
			c.fail("keepdims", v, false)
		}
	case nn.Dense:
		c.int("units", l.Filters)
		c.boolean("use_bias", true)
		c.activation()
	case nn.Add:
	}
	return c.err
}

// checker collects the first config difference of a layer.
type checker struct {
	n   *node
	l   nn.Layer
	err error
}

func (c *checker) fail(field string, got, want any) {
	if c.err != nil {
		return
	}
	c.err = c.n.errorf("has %s %s, want %s (architecture layer %s)", field, jsonString(got), jsonString(want), c.l.Name)
}

// int checks a required integer field.
func (c *checker) int(field string, want int) {
	v := c.n.config[field]
	if f, ok := v.(float64); !ok || f != float64(want) {
		if v == nil {
			v = "nothing"
		}
		c.fail(field, v, want)
	}
}

// optionalInt checks an integer field whose absence means want.
func (c *checker) optionalInt(field string, want int) {
	if v, ok := c.n.config[field]; ok && v != nil {
		c.int(field, want)
	}
}

// pair checks a 2-D size: [k, k], [k] or k. When optional, absence means (want, want).
func (c *checker) pair(field string, want int, optional bool) {
	v, present := c.n.config[field]
	if !present || v == nil {
		if !optional {
			c.fail(field, "nothing", []int{want, want})
		}
		return
	}
	var got []any
	switch x := v.(type) {
	case float64:
		got = []any{x, x}
	case []any:
		got = x
		if len(x) == 1 {
			got = []any{x[0], x[0]}
		}
	}
	ok := len(got) == 2
	for _, e := range got {
		f, isNum := e.(float64)
		ok = ok && isNum && f == float64(want)
	}
	if !ok {
		c.fail(field, v, []int{want, want})
	}
}

func (c *checker) padding(same bool) {
	want := "valid"
	if same {
		want = "same"
	}
	if v := c.n.config["padding"]; v != want {
		if v == nil {
			v = "nothing"
		}
		c.fail("padding", v, want)
	}
}

func (c *checker) dataFormat() {
	if v, ok := c.n.config["data_format"]; ok && v != nil && v != "channels_last" {
		c.fail("data_format", v, "channels_last")
	}
}

func (c *checker) boolean(field string, want bool) {
	if v, ok := c.n.config[field]; ok && v != nil && v != want {
		c.fail(field, v, want)
	}
}

// activation checks the layer's activation, or the activation layer folded into it.
func (c *checker) activation() {
	got := activationOf(c.n.config)
	if got == "linear" && c.n.foldAct != "" {
		got = c.n.foldAct
	}
	if want := c.l.Activation.String(); got != want {
		c.fail("activation", got, want)
	}
}

// jsonString formats a config value as JSON for messages.
func jsonString(v any) string {
	if s, ok := v.(string); ok && (s == "nothing" || strings.HasPrefix(s, "null ")) {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return strings.ReplaceAll(string(b), ",", ", ")
}

// ordinal formats n as 1st, 2nd, 3rd, 4th, 11th, 21st, ...
func ordinal(n int) string {
	suffix := "th"
	switch n % 10 {
	case 1:
		suffix = "st"
	case 2:
		suffix = "nd"
	case 3:
		suffix = "rd"
	}
	if n%100 >= 11 && n%100 <= 13 {
		suffix = "th"
	}
	return strconv.Itoa(n) + suffix
}
