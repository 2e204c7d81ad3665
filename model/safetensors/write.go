package safetensors

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"unicode/utf8"
)

// metadataKey is the header key that holds the file's string metadata.
const metadataKey = "__metadata__"

// Write writes tensors and metadata to w in safetensors format. The tensors are laid out in the
// buffer in the order given; the header lists "__metadata__" first (omitted if metadata is
// empty) and then the tensors sorted by name. Tensor names must be unique, valid UTF-8 and not
// "__metadata__"; each tensor must have a supported dtype and exactly the data its shape needs.
func Write(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	header, err := encodeHeader(tensors, metadata)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	prefix := binary.LittleEndian.AppendUint64(make([]byte, 0, 8+len(header)), uint64(len(header)))
	if _, err := bw.Write(append(prefix, header...)); err != nil {
		return fmt.Errorf("safetensors: writing header: %w", err)
	}
	for _, t := range tensors {
		if _, err := bw.Write(t.Data); err != nil {
			return fmt.Errorf("safetensors: writing tensor %q: %w", t.Name, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("safetensors: writing: %w", err)
	}
	return nil
}

// WriteFile writes tensors and metadata to the file at path, as Write does. It writes a
// temporary file in the same directory, syncs it and renames it over path, so path holds
// either the old contents or the complete new file.
func WriteFile(path string, tensors []Tensor, metadata map[string]string) (err error) {
	// Validate first so that a bad tensor leaves no temporary file behind.
	if _, err := encodeHeader(tensors, metadata); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("safetensors: creating temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := Write(f, tensors, metadata); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("safetensors: setting permissions: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("safetensors: syncing %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("safetensors: closing %s: %w", f.Name(), err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("safetensors: renaming into place: %w", err)
	}
	return nil
}

// encodeHeader validates the tensors and metadata and returns the JSON header, padded with
// spaces to a multiple of 8 bytes.
func encodeHeader(tensors []Tensor, metadata map[string]string) ([]byte, error) {
	offsets := make(map[string][2]int, len(tensors))
	names := make([]string, 0, len(tensors))
	off := 0
	for _, t := range tensors {
		if t.Name == metadataKey {
			return nil, fmt.Errorf("safetensors: tensor name %q is reserved", metadataKey)
		}
		if !utf8.ValidString(t.Name) {
			return nil, fmt.Errorf("safetensors: tensor name %q is not valid UTF-8", t.Name)
		}
		if _, dup := offsets[t.Name]; dup {
			return nil, fmt.Errorf("safetensors: duplicate tensor name %q", t.Name)
		}
		if err := t.validate(); err != nil {
			return nil, err
		}
		offsets[t.Name] = [2]int{off, off + len(t.Data)}
		names = append(names, t.Name)
		off += len(t.Data)
	}
	slices.Sort(names)
	byName := make(map[string]Tensor, len(tensors))
	for _, t := range tensors {
		byName[t.Name] = t
	}

	var b bytes.Buffer
	b.WriteByte('{')
	if len(metadata) > 0 {
		keys := make([]string, 0, len(metadata))
		for k, v := range metadata {
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				return nil, fmt.Errorf("safetensors: metadata %q: %q is not valid UTF-8", k, v)
			}
			keys = append(keys, k)
		}
		slices.Sort(keys)
		writeJSONString(&b, metadataKey)
		b.WriteString(":{")
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(&b, k)
			b.WriteByte(':')
			writeJSONString(&b, metadata[k])
		}
		b.WriteByte('}')
	}
	for i, name := range names {
		if i > 0 || len(metadata) > 0 {
			b.WriteByte(',')
		}
		t := byName[name]
		writeJSONString(&b, name)
		b.WriteString(`:{"dtype":`)
		writeJSONString(&b, t.DType)
		b.WriteString(`,"shape":[`)
		for j, d := range t.Shape {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(d))
		}
		o := offsets[name]
		fmt.Fprintf(&b, `],"data_offsets":[%d,%d]}`, o[0], o[1])
	}
	b.WriteByte('}')
	for b.Len()%8 != 0 {
		b.WriteByte(' ')
	}
	if b.Len() > maxHeaderSize {
		return nil, errors.New("safetensors: header exceeds 100 MB")
	}
	return b.Bytes(), nil
}

// writeJSONString writes s, which must be valid UTF-8, as a JSON string, escaping exactly what
// serde_json (which the Python library uses) escapes.
func writeJSONString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			b.WriteString(`\"`)
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\b':
			b.WriteString(`\b`)
		case c == '\f':
			b.WriteString(`\f`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}
