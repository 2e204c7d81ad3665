package schemas

import (
	"crypto/sha256"
	"encoding/hex"
)

// SamplingSpec is how frames were sampled from a video; it is part of a clip's identity.
type SamplingSpec struct {
	Frames  int32   `parquet:"frames" beam:"frames" json:"frames"`      // N uniform samples (0 when FPS is used)
	FPS     float64 `parquet:"fps" beam:"fps" json:"fps"`               // fixed sampling rate (0 when Frames is used)
	Size    int32   `parquet:"size" beam:"size" json:"size"`            // target size in pixels (0 = keep)
	Resize  string  `parquet:"resize,dict" beam:"resize" json:"resize"` // "short" (shorter side = Size) or "square"
	Pad     bool    `parquet:"pad" beam:"pad" json:"pad"`               // pad to a square with (122,116,104) first
	Quality int32   `parquet:"quality" beam:"quality" json:"quality"`   // JPEG quality 1..100
}

// Clip is one video's sampled frames: the rows of `clips/`.
type Clip struct {
	ID              string       `parquet:"id" beam:"id" json:"id"` // hash of the video's content + Sampling
	SourceURI       string       `parquet:"source_uri" beam:"source_uri" json:"source_uri"`
	ContentSHA256   string       `parquet:"content_sha256" beam:"content_sha256" json:"content_sha256"`
	Codec           string       `parquet:"codec,dict" beam:"codec" json:"codec"`
	PixelFormat     string       `parquet:"pixel_format,dict" beam:"pixel_format" json:"pixel_format"`
	Width           int32        `parquet:"width" beam:"width" json:"width"`          // coded width, before rotation
	Height          int32        `parquet:"height" beam:"height" json:"height"`       // coded height, before rotation
	Rotation        int32        `parquet:"rotation" beam:"rotation" json:"rotation"` // degrees clockwise applied to frames
	FPS             float64      `parquet:"fps" beam:"fps" json:"fps"`
	DurationSeconds float64      `parquet:"duration_seconds" beam:"duration_seconds" json:"duration_seconds"`
	FrameCount      int64        `parquet:"frame_count" beam:"frame_count" json:"frame_count"` // frames in the stream (estimated when the container does not say)
	Sampling        SamplingSpec `parquet:"sampling" beam:"sampling" json:"sampling"`
	// PlannedSeconds are the target times of the plan; TimestampsSeconds are the presentation
	// times of the frames actually taken (they differ by less than a frame on a well-formed file).
	PlannedSeconds    []float64 `parquet:"planned_seconds,list" beam:"planned_seconds" json:"planned_seconds"`
	TimestampsSeconds []float64 `parquet:"timestamps_seconds,list" beam:"timestamps_seconds" json:"timestamps_seconds"`
	FrameWidth        int32     `parquet:"frame_width" beam:"frame_width" json:"frame_width"`
	FrameHeight       int32     `parquet:"frame_height" beam:"frame_height" json:"frame_height"`
	// Frames are JPEG files, stored uncompressed (JPEG does not compress further).
	Frames        [][]byte `parquet:"frames,list,uncompressed" beam:"frames" json:"-"`
	DecodedFrames int64    `parquet:"decoded_frames" beam:"decoded_frames" json:"decoded_frames"` // work done: frames decoded
	Seeks         int32    `parquet:"seeks" beam:"seeks" json:"seeks"`
	CreatedMicros int64    `parquet:"created_micros,timestamp(microsecond)" beam:"created_micros" json:"created_micros"`
}

// DeadLetter is one input that a stage could not process: the rows of `deadletter/`.
type DeadLetter struct {
	ID            string `parquet:"id" beam:"id" json:"id"`                      // hash of stage and input_ref (DeadLetterID); empty in files from before it existed
	Stage         string `parquet:"stage,dict" beam:"stage" json:"stage"`        // e.g. "frames"
	InputRef      string `parquet:"input_ref" beam:"input_ref" json:"input_ref"` // a URI or a row id
	ErrorKind     string `parquet:"error_kind,dict" beam:"error_kind" json:"error_kind"`
	Message       string `parquet:"message" beam:"message" json:"message"`
	Detail        string `parquet:"detail" beam:"detail" json:"detail"` // e.g. the captured FFmpeg log
	CreatedMicros int64  `parquet:"created_micros,timestamp(microsecond)" beam:"created_micros" json:"created_micros"`
}

// DeadLetterID is a dead letter's deterministic id: the same input failing in the same stage
// again is the same row (a re-run does not duplicate it).
func DeadLetterID(stage, inputRef string) string {
	sum := sha256.Sum256([]byte(stage + "\x00" + inputRef))
	return hex.EncodeToString(sum[:16])
}
