package safetensors

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"
)

// tensorInfo is one tensor's header entry.
type tensorInfo struct {
	name       string
	dtype      string
	shape      []int
	begin, end uint64
}

// entry is one key and raw value of a JSON object.
type entry struct {
	key   string
	value json.RawMessage
}

// parseHeader parses and validates the JSON header: a UTF-8 object that starts with '{', has
// no duplicate keys, and holds tensor entries and an optional "__metadata__" object of strings.
// Trailing whitespace (the padding) is allowed. It does not check the data offsets against each
// other; checkLayout does.
func parseHeader(header []byte) ([]tensorInfo, map[string]string, error) {
	if !utf8.Valid(header) {
		return nil, nil, invalidf("header is not valid UTF-8")
	}
	if len(header) == 0 || header[0] != '{' {
		return nil, nil, invalidf("header does not start with '{'")
	}
	if !json.Valid(header) {
		return nil, nil, invalidf("header is not well-formed JSON")
	}
	entries, err := objectEntries(header)
	if err != nil {
		return nil, nil, invalidf("header: %v", err)
	}
	var (
		infos    = make([]tensorInfo, 0, len(entries))
		metadata map[string]string
	)
	for _, e := range entries {
		if e.key == metadataKey {
			if metadata, err = parseMetadata(e.value); err != nil {
				return nil, nil, err
			}
			continue
		}
		in, err := parseTensorInfo(e.key, e.value)
		if err != nil {
			return nil, nil, err
		}
		infos = append(infos, in)
	}
	return infos, metadata, nil
}

// parseMetadata parses the "__metadata__" value: an object of strings, or null for none.
func parseMetadata(raw json.RawMessage) (map[string]string, error) {
	if string(raw) == "null" {
		return nil, nil
	}
	entries, err := objectEntries(raw)
	if err != nil {
		return nil, invalidf("%s: %v", metadataKey, err)
	}
	m := make(map[string]string, len(entries))
	for _, e := range entries {
		var v string
		if e.value[0] != '"' || json.Unmarshal(e.value, &v) != nil {
			return nil, invalidf("%s: value of %q is %s, not a string", metadataKey, e.key, e.value)
		}
		m[e.key] = v
	}
	return m, nil
}

// parseTensorInfo parses a tensor's {"dtype", "shape", "data_offsets"} object; every field is
// required and no other is allowed.
func parseTensorInfo(name string, raw json.RawMessage) (tensorInfo, error) {
	in := tensorInfo{name: name}
	entries, err := objectEntries(raw)
	if err != nil {
		return in, invalidf("tensor %q: %v", name, err)
	}
	var haveDType, haveShape, haveOffsets bool
	for _, e := range entries {
		switch e.key {
		case "dtype":
			haveDType = true
			if e.value[0] != '"' || json.Unmarshal(e.value, &in.dtype) != nil {
				return in, invalidf("tensor %q: dtype %s is not a string", name, e.value)
			}
			if _, ok := dtypeSizes[in.dtype]; !ok {
				return in, invalidf("tensor %q: unknown dtype %q", name, in.dtype)
			}
		case "shape":
			haveShape = true
			dims, err := uintArray(e.value)
			if err != nil {
				return in, invalidf("tensor %q: shape %s: %v", name, e.value, err)
			}
			in.shape = make([]int, len(dims))
			for i, d := range dims {
				if d > math.MaxInt {
					return in, invalidf("tensor %q: shape %s: dimension too large", name, e.value)
				}
				in.shape[i] = int(d)
			}
		case "data_offsets":
			haveOffsets = true
			offs, err := uintArray(e.value)
			if err == nil && len(offs) != 2 {
				err = errNotPair
			}
			if err != nil {
				return in, invalidf("tensor %q: data_offsets %s: %v", name, e.value, err)
			}
			in.begin, in.end = offs[0], offs[1]
		default:
			return in, invalidf("tensor %q: unknown field %q", name, e.key)
		}
	}
	switch {
	case !haveDType:
		return in, invalidf("tensor %q: missing dtype", name)
	case !haveShape:
		return in, invalidf("tensor %q: missing shape", name)
	case !haveOffsets:
		return in, invalidf("tensor %q: missing data_offsets", name)
	}
	return in, nil
}

type headerError string

func (e headerError) Error() string { return string(e) }

const (
	errNotObject  = headerError("not a JSON object")
	errNotArray   = headerError("not a JSON array")
	errNotUint    = headerError("not an array of non-negative integers")
	errNotPair    = headerError("not a pair [begin, end]")
	errDuplicated = headerError("duplicate key")
)

// uintArray decodes a JSON array of non-negative integers that fit in a uint64. Unlike
// json.Unmarshal, it rejects null elements.
func uintArray(raw json.RawMessage) ([]uint64, error) {
	if raw[0] != '[' {
		return nil, errNotArray
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // '['
		return nil, err
	}
	var v []uint64
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		num, ok := tok.(json.Number)
		if !ok {
			return nil, errNotUint
		}
		u, err := strconv.ParseUint(string(num), 10, 64)
		if err != nil {
			return nil, errNotUint
		}
		v = append(v, u)
	}
	return v, nil
}

// objectEntries returns the entries of the JSON object raw, which must be well-formed, in order.
// A key that appears twice (after unescaping) is an error.
func objectEntries(raw json.RawMessage) ([]entry, error) {
	if len(raw) == 0 || raw[0] != '{' {
		return nil, errNotObject
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // '{'
		return nil, err
	}
	var entries []entry
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errNotObject
		}
		if seen[key] {
			return nil, headerError(string(errDuplicated) + " " + quote(key))
		}
		seen[key] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		entries = append(entries, entry{key, v})
	}
	return entries, nil
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
