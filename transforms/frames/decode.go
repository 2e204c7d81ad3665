package frames

import (
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/asticode/go-astiav"
	"github.com/vrlaif/vrlaif/internal/av"
)

// source is one opened video stream with its decoder.
type source struct {
	fc  *astiav.FormatContext
	st  *astiav.Stream
	cc  *astiav.CodecContext
	pkt *astiav.Packet
	frm *astiav.Frame
	log *av.Log

	info      Info
	tb        astiav.Rational
	startPts  int64
	frameDur  float64 // one frame, in time-base units
	keyframes []int64 // keyframe timestamps from the container's index, ascending
	gop       int64   // median keyframe interval, time-base units

	eofSent bool
	// byPTS: the container's timestamps are trusted (it has a complete index), so a frame's index
	// is its timestamp over the frame duration, and frames no sample needs may be skipped.
	byPTS   bool
	wanted  map[int64]bool // frame indices in the plan, when byPTS
	skipOn  bool           // the decoder is skipping non-reference frames
	decoded int64
	seeks   int
	badPkts int
}

// Info is what probing a file tells.
type Info struct {
	Codec       string
	PixelFormat string
	Width       int
	Height      int
	FPS         float64
	Duration    float64 // seconds
	FrameCount  int64   // from the container, or estimated from duration × fps
	Rotation    int     // clockwise degrees to apply for display: 0, 90, 180 or 270
	Keyframes   int     // entries in the keyframe index (0: no index, no seeking)
}

// openSource opens path and its best video stream's decoder.
func openSource(path string, p Params, log *av.Log) (_ *source, err error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, failf(ErrUnreadable, "%v", err)
	}
	if st.Size() == 0 {
		return nil, failf(ErrNotVideo, "empty file")
	}
	s := &source{log: log}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if s.fc, err = openInput(path, log); err != nil {
		if looksLikeContainer(path) {
			return nil, failf(ErrCorrupt, "container header found but it cannot be opened: %v", err)
		}
		return nil, failf(ErrNotVideo, "%v", err)
	}
	if err := s.fc.FindStreamInfo(nil); err != nil {
		return nil, failf(ErrCorrupt, "reading stream info: %v", err)
	}
	for _, cand := range s.fc.Streams() {
		if cand.CodecParameters().MediaType() == astiav.MediaTypeVideo && !av.IsAttachedPicture(cand) {
			s.st = cand
			break
		}
	}
	if s.st == nil {
		return nil, failf(ErrNoVideoStream, "%d streams, none is video", s.fc.NbStreams())
	}
	cp := s.st.CodecParameters()
	codec := astiav.FindDecoder(cp.CodecID())
	if codec == nil {
		return nil, failf(ErrUnsupportedCodec, "no decoder for codec %q in this FFmpeg", cp.CodecID().Name())
	}
	s.info = Info{Codec: cp.CodecID().Name(), Width: cp.Width(), Height: cp.Height()}
	if cp.Width() <= 0 || cp.Height() <= 0 {
		return nil, failf(ErrCorrupt, "video stream has no size (%dx%d)", cp.Width(), cp.Height())
	}
	if px := int64(cp.Width()) * int64(cp.Height()); px > p.Limits.MaxPixels {
		return nil, failf(ErrOverLimit, "%dx%d is %d pixels, limit %d", cp.Width(), cp.Height(), px, p.Limits.MaxPixels)
	}
	if s.cc = astiav.AllocCodecContext(codec); s.cc == nil {
		return nil, failf(ErrInternal, "allocating decoder")
	}
	av.Attach(s.cc, log)
	if err := cp.ToCodecContext(s.cc); err != nil {
		return nil, failf(ErrCorrupt, "codec parameters: %v", err)
	}
	s.cc.SetThreadCount(p.DecodeThreads)
	if err := s.cc.Open(codec, nil); err != nil {
		return nil, failf(ErrUnsupportedCodec, "opening %s decoder: %v", codec.Name(), err)
	}
	s.info.PixelFormat = s.cc.PixelFormat().Name()
	s.probeTiming()
	if s.st.NbFrames() <= 0 {
		// The container does not say how many frames it holds (MPEG-PS/TS, WebM, raw streams);
		// count the packets in a demux-only pass, which is cheap next to decoding.
		n, err := countPackets(path, s.st.Index(), time.Now().Add(p.Limits.MaxDecodeTime))
		if err != nil {
			return nil, err
		}
		if n > 0 {
			s.info.FrameCount = n
		}
	}
	if s.info.Duration > p.Limits.MaxDuration.Seconds() {
		return nil, failf(ErrOverLimit, "duration %.0f s, limit %s", s.info.Duration, p.Limits.MaxDuration)
	}
	if b := s.st.SideData(astiav.PacketSideDataTypeDisplaymatrix); len(b) >= 36 {
		if m, err := astiav.NewDisplayMatrixFromBytes(b); err == nil {
			s.info.Rotation = displayRotation(m.Rotation())
		}
	}
	// Seek only where the container carries a complete index: MP4/MOV and AVI (which state the
	// frame count) and Matroska/WebM (cues). MPEG-PS/TS indexes are built while reading.
	fmtName := s.fc.InputFormat().Name()
	if s.st.NbFrames() > 0 || strings.Contains(fmtName, "matroska") {
		s.keyframes = av.KeyframeIndex(s.st)
		s.byPTS = len(s.keyframes) > 0
	}
	slices.Sort(s.keyframes)
	s.info.Keyframes = len(s.keyframes)
	s.gop = medianGap(s.keyframes)
	s.pkt, s.frm = astiav.AllocPacket(), astiav.AllocFrame()
	return s, nil
}

