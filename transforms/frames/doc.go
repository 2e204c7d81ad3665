// Package frames decodes videos with FFmpeg (go-astiav) and samples frames from them: N frames
// spread uniformly with the seed's rule (frame indices linspace(0, n-1, N) truncated, first and
// last included) or frames at a fixed rate. Decoding is seek-aware: the plan is laid against the
// container's keyframe index, and the decoder seeks to the keyframe before a sample only when the
// gap to that sample exceeds a GOP, otherwise it decodes forward. Frames are rotated per the
// stream's display matrix, converted from any pixel format, resized (shorter side or square),
// optionally padded to a square with the seed's fill (122,116,104), and encoded as JPEG with
// FFmpeg's mjpeg encoder.
//
// Bad input never panics: every failure is a typed error (see Kind) carrying the file's captured
// FFmpeg log, and batch runs turn it into a dead-letter row. The package is usable without Beam.
package frames
