package frames

import (
	"errors"
	"math"

	"github.com/asticode/go-astiav"
	"github.com/vrlaif/vrlaif/internal/av"
)

// geometry is where a decoded frame ends up.
type geometry struct {
	scaledW, scaledH   int // the frame scaled, before rotation
	contentW, contentH int // the scaled frame after rotation
	outW, outH         int // the output image (content plus padding)
}

// layout computes the geometry for a coded srcW×srcH frame.
func layout(srcW, srcH, rotation int, p Params) geometry {
	dw, dh := srcW, srcH
	if rotation == 90 || rotation == 270 {
		dw, dh = dh, dw
	}
	var g geometry
	scaleTo := func(s float64) (int, int) {
		return max(1, int(math.Round(float64(dw)*s))), max(1, int(math.Round(float64(dh)*s)))
	}
	switch {
	case p.Pad && p.Size == 0:
		g.contentW, g.contentH = dw, dh
		g.outW, g.outH = max(dw, dh), max(dw, dh)
	case p.Pad:
		g.contentW, g.contentH = scaleTo(float64(p.Size) / float64(max(dw, dh)))
		g.outW, g.outH = p.Size, p.Size
	case p.Size == 0:
		g.contentW, g.contentH = dw, dh
		g.outW, g.outH = dw, dh
	case p.Resize == ResizeSquare:
		g.contentW, g.contentH = p.Size, p.Size
		g.outW, g.outH = p.Size, p.Size
	default: // ResizeShort
		g.contentW, g.contentH = scaleTo(float64(p.Size) / float64(min(dw, dh)))
		g.outW, g.outH = g.contentW, g.contentH
	}
	g.scaledW, g.scaledH = g.contentW, g.contentH
	if rotation == 90 || rotation == 270 {
		g.scaledW, g.scaledH = g.contentH, g.contentW
	}
	return g
}

// converter turns decoded frames into JPEG files. It caches its scale contexts and encoder and
// rebuilds them if the stream's frame size or pixel format changes.
type converter struct {
	p        Params
	rotation int
	log      *av.Log

	srcW, srcH int
	srcFmt     astiav.PixelFormat
	g          geometry
	direct     bool // no rotation and no padding: scale straight to the encoder's format

	sws    *astiav.SoftwareScaleContext // decoded → RGB24 (or → yuvj420p when direct)
	scaled *astiav.Frame
	canvas *astiav.Frame // RGB24 output image
	toYUV  *astiav.SoftwareScaleContext
	yuv    *astiav.Frame
	enc    *astiav.CodecContext
	pkt    *astiav.Packet
	lambda int
	pts    int64
}

func newConverter(p Params, rotation int, log *av.Log) *converter {
	return &converter{p: p, rotation: rotation, log: log, lambda: qualityLambda(p.Quality)}
}

// qualityLambda maps a JPEG quality (1..100, libjpeg's scale) to the mjpeg encoder's lambda. libjpeg
// scales its base tables by S = 5000/q (q < 50) or 200−2q percent; FFmpeg's qscale multiplies the
// same base tables by qscale/8, so qscale = S/12.5, clamped to 1..31, and lambda = qscale × 118.
func qualityLambda(q int) int {
	s := 200 - 2*float64(q)
	if q < 50 {
		s = 5000 / float64(q)
	}
	qscale := math.Min(31, math.Max(1, s/12.5))
	return int(math.Round(qscale * 118))
}

func (c *converter) close() {
	c.freeAll()
}

func (c *converter) freeAll() {
	for _, s := range []*astiav.SoftwareScaleContext{c.sws, c.toYUV} {
		if s != nil {
			s.Free()
		}
	}
	for _, f := range []*astiav.Frame{c.scaled, c.canvas, c.yuv} {
		if f != nil {
			f.Free()
		}
	}
	if c.enc != nil {
		av.Detach(c.enc)
		c.enc.Free()
	}
	if c.pkt != nil {
		c.pkt.Free()
	}
	c.sws, c.toYUV, c.scaled, c.canvas, c.yuv, c.enc, c.pkt = nil, nil, nil, nil, nil, nil, nil
}

