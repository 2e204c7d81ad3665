package webui

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/vrlaif/vrlaif/internal/dataset"
	"github.com/vrlaif/vrlaif/internal/reviewmarks"
	"github.com/vrlaif/vrlaif/schemas"
)

// errNoDataset is a dataset name the library did not hand out.
var errNoDataset = errors.New("webui: no such feedback dataset")

// maxDepth is how deep below the data folder feedback outputs are looked for.
const maxDepth = 4

// library is the data folder: the feedback outputs found in it, each loaded on first use and
// reloaded when its shards change.
type library struct {
	root string
	mu   sync.Mutex
	sets map[string]*feedbackSet // by name: the folder's path relative to root, "." for root itself
}

func newLibrary(root string) (*library, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("webui: %w", err)
	}
	return &library{root: abs, sets: map[string]*feedbackSet{}}, nil
}

// skipped are folders that never hold feedback outputs but can be large.
var skipped = map[string]bool{schemas.RowClip: true, schemas.RowNarrative: true, schemas.RowResponse: true,
	schemas.RowDeadLetter: true, schemas.RowPreference: true, schemas.RowReviewMark: true, "videos": true,
	"truth": true, "cache": true, "node_modules": true, "nats": true, "jetstream": true}

// scan lists the feedback outputs under root: folders holding preferences/ shards.
func (l *library) scan() ([]string, error) {
	var names []string
	err := filepath.WalkDir(l.root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == l.root {
				return err
			}
			return fs.SkipDir // an unreadable subfolder is not ours to show
		}
		if !d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(l.root, path)
		if rel != "." && (strings.HasPrefix(d.Name(), ".") || skipped[d.Name()] || strings.Count(rel, string(filepath.Separator)) >= maxDepth) {
			return fs.SkipDir
		}
		if shards, _ := dataset.Shards(filepath.Join(path, schemas.RowPreference)); len(shards) > 0 {
			names = append(names, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("webui: scanning %s: %w", l.root, err)
	}
	sort.Strings(names)
	return names, nil
}

// open returns the named set, loading it when it is new or its shards changed. Only names that a
// scan of the data folder finds are accepted, so a name from the browser never becomes a path.
func (l *library) open(name string) (*feedbackSet, error) {
	names, err := l.scan()
	if err != nil {
		return nil, err
	}
	if i := sort.SearchStrings(names, name); i == len(names) || names[i] != name {
		return nil, fmt.Errorf("%w: %q", errNoDataset, name)
	}
	dir := filepath.Join(l.root, filepath.FromSlash(name))
	sig, err := signature(dir)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if s, ok := l.sets[name]; ok && s.sig == sig {
		return s, nil
	}
	s, err := loadSet(l.root, name, dir)
	if err != nil {
		return nil, err
	}
	s.sig = sig
	l.sets[name] = s
	return s, nil
}

// signature changes when a shard of preferences/ or deadletter/ is added, removed or rewritten.
func signature(dir string) (string, error) {
	var b strings.Builder
	for _, sub := range []string{schemas.RowPreference, schemas.RowDeadLetter} {
		shards, err := dataset.Shards(filepath.Join(dir, sub))
		if err != nil {
			return "", fmt.Errorf("webui: %w", err)
		}
		for _, s := range shards {
			st, err := os.Stat(s)
			if err != nil {
				return "", fmt.Errorf("webui: %w", err)
			}
			fmt.Fprintf(&b, "%s %d %d\n", s, st.Size(), st.ModTime().UnixNano())
		}
	}
	return b.String(), nil
}

// feedbackSet is one feedback output folder in memory: its preferences (sorted by clip, question
// and id, the order pages are cut in), dead letters, summary, marks, and where its frames are.
type feedbackSet struct {
	name, dir string
	sig       string
	prefs     []schemas.Preference
	byID      map[string]int
	dead      []schemas.DeadLetter
	summary   schemas.Summary
	identical int
	templates []string
	marks     *reviewmarks.Store
	clips     *clipStore // nil when the generate folder with the clips cannot be found
}

func loadSet(root, name, dir string) (*feedbackSet, error) {
	prefs, err := dataset.ReadAll[schemas.Preference](filepath.Join(dir, schemas.RowPreference))
	if err != nil {
		return nil, fmt.Errorf("webui: reading %s: %w", name, err)
	}
	dead, err := dataset.ReadAll[schemas.DeadLetter](filepath.Join(dir, schemas.RowDeadLetter))
	if err != nil {
		return nil, fmt.Errorf("webui: reading the dead letters of %s: %w", name, err)
	}
	slices.SortFunc(prefs, func(a, b schemas.Preference) int {
		return cmp.Or(cmp.Compare(a.ClipID, b.ClipID), cmp.Compare(a.QuestionID, b.QuestionID), cmp.Compare(a.ID, b.ID))
	})
	s := &feedbackSet{name: name, dir: dir, prefs: prefs, byID: make(map[string]int, len(prefs)), dead: dead,
		marks: reviewmarks.NewStore(dir)}
	seen := map[string]bool{}
	for i, p := range prefs {
		s.byID[p.ID] = i
		if !seen[p.Judge.Template] {
			seen[p.Judge.Template] = true
			s.templates = append(s.templates, p.Judge.Template)
		}
	}
	sort.Strings(s.templates)
	if b, err := os.ReadFile(filepath.Join(dir, "summary.json")); err == nil {
		json.Unmarshal(b, &s.summary) // a summary that does not parse only costs the identical-pair count
		if js, ok := s.summary.Extra["judge_stats"].(map[string]any); ok {
			if n, ok := js["identical"].(float64); ok {
				s.identical = int(n)
			}
		}
	}
	if cd := clipsDir(root, dir, s.summary); cd != "" {
		s.clips = newClipStore(cd)
		// The generate run's dead letters (videos that could not be read, paths refused) belong to
		// the same review: a pair that never came to be is as worth a look as a wrong label.
		if gen := filepath.Dir(cd); gen != dir {
			more, err := dataset.ReadAll[schemas.DeadLetter](filepath.Join(gen, schemas.RowDeadLetter))
			if err != nil {
				return nil, fmt.Errorf("webui: reading the dead letters of %s: %w", gen, err)
			}
			s.dead = append(s.dead, more...)
		}
	}
	sort.Slice(s.dead, func(i, j int) bool {
		a, b := s.dead[i], s.dead[j]
		if a.Stage != b.Stage {
			return a.Stage < b.Stage
		}
		return a.ID < b.ID
	})
	return s, nil
}

// clipsDir finds the clips/ of the generate folder a feedback run read (its summary's "input"):
// as recorded (relative paths from the working folder), a folder of that name beside the feedback
// folder (both moved together), relative to the data folder; or clips/ inside the feedback folder.
func clipsDir(root, dir string, s schemas.Summary) string {
	var cands []string
	if in, ok := s.Settings["input"].(string); ok && in != "" {
		cands = append(cands, in, filepath.Join(filepath.Dir(dir), filepath.Base(in))) // as recorded; moved along with the feedback folder
		if !filepath.IsAbs(in) {
			cands = append(cands, filepath.Join(root, in))
		}
	}
	cands = append(cands, dir)
	for _, c := range cands {
		cd := filepath.Join(c, schemas.RowClip)
		if shards, _ := dataset.Shards(cd); len(shards) > 0 {
			return cd
		}
	}
	return ""
}