func (s *source) probeTiming() {
	s.tb = s.st.TimeBase()
	fps := s.st.AvgFrameRate().Float64()
	if !(fps > 0 && fps < 1000) {
		fps = s.st.RFrameRate().Float64()
	}
	if !(fps > 0 && fps < 1000) {
		fps = 25
	}
	s.info.FPS = fps
	s.startPts = s.st.StartTime()
	if s.startPts == av.NoPTS {
		s.startPts = 0
	}
	tb := s.tb.Float64()
	switch {
	case s.st.Duration() > 0:
		s.info.Duration = float64(s.st.Duration()) * tb
	case s.fc.Duration() > 0:
		s.info.Duration = float64(s.fc.Duration()) / 1e6
	}
	s.info.FrameCount = s.st.NbFrames()
	if s.info.FrameCount <= 0 {
		s.info.FrameCount = int64(math.Round(s.info.Duration * fps))
	}
	s.frameDur = 1 / (fps * tb)
}

// openInput opens a local file for demuxing, its FFmpeg log routed to log. Only the file protocol
// is allowed, so a crafted playlist cannot make FFmpeg fetch other files or URLs.
func openInput(path string, log *av.Log) (*astiav.FormatContext, error) {
	fc := astiav.AllocFormatContext()
	av.Attach(fc, log)
	opts := astiav.NewDictionary()
	defer opts.Free()
	_ = opts.Set("protocol_whitelist", "file", astiav.NewDictionaryFlags())
	abs, _ := filepath.Abs(path)
	if err := fc.OpenInput("file:"+abs, nil, opts); err != nil {
		av.Detach(fc)
		fc.Free() // avformat_open_input freed the C context; this drops go-astiav's registration
		return nil, err
	}
	return fc, nil
}

// countPackets counts the packets of one stream in a demux-only pass.
func countPackets(path string, stream int, deadline time.Time) (int64, error) {
	var log av.Log
	fc, err := openInput(path, &log)
	if err != nil {
		return 0, failf(ErrCorrupt, "reopening to count frames: %v", err)
	}
	defer func() {
		av.Detach(fc)
		fc.CloseInput()
		fc.Free()
	}()
	pkt := astiav.AllocPacket()
	defer pkt.Free()
	var n int64
	for {
		if err := fc.ReadFrame(pkt); err != nil {
			return n, nil // end of file, or damage that decoding will report
		}
		if pkt.StreamIndex() == stream {
			n++
		}
		pkt.Unref()
		if n%4096 == 0 && time.Now().After(deadline) {
			return 0, failf(ErrOverLimit, "counting frames took too long")
		}
	}
}

// displayRotation snaps the clockwise angle of a display matrix (go-astiav's Rotation, which
// is FFmpeg's -av_display_rotation_get, the angle the ffmpeg CLI autorotates by) to 0, 90, 180
// or 270.
func displayRotation(cw float64) int {
	r := int(math.Round(cw/90)) * 90
	return ((r % 360) + 360) % 360
}

func medianGap(ts []int64) int64 {
	if len(ts) < 2 {
		return 0
	}
	gaps := make([]int64, len(ts)-1)
	for i := 1; i < len(ts); i++ {
		gaps[i-1] = ts[i] - ts[i-1]
	}
	slices.Sort(gaps)
	return gaps[len(gaps)/2]
}

