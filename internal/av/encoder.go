package av

import (
	"errors"
	"fmt"

	"github.com/asticode/go-astiav"
)

// EncoderParams describes a video file to write.
type EncoderParams struct {
	Codec   string             // encoder name, e.g. "libx264", "libx265", "libvpx-vp9", "mpeg2video"
	Format  string             // container name; empty guesses it from the file extension
	Width   int                // frame width in pixels
	Height  int                // frame height in pixels
	FPS     int                // constant frame rate
	GOP     int                // keyframe interval in frames; 0 means the encoder's default
	PixFmt  astiav.PixelFormat // encoder pixel format; PixelFormatNone means yuv420p
	Options map[string]string  // private encoder options, e.g. {"preset": "veryfast"}
	// Rotation asks players to rotate the picture clockwise by this many degrees for display
	// (a display matrix in the stream's side data, as phones write).
	Rotation int
}

// Encoder writes RGB24 images as a video file through FFmpeg.
type Encoder struct {
	p      EncoderParams
	fc     *astiav.FormatContext
	io     *astiav.IOContext
	cc     *astiav.CodecContext
	st     *astiav.Stream
	sws    *astiav.SoftwareScaleContext
	rgb    *astiav.Frame
	yuv    *astiav.Frame
	pkt    *astiav.Packet
	next   int64
	log    Log
	closed bool
}

// NewEncoder opens path for writing.
func NewEncoder(path string, p EncoderParams) (_ *Encoder, err error) {
	if p.Width <= 0 || p.Height <= 0 || p.FPS <= 0 {
		return nil, fmt.Errorf("av: bad encoder size %dx%d@%d", p.Width, p.Height, p.FPS)
	}
	if p.PixFmt == astiav.PixelFormatNone || p.PixFmt == 0 {
		p.PixFmt = astiav.PixelFormatYuv420P
	}
	e := &Encoder{p: p}
	defer func() {
		if err != nil {
			e.free()
		}
	}()
	codec := astiav.FindEncoderByName(p.Codec)
	if codec == nil {
		return nil, fmt.Errorf("av: encoder %q not available in this FFmpeg", p.Codec)
	}
	if e.fc, err = astiav.AllocOutputFormatContext(nil, p.Format, path); err != nil {
		return nil, fmt.Errorf("av: allocating output for %s: %w", path, err)
	}
	Attach(e.fc, &e.log)
	if e.st = e.fc.NewStream(nil); e.st == nil {
		return nil, errors.New("av: creating stream")
	}
	if e.cc = astiav.AllocCodecContext(codec); e.cc == nil {
		return nil, errors.New("av: allocating codec context")
	}
	Attach(e.cc, &e.log)
	e.cc.SetWidth(p.Width)
	e.cc.SetHeight(p.Height)
	e.cc.SetPixelFormat(p.PixFmt)
	e.cc.SetTimeBase(astiav.NewRational(1, p.FPS))
	e.cc.SetFramerate(astiav.NewRational(p.FPS, 1))
	if p.GOP > 0 {
		e.cc.SetGopSize(p.GOP)
	}
	if e.fc.OutputFormat().Flags().Has(astiav.IOFormatFlagGlobalheader) {
		e.cc.SetFlags(e.cc.Flags().Add(astiav.CodecContextFlagGlobalHeader))
	}
	opts := astiav.NewDictionary()
	defer opts.Free()
	for k, v := range p.Options {
		if err := opts.Set(k, v, astiav.NewDictionaryFlags()); err != nil {
			return nil, fmt.Errorf("av: option %s: %w", k, err)
		}
	}
	if err = e.cc.Open(codec, opts); err != nil {
		return nil, fmt.Errorf("av: opening encoder %s: %w (%s)", p.Codec, err, e.log.String())
	}
	if err = e.st.CodecParameters().FromCodecContext(e.cc); err != nil {
		return nil, fmt.Errorf("av: codec parameters: %w", err)
	}
	e.st.SetTimeBase(e.cc.TimeBase())
	if p.Rotation != 0 {
		// av_display_rotation_set takes a clockwise angle; the FFmpeg CLI then autorotates clockwise.
		m := astiav.NewDisplayMatrixFromRotation(float64(p.Rotation))
		if err = e.st.AddSideData(astiav.PacketSideDataTypeDisplaymatrix, m.Bytes()); err != nil {
			return nil, fmt.Errorf("av: rotation side data: %w", err)
		}
	}
	if !e.fc.OutputFormat().Flags().Has(astiav.IOFormatFlagNofile) {
		if e.io, err = astiav.OpenIOContext(path, astiav.NewIOContextFlags(astiav.IOContextFlagWrite)); err != nil {
			return nil, fmt.Errorf("av: opening %s: %w", path, err)
		}
		e.fc.SetPb(e.io)
	}
	if err = e.fc.WriteHeader(nil); err != nil {
		return nil, fmt.Errorf("av: writing header: %w", err)
	}
	if e.sws, err = astiav.CreateSoftwareScaleContext(p.Width, p.Height, astiav.PixelFormatRgb24,
		p.Width, p.Height, p.PixFmt, astiav.NewSoftwareScaleContextFlags(astiav.SoftwareScaleContextFlagBicubic)); err != nil {
		return nil, fmt.Errorf("av: scale context: %w", err)
	}
	e.rgb, e.yuv, e.pkt = astiav.AllocFrame(), astiav.AllocFrame(), astiav.AllocPacket()
	e.rgb.SetWidth(p.Width)
	e.rgb.SetHeight(p.Height)
	e.rgb.SetPixelFormat(astiav.PixelFormatRgb24)
	if err = e.rgb.AllocBuffer(0); err != nil {
		return nil, fmt.Errorf("av: allocating frame: %w", err)
	}
	return e, nil
}

