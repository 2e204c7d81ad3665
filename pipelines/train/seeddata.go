package train

import (
	"fmt"
	"hash/fnv"
	"image"
	_ "image/jpeg" // seed frames are JPEG
	_ "image/png"
	"os"
	"path/filepath"
	"strings"

	"github.com/vrlaif/vrlaif/internal/dataset"
	"github.com/vrlaif/vrlaif/model"
	"github.com/vrlaif/vrlaif/schemas"
	"github.com/vrlaif/vrlaif/transforms/frames"
)

// ReadSFTRows reads SFT records from a seed JSON file (SFT_short.json, PPO_init.json, …) or from
// a Parquet dataset made by `vrlaif import --format sft` (the folder or its parent). Malformed JSON
// records are skipped and counted.
func ReadSFTRows(path string) (rows []schemas.SFTRow, skipped int, err error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, 0, fmt.Errorf("train: %w", err)
	}
	if st.IsDir() {
		dir := path
		if sub := filepath.Join(path, schemas.RowSFT); fileExists(sub) {
			dir = sub
		}
		rows, err = dataset.ReadAll[schemas.SFTRow](dir)
		return rows, 0, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("train: %w", err)
	}
	defer f.Close()
	err = schemas.DecodeSeed(f, func(_ int, r schemas.SFTRow, rerr error) error {
		if rerr != nil {
			skipped++
			return nil
		}
		rows = append(rows, r)
		return nil
	})
	return rows, skipped, err
}

// SeedExamples turns SFT rows into examples; one row in ten (by a hash of its id) is held out.
func SeedExamples(rows []schemas.SFTRow) []Example {
	out := make([]Example, 0, len(rows))
	for _, r := range rows {
		h := fnv.New32a()
		h.Write([]byte(r.ID))
		split := "train"
		if h.Sum32()%10 == 0 {
			split = "heldout"
		}
		out = append(out, Example{ClipID: r.ID, Video: VideoFull, Kind: "seed", Split: split, Conv: r.Conversations})
	}
	return out
}

// LoadSeedVideos reads each row's frames (paths relative to imageFolder), takes NumFrames of them
// with the seed's uniform rule, pads each to a square with the seed's fill, resizes it to
// ImageSize² and cuts it into patches. A row with one `image` repeats it in every frame.
func LoadSeedVideos(rows []schemas.SFTRow, imageFolder string, vc model.VisionConfig) (map[string]*ClipVideo, error) {
	out := make(map[string]*ClipVideo, len(rows))
	for _, r := range rows {
		paths := r.Images
		if len(paths) == 0 {
			paths = []string{r.Image}
		}
		cv := &ClipVideo{}
		for _, i := range frames.UniformIndices(int64(len(paths)), vc.NumFrames) {
			p := filepath.Join(imageFolder, filepath.FromSlash(strings.TrimPrefix(paths[i], "/")))
			img, err := readImage(p)
			if err != nil {
				return nil, fmt.Errorf("train: record %s: %w", r.ID, err)
			}
			patches, err := model.PatchifyImage(model.PadResize(img, vc.ImageSize), vc)
			if err != nil {
				return nil, fmt.Errorf("train: record %s: %w", r.ID, err)
			}
			cv.Full = append(cv.Full, patches...)
		}
		out[r.ID] = cv
	}
	return out, nil
}

func readImage(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("decoding %s: %w", path, err)
	}
	return img, nil
}
