// Command papscope classifies liquid-based-cytology images with papscope's
// lightweight Xception network and manages its weights.
//
// Usage:
//
//	papscope info     [-weights W] [-json]
//	papscope classify [-weights W] [-json | -csv] IMAGE...
//	papscope import   -format tfjs -o OUT.safetensors model.json
//	papscope import   -format torch [-size WxH] -o OUT.safetensors state_dict.safetensors
//	papscope synth    -n N -seed S -o DIR [-size WxH]
//	papscope train    -data DIR -o OUT.safetensors [-epochs E -batch B -size S -resume CKPT ...]
//	papscope eval     [-weights W] -data DIR [-json] [-plot FILE.png]
//	papscope cv       -data DIR [-folds 4 -size 128 -epochs 20 -work cv.work -json]
//	papscope probe    -data DIR [-folds 4 -jpeg-quality 75 -crop 0.5 -weights W -json]
//	papscope serve    [-addr 127.0.0.1:8080] [-dir web]
//	papscope site     -o OUT [-cases DIR] [-list CASES.csv] [-web web]
//	papscope version  (or papscope -version)
//
// Flags may come before, between or after the file names; "--" ends the
// flags, so a file whose name starts with "-" can follow it.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"papscope/internal/imagefile"
)

// errUsage marks a command-line mistake: the command exits with status 2.
var errUsage = errors.New("usage")

// errSomeFailed marks a run that did its work but failed on some inputs: exit status 1.
var errSomeFailed = errors.New("some inputs failed")

type command struct {
	name, args, help string
	run              func(args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"info", "[-weights W] [-json]", "show the architecture, parameter counts and the weights' metadata", runInfo},
		{"classify", "[-weights W] [-json | -csv] IMAGE...", "classify images (" + imagefile.Formats() + "); -csv writes the columns of the page's batch export", runClassify},
		{"import", "-format tfjs|torch -o OUT.safetensors model.json|state_dict.safetensors", "convert a TensorFlow.js layers model (Keras weights) or a PyTorch twin's state_dict to papscope weights", runImport},
		{"train", "-data DIR -o OUT.safetensors [-epochs 20 -batch 16 -lr 1e-3 -size 128|WxH -seed 1 -resume CKPT -groups CSV -init W -patience 5 -split 0.7,0.15,0.15]", "train the network on a folder of HSIL/LSIL/NILM/SCC images (Ctrl-C saves a checkpoint)", runTrain},
		{"eval", "[-weights W] -data DIR [-json] [-plot FILE.png] [-workers N]", "evaluate weights on a class-folder dataset: accuracy, per-class metrics, confusion matrix, AUC, ECE", runEval},
		{"cv", "-data DIR [-folds 4 -size 128 -epochs 20 -work cv.work -json]", "cross-validate the training recipe by slide: K models, pooled out-of-fold figures, each original once, beside a split by image (resumable)", runCV},
		{"probe", "-data DIR [-folds 4 -jpeg-quality 75 -crop 0.5 -weights W -json]", "measure the data's shortcuts (JPEG quality, border fill): a statistics-only classifier by slide, before and after the treatment; with -weights, augmented NILM fields", runProbe},
		{"synth", "-n N -seed S -o DIR [-size WxH] [-counts HSIL=..,LSIL=..]", "write a synthetic LBC dataset (DIR/HSIL, DIR/LSIL, DIR/NILM, DIR/SCC)", runSynth},
		{"serve", "[-addr 127.0.0.1:8080] [-dir web]", "serve the built site (make build) to a browser, on this machine only by default", runServe},
		{"site", "-o OUT [-cases DIR] [-list CASES.csv] [-web web]", "write the static site with a teacher's cases: a folder per class or a cases.csv (file,class,note,difficulty,id)", runSite},
		{"version", "", "print the build: module version, VCS revision and whether it had uncommitted changes, Go version (also papscope -version)", runVersion},
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command line and returns the process exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "-version" || args[0] == "--version" {
		args = append([]string{"version"}, args[1:]...)
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(args[1:], stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			fmt.Fprintf(stderr, "papscope %s: %v\nusage: papscope %s %s\n", c.name, err, c.name, c.args)
			return 2
		case errors.Is(err, errSomeFailed):
			return 1
		default:
			fmt.Fprintf(stderr, "papscope %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "papscope: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "papscope classifies Pap-smear (LBC) images into HSIL, LSIL, NILM and SCC.\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "%s\n      %s\n", strings.TrimRight(fmt.Sprintf("  papscope %-9s %s", c.name, c.args), " "), c.help)
	}
	fmt.Fprintln(w, "\nRun papscope COMMAND -h for a command's flags. Flags may also follow the file names; \"--\" ends them.")
}

// newFlagSet returns a flag set that reports errors to stderr instead of exiting.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("papscope "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args with fs, reading flags before, between and after
// the positional arguments (the flag package alone stops at the first
// positional one), and turns a flag mistake into errUsage. "--" ends the
// flags: every argument after it is positional, even one starting with "-".
// Afterwards fs.Args() holds the positional arguments, in order.
func parseFlags(fs *flag.FlagSet, args []string) error {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if endedByDashDash(fs, args[:len(args)-len(rest)]) {
			positional = append(positional, rest...)
			break
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
	// "--" alone sets no flag and leaves the positional arguments as fs.Args().
	return fs.Parse(append([]string{"--"}, positional...))
}

// endedByDashDash reports whether one fs.Parse, which consumed the arguments
// consumed, stopped at the "--" that ends the flags rather than at a
// positional argument: a "--" in flag position, not the value of a flag.
func endedByDashDash(fs *flag.FlagSet, consumed []string) bool {
	for i := 0; i < len(consumed); i++ {
		a := consumed[i]
		if a == "--" {
			return true
		}
		name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		if strings.Contains(name, "=") {
			continue
		}
		if f := fs.Lookup(name); f != nil {
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !b.IsBoolFlag() {
				i++ // the flag's value is the next argument
			}
		}
	}
	return false
}