// WriteRGB encodes one frame given as packed RGB24 rows (len = Width*Height*3).
func (e *Encoder) WriteRGB(rgb []byte) error {
	w, h := e.p.Width, e.p.Height
	if len(rgb) != w*h*3 {
		return fmt.Errorf("av: frame has %d bytes, want %d", len(rgb), w*h*3)
	}
	if err := MakeWritable(e.rgb); err != nil {
		return err
	}
	dst, stride := Plane(e.rgb, 0)
	for y := 0; y < h; y++ {
		copy(dst[y*stride:y*stride+w*3], rgb[y*w*3:(y+1)*w*3])
	}
	e.yuv.Unref()
	if err := e.sws.ScaleFrame(e.rgb, e.yuv); err != nil {
		return fmt.Errorf("av: converting frame: %w", err)
	}
	e.yuv.SetPts(e.next)
	e.next++
	return e.encode(e.yuv)
}

func (e *Encoder) encode(f *astiav.Frame) error {
	if err := e.cc.SendFrame(f); err != nil {
		return fmt.Errorf("av: sending frame: %w", err)
	}
	for {
		if err := e.cc.ReceivePacket(e.pkt); err != nil {
			if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
				return nil
			}
			return fmt.Errorf("av: receiving packet: %w", err)
		}
		e.pkt.SetStreamIndex(e.st.Index())
		if e.pkt.Duration() == 0 {
			e.pkt.SetDuration(1)
		}
		e.pkt.RescaleTs(e.cc.TimeBase(), e.st.TimeBase())
		err := e.fc.WriteInterleavedFrame(e.pkt)
		e.pkt.Unref()
		if err != nil {
			return fmt.Errorf("av: writing packet: %w", err)
		}
	}
}

// Close flushes the encoder, writes the trailer and frees everything.
func (e *Encoder) Close() error {
	if e.closed {
		return nil
	}
	e.closed = true
	defer e.free()
	if err := e.encode(nil); err != nil {
		return err
	}
	if err := e.fc.WriteTrailer(); err != nil {
		return fmt.Errorf("av: writing trailer: %w", err)
	}
	return nil
}

func (e *Encoder) free() {
	for _, f := range []*astiav.Frame{e.rgb, e.yuv} {
		if f != nil {
			f.Free()
		}
	}
	if e.pkt != nil {
		e.pkt.Free()
	}
	if e.sws != nil {
		e.sws.Free()
	}
	if e.cc != nil {
		Detach(e.cc)
		e.cc.Free()
	}
	if e.io != nil {
		_ = e.io.Close()
	}
	if e.fc != nil {
		Detach(e.fc)
		e.fc.Free()
	}
}