func (c *converter) setup(f *astiav.Frame) error {
	c.freeAll()
	c.srcW, c.srcH, c.srcFmt = f.Width(), f.Height(), f.PixelFormat()
	c.g = layout(c.srcW, c.srcH, c.rotation, c.p)
	c.direct = c.rotation == 0 && c.g.contentW == c.g.outW && c.g.contentH == c.g.outH
	flags := astiav.NewSoftwareScaleContextFlags(astiav.SoftwareScaleContextFlagBicubic)
	var err error
	if c.direct {
		if c.sws, err = astiav.CreateSoftwareScaleContext(c.srcW, c.srcH, c.srcFmt, c.g.outW, c.g.outH, astiav.PixelFormatYuvj420P, flags); err != nil {
			return failf(ErrUnsupportedCodec, "converting %s: %v", c.srcFmt.Name(), err)
		}
	} else {
		if c.sws, err = astiav.CreateSoftwareScaleContext(c.srcW, c.srcH, c.srcFmt, c.g.scaledW, c.g.scaledH, astiav.PixelFormatRgb24, flags); err != nil {
			return failf(ErrUnsupportedCodec, "converting %s: %v", c.srcFmt.Name(), err)
		}
		if c.toYUV, err = astiav.CreateSoftwareScaleContext(c.g.outW, c.g.outH, astiav.PixelFormatRgb24, c.g.outW, c.g.outH, astiav.PixelFormatYuvj420P, flags); err != nil {
			return failf(ErrInternal, "rgb to yuv: %v", err)
		}
		c.scaled = astiav.AllocFrame()
		c.canvas = astiav.AllocFrame()
		c.canvas.SetWidth(c.g.outW)
		c.canvas.SetHeight(c.g.outH)
		c.canvas.SetPixelFormat(astiav.PixelFormatRgb24)
		if err := c.canvas.AllocBuffer(0); err != nil {
			return failf(ErrInternal, "allocating canvas: %v", err)
		}
	}
	c.yuv = astiav.AllocFrame()
	codec := astiav.FindEncoder(astiav.CodecIDMjpeg)
	if codec == nil {
		return failf(ErrInternal, "this FFmpeg has no mjpeg encoder")
	}
	c.enc = astiav.AllocCodecContext(codec)
	av.Attach(c.enc, c.log)
	c.enc.SetWidth(c.g.outW)
	c.enc.SetHeight(c.g.outH)
	c.enc.SetPixelFormat(astiav.PixelFormatYuvj420P)
	c.enc.SetTimeBase(astiav.NewRational(1, 25))
	c.enc.SetFlags(c.enc.Flags().Add(astiav.CodecContextFlagQscale))
	c.enc.SetQmin(1)
	if err := c.enc.Open(codec, nil); err != nil {
		return failf(ErrInternal, "opening mjpeg encoder: %v", err)
	}
	c.pkt = astiav.AllocPacket()
	return nil
}

// jpeg converts one decoded frame.
func (c *converter) jpeg(f *astiav.Frame) ([]byte, error) {
	if c.enc == nil || f.Width() != c.srcW || f.Height() != c.srcH || f.PixelFormat() != c.srcFmt {
		if err := c.setup(f); err != nil {
			return nil, err
		}
	}
	c.yuv.Unref()
	if c.direct {
		if err := c.sws.ScaleFrame(f, c.yuv); err != nil {
			return nil, failf(ErrCorrupt, "scaling: %v", err)
		}
	} else {
		c.scaled.Unref()
		if err := c.sws.ScaleFrame(f, c.scaled); err != nil {
			return nil, failf(ErrCorrupt, "scaling: %v", err)
		}
		if err := av.MakeWritable(c.canvas); err != nil {
			return nil, failf(ErrInternal, "%v", err)
		}
		src, sstride := av.Plane(c.scaled, 0)
		dst, dstride := av.Plane(c.canvas, 0)
		compose(dst, dstride, c.g, src, sstride, c.rotation)
		if err := c.toYUV.ScaleFrame(c.canvas, c.yuv); err != nil {
			return nil, failf(ErrInternal, "rgb to yuv: %v", err)
		}
	}
	av.SetQuality(c.yuv, c.lambda)
	c.yuv.SetPts(c.pts)
	c.pts++
	if err := c.enc.SendFrame(c.yuv); err != nil {
		return nil, failf(ErrInternal, "encoding jpeg: %v", err)
	}
	c.pkt.Unref()
	if err := c.enc.ReceivePacket(c.pkt); err != nil {
		if errors.Is(err, astiav.ErrEagain) {
			return nil, failf(ErrInternal, "mjpeg encoder held a frame back")
		}
		return nil, failf(ErrInternal, "encoding jpeg: %v", err)
	}
	return c.pkt.Data(), nil
}

// compose writes the rotated scaled image centred on a canvas filled with PadColor.
func compose(dst []byte, dstride int, g geometry, src []byte, sstride, rotation int) {
	ox, oy := (g.outW-g.contentW)/2, (g.outH-g.contentH)/2
	if ox > 0 || oy > 0 {
		for y := 0; y < g.outH; y++ {
			row := dst[y*dstride : y*dstride+g.outW*3]
			for x := 0; x < g.outW; x++ {
				copy(row[x*3:x*3+3], PadColor[:])
			}
		}
	}
	sw, sh := g.scaledW, g.scaledH
	for dy := 0; dy < g.contentH; dy++ {
		row := dst[(oy+dy)*dstride+ox*3:]
		if rotation == 0 {
			copy(row[:g.contentW*3], src[dy*sstride:dy*sstride+g.contentW*3])
			continue
		}
		for dx := 0; dx < g.contentW; dx++ {
			var sx, sy int
			switch rotation {
			case 90:
				sx, sy = dy, sh-1-dx
			case 180:
				sx, sy = sw-1-dx, sh-1-dy
			default: // 270
				sx, sy = sw-1-dy, dx
			}
			copy(row[dx*3:dx*3+3], src[sy*sstride+sx*3:sy*sstride+sx*3+3])
		}
	}
}
