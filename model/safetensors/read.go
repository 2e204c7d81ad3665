package safetensors

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
)

// maxHeaderSize is the largest header Read accepts, as in the reference implementation.
const maxHeaderSize = 100_000_000

// ErrInvalid is wrapped by every error Read returns for a malformed file.
var ErrInvalid = errors.New("safetensors: invalid file")

// File is a parsed safetensors file, with all tensor data in memory.
type File struct {
	names    []string          // sorted
	tensors  map[string]Tensor // Data slices share one buffer
	metadata map[string]string
}

// Names returns the tensor names, sorted.
func (f *File) Names() []string { return slices.Clone(f.names) }

// Tensor returns the named tensor and whether the file has it. The returned Data shares the
// file's memory; copy it before modifying it.
func (f *File) Tensor(name string) (Tensor, bool) {
	t, ok := f.tensors[name]
	t.Shape = slices.Clone(t.Shape)
	return t, ok
}

// Metadata returns a copy of the file's "__metadata__" map, nil if the file has none.
func (f *File) Metadata() map[string]string { return maps.Clone(f.metadata) }

// ReadFile reads and validates the safetensors file at path.
func ReadFile(path string) (*File, error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	defer fd.Close()
	st, err := fd.Stat()
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	f, err := Read(fd, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%w (reading %s)", err, path)
	}
	return f, nil
}

// Read reads and validates a safetensors file of size bytes from r, and loads all tensor data
// into memory. Every problem with the file is reported as an error wrapping ErrInvalid; I/O
// errors are wrapped as they are.
func Read(r io.ReaderAt, size int64) (*File, error) {
	if size < 8 {
		return nil, invalidf("file is %d bytes, too short for the 8-byte header length", size)
	}
	var nb [8]byte
	if err := readAt(r, nb[:], 0); err != nil {
		return nil, fmt.Errorf("safetensors: reading header length: %w", err)
	}
	n := binary.LittleEndian.Uint64(nb[:])
	if n > maxHeaderSize {
		return nil, invalidf("header length %d exceeds %d", n, maxHeaderSize)
	}
	if n > uint64(size-8) {
		return nil, invalidf("header length %d exceeds the %d bytes after it", n, size-8)
	}
	header := make([]byte, n)
	if err := readAt(r, header, 8); err != nil {
		return nil, fmt.Errorf("safetensors: reading header: %w", err)
	}
	infos, metadata, err := parseHeader(header)
	if err != nil {
		return nil, err
	}
	bufLen := size - 8 - int64(n)
	if bufLen > math.MaxInt {
		return nil, invalidf("data buffer of %d bytes is too large", bufLen)
	}
	if err := checkLayout(infos, uint64(bufLen)); err != nil {
		return nil, err
	}

	var buf []byte
	if bufLen > 0 {
		// Check the reader really holds size bytes before allocating the buffer.
		var last [1]byte
		if err := readAt(r, last[:], size-1); err != nil {
			return nil, fmt.Errorf("safetensors: reading data: %w", err)
		}
		buf = make([]byte, bufLen)
		if err := readAt(r, buf, 8+int64(n)); err != nil {
			return nil, fmt.Errorf("safetensors: reading data: %w", err)
		}
	}
	f := &File{
		names:    make([]string, 0, len(infos)),
		tensors:  make(map[string]Tensor, len(infos)),
		metadata: metadata,
	}
	for _, in := range infos {
		f.names = append(f.names, in.name)
		f.tensors[in.name] = Tensor{
			Name:  in.name,
			DType: in.dtype,
			Shape: in.shape,
			Data:  buf[in.begin:in.end:in.end],
		}
	}
	slices.Sort(f.names)
	return f, nil
}

// checkLayout checks that the tensors cover the buffer's bufLen bytes exactly, without gaps or
// overlaps, and that each has the size its dtype and shape require.
func checkLayout(infos []tensorInfo, bufLen uint64) error {
	sorted := slices.Clone(infos)
	slices.SortFunc(sorted, func(a, b tensorInfo) int {
		if a.begin != b.begin {
			return cmpUint64(a.begin, b.begin)
		}
		return cmpUint64(a.end, b.end)
	})
	var next uint64
	for _, in := range sorted {
		if in.end < in.begin {
			return invalidf("tensor %q: data_offsets [%d, %d] end before they begin", in.name, in.begin, in.end)
		}
		if in.end > bufLen {
			return invalidf("tensor %q: data_offsets [%d, %d] exceed the %d-byte buffer",
				in.name, in.begin, in.end, bufLen)
		}
		switch {
		case in.begin < next:
			return invalidf("tensor %q: data_offsets [%d, %d] overlap the previous tensor, which ends at %d",
				in.name, in.begin, in.end, next)
		case in.begin > next:
			return invalidf("tensor %q: data_offsets [%d, %d] leave a gap after offset %d",
				in.name, in.begin, in.end, next)
		}
		n, err := numElements(in.shape)
		if err != nil {
			return invalidf("tensor %q: %v", in.name, err)
		}
		size := uint64(dtypeSizes[in.dtype])
		if uint64(n) > math.MaxUint64/size || uint64(n)*size != in.end-in.begin {
			return invalidf("tensor %q: data_offsets [%d, %d] span %d bytes, but %s %v needs %d elements of %d bytes",
				in.name, in.begin, in.end, in.end-in.begin, in.dtype, in.shape, n, size)
		}
		next = in.end
	}
	if next != bufLen {
		return invalidf("tensors cover %d bytes of the %d-byte buffer", next, bufLen)
	}
	return nil
}

func cmpUint64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// readAt fills p from r at off, treating a short read as io.ErrUnexpectedEOF.
func readAt(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// invalidf returns an error wrapping ErrInvalid.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}
