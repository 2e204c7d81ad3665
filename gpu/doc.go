// Package gpu is the home of vrlaif's numeric kernels: a Device interface, CPU reference kernels
// with their exact math in doc comments, and CUDA kernels on gorgonia.org/cu behind the `cuda` build
// tag. It lands with its own issue.
package gpu
