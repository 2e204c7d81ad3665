package frames

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/vrlaif/vrlaif/schemas"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/gcs"   // gs://
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local" // plain paths
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/memfs" // memfs:// (tests)
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/s3"    // s3://
	"github.com/parquet-go/parquet-go"
)

// isRemote reports whether uri names a non-local filesystem (gs://, s3://, memfs://, …).
func isRemote(uri string) bool {
	i := strings.Index(uri, "://")
	return i > 0 && uri[:i] != "file"
}

func localPath(uri string) string { return strings.TrimPrefix(uri, "file://") }

// Fetch returns a local path for uri, downloading remote files to a temporary file that cleanup
// removes.
func Fetch(ctx context.Context, uri string) (path string, cleanup func(), err error) {
	if !isRemote(uri) {
		return localPath(uri), func() {}, nil
	}
	fs, err := filesystem.New(ctx, uri)
	if err != nil {
		return "", nil, failf(ErrUnreadable, "%v", err)
	}
	defer fs.Close()
	r, err := fs.OpenRead(ctx, uri)
	if err != nil {
		return "", nil, failf(ErrUnreadable, "opening %s: %v", uri, err)
	}
	defer r.Close()
	f, err := os.CreateTemp("", "vrlaif-fetch-*"+filepath.Ext(uri))
	if err != nil {
		return "", nil, failf(ErrUnreadable, "%v", err)
	}
	cleanup = func() { os.Remove(f.Name()) }
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		cleanup()
		return "", nil, failf(ErrUnreadable, "downloading %s: %v", uri, err)
	}
	return f.Name(), cleanup, nil
}

// ListInputs expands an input spec into video URIs: a manifest (.jsonl with a "uri", "path" or
// "video" field per line; .csv with such a column or a single column; .parquet with such a
// column), a directory (its files, recursively, hidden ones skipped), a glob (local or remote),
// or a single file. Relative paths in a manifest are resolved against the manifest's folder. A
// manifest line or row that names no video (malformed, or without the field) is returned as a
// dead letter naming its place (file:line), and the rest are listed.
func ListInputs(ctx context.Context, spec string) ([]string, []schemas.DeadLetter, error) {
	if !isRemote(spec) {
		p := localPath(spec)
		if st, err := os.Stat(p); err == nil {
			if st.IsDir() {
				out, err := listDir(p)
				return out, nil, err
			}
			switch strings.ToLower(filepath.Ext(p)) {
			case ".jsonl", ".ndjson":
				return readJSONLManifest(p)
			case ".csv":
				return readCSVManifest(p)
			case ".parquet":
				out, err := readParquetManifest(p)
				return out, nil, err
			}
			return []string{p}, nil, nil
		}
		matches, err := filepath.Glob(p)
		if err != nil {
			return nil, nil, fmt.Errorf("frames: bad glob %q: %w", spec, err)
		}
		if len(matches) == 0 {
			return nil, nil, fmt.Errorf("frames: %q matches no file", spec)
		}
		sort.Strings(matches)
		return matches, nil, nil
	}
	fs, err := filesystem.New(ctx, spec)
	if err != nil {
		return nil, nil, fmt.Errorf("frames: %w", err)
	}
	defer fs.Close()
	out, err := fs.List(ctx, spec)
	if err != nil {
		return nil, nil, fmt.Errorf("frames: listing %s: %w", spec, err)
	}
	sort.Strings(out)
	return out, nil, nil
}

func listDir(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && p != dir {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("frames: listing %s: %w", dir, err)
	}
	sort.Strings(out)
	return out, nil
}

var manifestKeys = []string{"uri", "path", "video"}

func resolve(base, p string) string {
	if p == "" || isRemote(p) || filepath.IsAbs(localPath(p)) {
		return p
	}
	return filepath.Join(filepath.Dir(base), p)
}

// badEntry is the dead letter of a manifest line or row (ref: file:line) that names no video.
func badEntry(ref, msg string) schemas.DeadLetter {
	return schemas.DeadLetter{ID: schemas.DeadLetterID(Stage, ref), Stage: Stage, InputRef: ref, ErrorKind: "bad_record",
		Message: msg, CreatedMicros: time.Now().UnixMicro()}
}

func readJSONLManifest(path string) ([]string, []schemas.DeadLetter, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("frames: %w", err)
	}
	var out []string
	var bad []schemas.DeadLetter
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		ref := fmt.Sprintf("%s:%d", filepath.Base(path), i+1)
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			bad = append(bad, badEntry(ref, "malformed JSON: "+err.Error()))
			continue
		}
		uri := ""
		for _, k := range manifestKeys {
			if s, ok := m[k].(string); ok && s != "" {
				uri = s
				break
			}
		}
		if uri == "" {
			bad = append(bad, badEntry(ref, fmt.Sprintf("the line has none of the fields %v", manifestKeys)))
			continue
		}
		out = append(out, resolve(path, uri))
	}
	return out, bad, nil
}

func readCSVManifest(path string) ([]string, []schemas.DeadLetter, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("frames: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	type rec struct {
		line   int
		fields []string
	}
	var recs []rec
	var bad []schemas.DeadLetter
	for {
		fields, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			bad = append(bad, badEntry(fmt.Sprintf("%s:%d", filepath.Base(path), pe.StartLine), pe.Error()))
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("frames: %s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		recs = append(recs, rec{line, fields})
	}
	if len(recs) == 0 {
		return nil, bad, nil
	}
	col, start := 0, 0
	for i, h := range recs[0].fields {
		for _, k := range manifestKeys {
			if strings.EqualFold(strings.TrimSpace(h), k) {
				col, start = i, 1
			}
		}
	}
	if start == 0 && len(recs[0].fields) > 1 {
		return nil, nil, fmt.Errorf("frames: %s has several columns but none is named one of %v", path, manifestKeys)
	}
	var out []string
	for _, r := range recs[start:] {
		if col >= len(r.fields) || strings.TrimSpace(r.fields[col]) == "" {
			bad = append(bad, badEntry(fmt.Sprintf("%s:%d", filepath.Base(path), r.line), "the row names no video"))
			continue
		}
		out = append(out, resolve(path, strings.TrimSpace(r.fields[col])))
	}
	return out, bad, nil
}

func readParquetManifest(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("frames: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("frames: %w", err)
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("frames: %s: %w", path, err)
	}
	for _, k := range manifestKeys {
		col, ok := pf.Schema().Lookup(k)
		if !ok {
			continue
		}
		var out []string
		for _, rg := range pf.RowGroups() {
			pages := rg.ColumnChunks()[col.ColumnIndex].Pages()
			for {
				pg, err := pages.ReadPage()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					pages.Close()
					return nil, fmt.Errorf("frames: %s: %w", path, err)
				}
				vals := make([]parquet.Value, pg.NumValues())
				n, _ := pg.Values().ReadValues(vals)
				for _, v := range vals[:n] {
					if !v.IsNull() {
						out = append(out, resolve(path, v.String()))
					}
				}
				parquet.Release(pg)
			}
			pages.Close()
		}
		return out, nil
	}
	return nil, fmt.Errorf("frames: %s has none of the columns %v", path, manifestKeys)
}
