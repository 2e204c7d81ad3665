package schemas

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// SeedRecord is a row type that reads and writes one record of a seed JSON file.
type SeedRecord interface {
	SFTRow | RMRow | RLRow
}

// DecodeSeed streams the JSON array r (a seed file of tens of thousands of records) and calls fn
// for each record in order, with the record's parse error if it is malformed: a bad record does
// not stop the stream. A syntax error in the array itself does, since nothing after it can be
// trusted; it is returned with the byte offset.
func DecodeSeed[T SeedRecord](r io.Reader, fn func(index int, row T, err error) error) error {
	dec := json.NewDecoder(bufio.NewReaderSize(r, 1<<20))
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("schemas: reading seed JSON: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return fmt.Errorf("schemas: seed JSON must be an array of records, starts with %v", tok)
	}
	for i := 0; dec.More(); i++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("schemas: seed JSON record %d (byte %d): %w", i, dec.InputOffset(), err)
		}
		var row T
		rerr := json.Unmarshal(raw, &row)
		if rerr != nil && !errors.Is(rerr, ErrBadRecord) {
			rerr = fmt.Errorf("%w: %v", ErrBadRecord, rerr)
		}
		if err := fn(i, row, rerr); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("schemas: seed JSON: unterminated array: %w", err)
	}
	return nil
}

// SeedEncoder writes records as a seed JSON array, one record per line.
type SeedEncoder struct {
	w     *bufio.Writer
	count int
}

// NewSeedEncoder starts an array on w.
func NewSeedEncoder(w io.Writer) *SeedEncoder { return &SeedEncoder{w: bufio.NewWriterSize(w, 1<<20)} }

// Encode appends one record.
func (e *SeedEncoder) Encode(rec any) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("schemas: encoding seed record %d: %w", e.count, err)
	}
	sep := ",\n "
	if e.count == 0 {
		sep = "[\n "
	}
	e.count++
	if _, err := e.w.WriteString(sep); err != nil {
		return err
	}
	_, err = e.w.Write(b)
	return err
}

// Close ends the array and flushes.
func (e *SeedEncoder) Close() error {
	end := "\n]\n"
	if e.count == 0 {
		end = "[]\n"
	}
	if _, err := e.w.WriteString(end); err != nil {
		return err
	}
	return e.w.Flush()
}
