// Package synth is vrlaif's synthetic video world: short H.264 clips of coloured shapes that
// appear, move, stop and disappear over plain backgrounds, each with exact ground truth (objects,
// tracks, events with time spans), detailed descriptions of the whole clip and of its thirds, and
// question/answer items in the Video-ChatGPT benchmark's categories. Everything is deterministic
// from (seed, index), so a clip is the same whatever the size of the world it belongs to.
// It is the embedded default data, the test fixture, and the scorer's ground truth.
package synth
