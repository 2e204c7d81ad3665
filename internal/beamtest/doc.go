// Package beamtest runs Beam pipelines in tests against a real, separate Prism job server,
// the way a deployed pipeline is submitted, instead of the in-process Prism that ptest uses.
//
// StartPrism builds Beam's cmd/prism from this module's Beam version (once per test binary;
// the binary is kept in the user's cache folder, keyed by Go and Beam versions, so later runs
// reuse it), starts it on a free port chosen by the kernel, waits until its job service
// answers and stops it, with its whole process group, when the test ends. Run submits a
// pipeline to it with the universal runner and --environment_type=LOOPBACK, so the workers
// run inside the test process.
//
// The test binary must initialise Beam (ptest.Main or beam.Init in TestMain) and register
// its DoFns and functions (beam/register), as for any non-direct runner. Set VRLAIF_PRISM to
// the path of a prism binary to skip the build.
//
// Prism's job port listens on all interfaces (cmd/prism has no bind-address flag); its web UI
// is turned off here.
package beamtest