// containerMagic are file-start signatures of media containers. A file that starts with one but
// cannot be opened is corrupt or truncated rather than "not a video".
var containerMagic = []struct {
	off   int
	magic []byte
}{
	{4, []byte("ftyp")},                 // MP4, MOV, 3GP
	{0, []byte{0x1a, 0x45, 0xdf, 0xa3}}, // Matroska, WebM
	{0, []byte("RIFF")},                 // AVI
	{0, []byte{0x00, 0x00, 0x01, 0xba}}, // MPEG-PS
	{0, []byte{0x47}},                   // MPEG-TS sync byte (checked again at 188)
	{0, []byte("FLV")},                  // FLV
	{0, []byte{0x30, 0x26, 0xb2, 0x75}}, // ASF/WMV
}

func looksLikeContainer(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 189)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	for _, m := range containerMagic {
		if len(head) >= m.off+len(m.magic) && bytes.Equal(head[m.off:m.off+len(m.magic)], m.magic) {
			if m.magic[0] == 0x47 && len(m.magic) == 1 && (len(head) < 189 || head[188] != 0x47) {
				continue
			}
			return true
		}
	}
	return false
}

func (s *source) close() {
	if s.frm != nil {
		s.frm.Free()
	}
	if s.pkt != nil {
		s.pkt.Free()
	}
	if s.cc != nil {
		av.Detach(s.cc)
		s.cc.Free()
	}
	if s.fc != nil {
		av.Detach(s.fc)
		s.fc.CloseInput()
		s.fc.Free()
	}
}

// nextFrame decodes the next frame into s.frm. It returns io.EOF at the end of the stream.
func (s *source) nextFrame(strict bool) error {
	for {
		s.frm.Unref()
		err := s.cc.ReceiveFrame(s.frm)
		if err == nil {
			s.decoded++
			return nil
		}
		if errors.Is(err, astiav.ErrEof) {
			return io.EOF
		}
		if !errors.Is(err, astiav.ErrEagain) {
			if strict {
				return failf(ErrCorrupt, "decoding: %v", err)
			}
			continue
		}
		if s.eofSent {
			return io.EOF
		}
		if err := s.feed(strict); err != nil {
			return err
		}
	}
}

// feed sends the next packet of the stream to the decoder (or the end-of-stream flush).
func (s *source) feed(strict bool) error {
	for {
		s.pkt.Unref()
		err := s.fc.ReadFrame(s.pkt)
		if err != nil {
			if !errors.Is(err, astiav.ErrEof) && strict {
				return failf(ErrCorrupt, "reading packets: %v", err)
			}
			s.eofSent = true
			if err := s.cc.SendPacket(nil); err != nil && !errors.Is(err, astiav.ErrEof) {
				return failf(ErrCorrupt, "flushing decoder: %v", err)
			}
			return nil
		}
		if s.pkt.StreamIndex() != s.st.Index() {
			continue
		}
		if s.wanted != nil {
			// A packet's pts is its frame's: let the decoder drop it if nothing references it.
			skip := s.pkt.Pts() != av.NoPTS && !s.wanted[s.toIndex(s.pkt.Pts())]
			if skip != s.skipOn {
				av.SkipNonRef(s.cc, skip)
				s.skipOn = skip
			}
		}
		if err := s.cc.SendPacket(s.pkt); err != nil && !errors.Is(err, astiav.ErrEagain) {
			s.badPkts++
			if strict {
				return failf(ErrCorrupt, "decoder rejected a packet at pts %d: %v", s.pkt.Pts(), err)
			}
			continue
		}
		return nil
	}
}

// seekTo jumps to the keyframe at ts (stream time base) and flushes the decoder.
func (s *source) seekTo(ts int64) error {
	if err := s.fc.SeekFrame(s.st.Index(), ts, astiav.NewSeekFlags(astiav.SeekFlagBackward)); err != nil {
		return failf(ErrCorrupt, "seeking to %d: %v", ts, err)
	}
	av.FlushDecoder(s.cc)
	s.eofSent = false
	s.seeks++
	return nil
}

// toIndex is the frame index of timestamp ts on a constant-rate grid.
func (s *source) toIndex(ts int64) int64 {
	return int64(math.Round(float64(ts-s.startPts) / s.frameDur))
}

// keyframeAtOrBefore returns the last indexed keyframe ≤ ts, or false.
func (s *source) keyframeAtOrBefore(ts int64) (int64, bool) {
	i := sort.Search(len(s.keyframes), func(i int) bool { return s.keyframes[i] > ts })
	if i == 0 {
		return 0, false
	}
	return s.keyframes[i-1], true
}

// roundMicro rounds seconds to whole microseconds, dropping float noise from time-base products.
func roundMicro(sec float64) float64 { return math.Round(sec*1e6) / 1e6 }
