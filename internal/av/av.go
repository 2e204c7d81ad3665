// Package av fills the gaps of go-astiav v0.16.0 (the version that matches Debian 12's FFmpeg 5.1)
// with a few lines of cgo: writing pixels into a frame, flushing a decoder after a seek, reading a
// stream's keyframe index, and routing FFmpeg's global log to the file that caused each line.
// It also holds the small video encoder used by the synthetic world and by test fixtures.
package av

/*
#cgo pkg-config: libavcodec libavformat libavutil
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/frame.h>

static int vrlaif_index_count(AVStream *st) { return avformat_index_get_entries_count(st); }
static int64_t vrlaif_index_ts(AVStream *st, int i, int *key) {
	const AVIndexEntry *e = avformat_index_get_entry(st, i);
	if (!e) { *key = 0; return 0; }
	*key = (e->flags & AVINDEX_KEYFRAME) != 0;
	return e->timestamp;
}
static int vrlaif_stream_index(AVStream *st) { return st->index; }
static int vrlaif_codec_width(AVCodecContext *cc) { return cc->width; }
static int vrlaif_attached_pic(AVStream *st) { return (st->disposition & AV_DISPOSITION_ATTACHED_PIC) != 0; }
static int vrlaif_frame_damaged(AVFrame *f) { return (f->flags & AV_FRAME_FLAG_CORRUPT) != 0 || f->decode_error_flags != 0; }
static int64_t vrlaif_best_effort_ts(AVFrame *f) { return f->best_effort_timestamp; }
static void vrlaif_set_quality(AVFrame *f, int q) { f->quality = q; }
static void vrlaif_skip_nonref(AVCodecContext *cc, int on) { cc->skip_frame = on ? AVDISCARD_NONREF : AVDISCARD_DEFAULT; }
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/asticode/go-astiav"
)

// go-astiav v0.16.0 keeps the C pointer as the first (unexported) field of Stream and
// CodecContext. We read it through unsafe and check the result against a public accessor,
// so a version bump that changes the layout panics loudly instead of corrupting memory.
func streamPtr(s *astiav.Stream) *C.AVStream {
	p := *(**C.AVStream)(unsafe.Pointer(s))
	if p == nil || int(C.vrlaif_stream_index(p)) != s.Index() {
		panic("av: go-astiav Stream layout changed; update internal/av")
	}
	return p
}

func codecContextPtr(cc *astiav.CodecContext) *C.AVCodecContext {
	p := *(**C.AVCodecContext)(unsafe.Pointer(cc))
	if p == nil || int(C.vrlaif_codec_width(p)) != cc.Width() {
		panic("av: go-astiav CodecContext layout changed; update internal/av")
	}
	return p
}

// KeyframeIndex returns the timestamps (in the stream's time base) of the keyframes the demuxer
// knows about, in index order. It is empty when the container has no index (raw streams, some
// MPEG-TS files); callers then fall back to a sequential pass.
func KeyframeIndex(s *astiav.Stream) []int64 {
	p := streamPtr(s)
	n := int(C.vrlaif_index_count(p))
	out := make([]int64, 0, n)
	for i := 0; i < n; i++ {
		var key C.int
		ts := int64(C.vrlaif_index_ts(p, C.int(i), &key))
		if key != 0 {
			out = append(out, ts)
		}
	}
	return out
}

// FlushDecoder drops the decoder's buffered frames (avcodec_flush_buffers), as needed after a
// seek; it is much cheaper than reopening the decoder.
func FlushDecoder(cc *astiav.CodecContext) {
	C.avcodec_flush_buffers(codecContextPtr(cc))
}

// Plane returns a view of plane i of a video frame (no copy) and its line size in bytes. The view
// is valid until the frame is unreferenced or freed.
func Plane(f *astiav.Frame, i int) ([]byte, int) {
	fp := (*C.AVFrame)(f.UnsafePointer())
	stride := int(fp.linesize[i])
	h := f.Height()
	if i > 0 {
		// Chroma planes of subsampled formats are shorter; callers index within their own bounds,
		// so expose the full luma height only for plane 0 and let the size follow from the format.
		h = chromaHeight(f.PixelFormat(), h)
	}
	if fp.data[i] == nil || stride <= 0 {
		return nil, 0
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(fp.data[i])), stride*h), stride
}

func chromaHeight(pf astiav.PixelFormat, h int) int {
	switch pf {
	case astiav.PixelFormatYuv420P, astiav.PixelFormatYuvj420P:
		return (h + 1) / 2
	default:
		return h
	}
}

// MakeWritable makes the frame's buffers writable (copying them if they are shared).
func MakeWritable(f *astiav.Frame) error {
	if r := C.av_frame_make_writable((*C.AVFrame)(f.UnsafePointer())); r < 0 {
		return fmt.Errorf("av: making frame writable: %w", astiav.Error(r))
	}
	return nil
}

// IsAttachedPicture reports whether a video stream is only cover art (AV_DISPOSITION_ATTACHED_PIC).
func IsAttachedPicture(s *astiav.Stream) bool { return C.vrlaif_attached_pic(streamPtr(s)) != 0 }

// FrameDamaged reports whether the decoder flagged the frame as corrupt or concealed errors in it.
func FrameDamaged(f *astiav.Frame) bool {
	return C.vrlaif_frame_damaged((*C.AVFrame)(f.UnsafePointer())) != 0
}

// BestEffortTimestamp is FFmpeg's best guess of the frame's presentation time (stream time base).
func BestEffortTimestamp(f *astiav.Frame) int64 {
	return int64(C.vrlaif_best_effort_ts((*C.AVFrame)(f.UnsafePointer())))
}

// NoPTS is AV_NOPTS_VALUE.
const NoPTS = int64(-0x8000000000000000)

// SetQuality sets the frame's quality (lambda) for encoders run with the qscale flag; lambda is
// qscale × FF_QP2LAMBDA (118).
func SetQuality(f *astiav.Frame, lambda int) {
	C.vrlaif_set_quality((*C.AVFrame)(f.UnsafePointer()), C.int(lambda))
}

// SkipNonRef makes the decoder drop (not decode) frames that no other frame references, for the
// packets sent from now on, or restores normal decoding.
func SkipNonRef(cc *astiav.CodecContext, on bool) {
	v := C.int(0)
	if on {
		v = 1
	}
	C.vrlaif_skip_nonref(codecContextPtr(cc), v)
}
