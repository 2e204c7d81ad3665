package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vrlaif/vrlaif/internal/dataset"
	"github.com/vrlaif/vrlaif/schemas"
)

// exportFrames writes each clip's JPEGs as out/<video>/image_01.jpg …, the seed's layout.
func exportFrames(clipsDir, out string) error {
	if shards, err := dataset.Shards(clipsDir); err != nil || len(shards) == 0 {
		return fmt.Errorf("export: no clip shards in %s (%v)", clipsDir, err)
	}
	used := map[string]string{} // folder name → clip id
	clips, files := 0, 0
	err := dataset.Read(clipsDir, func(c schemas.Clip) error {
		name := videoName(c.SourceURI)
		if id, taken := used[name]; taken && id != c.ID {
			name += "-" + c.ID[:8] // same file name from two folders, or two sampling settings
		}
		used[name] = c.ID
		dir := filepath.Join(out, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		width := max(2, len(fmt.Sprint(len(c.Frames))))
		for i, jpg := range c.Frames {
			p := filepath.Join(dir, fmt.Sprintf("image_%0*d.jpg", width, i+1))
			if err := os.WriteFile(p, jpg, 0o644); err != nil {
				return err
			}
			files++
		}
		clips++
		return nil
	})
	if err != nil {
		return err
	}
	report("export: %d clips, %d frames → %s", clips, files, out)
	return nil
}

func videoName(uri string) string {
	base := filepath.Base(strings.TrimRight(uri, "/"))
	return strings.TrimSuffix(base, filepath.Ext(base))
}
