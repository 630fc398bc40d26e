// Package train is papscope's network as a gorgonia expression graph: the
// same layers, names and weights as package nn, differentiated automatically
// and trained with gorgonia's Adam solver.
//
// Why a second forward pass: gorgonia does automatic differentiation natively,
// which is what training needs, but it is too large and too slow to ship to the
// browser, and its own batch normalization does not expose its running
// statistics. So the browser runs nn, training runs here, and the tests hold the
// two together: on the same weights and inputs, this graph in inference mode and
// nn.Model agree to 1e-5.
//
// The graph is NHWC throughout. Activations are matrices of shape (N·H·W, C),
// so pointwise convolutions and conv1 (after patch extraction) are matrix
// products, and per-channel bias and batch normalization are broadcasts along
// the rows. The 3×3 depthwise convolution, conv1's patch extraction and the
// 3×3 max-pool are custom gorgonia ops with their gradients (see ops.go).
// Batch normalization is built from gorgonia primitives, normalising with the
// batch's statistics while training; the moving averages are updated outside
// the graph after every step, Keras's way (momentum 0.99), and are exported
// with the other weights under their Keras names.
package train
