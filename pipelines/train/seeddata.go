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
// records are left out and returned as dropped.
func ReadSFTRows(path string) (rows []schemas.SFTRow, dropped []Dropped, err error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("train: %w", err)
	}
	if st.IsDir() {
		dir := path
		if sub := filepath.Join(path, schemas.RowSFT); fileExists(sub) {
			dir = sub
		}
		rows, err = dataset.ReadAll[schemas.SFTRow](dir)
		ids := frameIDs{}
		for i := range rows {
			ids.fix(i, &rows[i])
		}
		return rows, nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("train: %w", err)
	}
	defer f.Close()
	ids := frameIDs{}
	err = schemas.DecodeSeed(f, func(i int, r schemas.SFTRow, rerr error) error {
		if rerr != nil {
			dropped = append(dropped, malformed(i, rerr))
			return nil
		}
		ids.fix(i, &r)
		rows = append(rows, r)
		return nil
	})
	return rows, dropped, err
}

// frameIDs gives every row an id that names its frames alone, since training finds a row's frames
// by its id: a row without one becomes "record N" and a row whose id an earlier row gave to
// other frames becomes "ID#N" (N: its index in the file). Rows that share an id and frames
// (several conversations about one video) keep it.
type frameIDs map[string]string // id → its frames

func (f frameIDs) fix(i int, r *schemas.SFTRow) {
	frames := strings.Join(r.FramePaths(), "\x00")
	switch prev, ok := f[r.ID]; {
	case r.ID == "":
		r.ID = fmt.Sprintf("record %d", i)
	case ok && prev != frames:
		r.ID = fmt.Sprintf("%s#%d", r.ID, i)
	case !ok:
		f[r.ID] = frames
	}
}

// malformed is the drop of seed record i (its index in the JSON array: it has no usable id).
func malformed(i int, err error) Dropped {
	return Dropped{ID: fmt.Sprintf("record %d", i), Kind: DropMalformed, Reason: err.Error()}
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
// ImageSize² and cuts it into patches. A row with one `image` repeats it in every frame. A row
// whose frame is missing or does not decode is left out and returned as dropped.
func LoadSeedVideos(rows []schemas.SFTRow, imageFolder string, vc model.VisionConfig) (map[string]*ClipVideo, []Dropped) {
	out := make(map[string]*ClipVideo, len(rows))
	var dropped []Dropped
	for _, r := range rows {
		cv, err := loadSeedVideo(r, imageFolder, vc)
		if err != nil {
			dropped = append(dropped, Dropped{ID: r.ID, Kind: DropFrames, Reason: err.Error()})
			continue
		}
		out[r.ID] = cv
	}
	return out, dropped
}

func loadSeedVideo(r schemas.SFTRow, imageFolder string, vc model.VisionConfig) (*ClipVideo, error) {
	paths := r.FramePaths()
	cv := &ClipVideo{}
	for _, i := range frames.UniformIndices(int64(len(paths)), vc.NumFrames) {
		p := filepath.Join(imageFolder, filepath.FromSlash(strings.TrimPrefix(paths[i], "/")))
		img, err := readImage(p)
		if err != nil {
			return nil, err
		}
		patches, err := model.PatchifyImage(model.PadResize(img, vc.ImageSize), vc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		cv.Full = append(cv.Full, patches...)
	}
	return cv, nil
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
