package webui

import (
	"fmt"
	"os"
	"sync"

	"github.com/parquet-go/parquet-go"
	"github.com/vrlaif/vrlaif/internal/dataset"
	"github.com/vrlaif/vrlaif/schemas"
)

// clipStore reads single clips' frames from a clips/ dataset: an index of ids (the id column only)
// built on first use, then one row read by seeking, with the last few clips kept.
type clipStore struct {
	dir    string
	once   sync.Once
	idx    map[string]rowRef
	idxErr error
	mu     sync.Mutex
	recent []schemas.Clip // most recent last
	keep   int
}

type rowRef struct {
	shard string
	row   int64
}

func newClipStore(dir string) *clipStore { return &clipStore{dir: dir, keep: 8} }

func (c *clipStore) index() (map[string]rowRef, error) {
	c.once.Do(func() {
		c.idx = map[string]rowRef{}
		shards, err := dataset.Shards(c.dir)
		if err != nil {
			c.idxErr = err
			return
		}
		for _, s := range shards {
			if err := indexShard(s, c.idx); err != nil {
				c.idxErr = err
				return
			}
		}
	})
	return c.idx, c.idxErr
}

func indexShard(path string, idx map[string]rowRef) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("webui: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("webui: %w", err)
	}
	pf, err := parquet.OpenFile(f, st.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return fmt.Errorf("webui: opening %s: %w", path, err)
	}
	leaf, ok := pf.Schema().Lookup("id")
	if !ok {
		return fmt.Errorf("webui: %s has no id column", path)
	}
	var row int64
	buf := make([]parquet.Value, 256)
	for _, rg := range pf.RowGroups() {
		pages := rg.ColumnChunks()[leaf.ColumnIndex].Pages()
		for {
			page, err := pages.ReadPage()
			if err != nil {
				break // io.EOF, or a damaged page: the rows after it stay unindexed
			}
			vr := page.Values()
			for {
				n, err := vr.ReadValues(buf)
				for _, v := range buf[:n] {
					idx[v.String()] = rowRef{shard: path, row: row}
					row++
				}
				if err != nil {
					break
				}
			}
		}
		pages.Close()
	}
	return nil
}

// get returns the clip with this id.
func (c *clipStore) get(id string) (schemas.Clip, bool, error) {
	c.mu.Lock()
	for i, cl := range c.recent {
		if cl.ID == id {
			c.recent = append(append(c.recent[:i:i], c.recent[i+1:]...), cl)
			c.mu.Unlock()
			return cl, true, nil
		}
	}
	c.mu.Unlock()
	idx, err := c.index()
	if err != nil {
		return schemas.Clip{}, false, err
	}
	ref, ok := idx[id]
	if !ok {
		return schemas.Clip{}, false, nil
	}
	cl, err := readRow(ref)
	if err != nil {
		return schemas.Clip{}, false, err
	}
	c.mu.Lock()
	c.recent = append(c.recent, cl)
	if len(c.recent) > c.keep {
		c.recent = c.recent[1:]
	}
	c.mu.Unlock()
	return cl, true, nil
}

func readRow(ref rowRef) (schemas.Clip, error) {
	f, err := os.Open(ref.shard)
	if err != nil {
		return schemas.Clip{}, fmt.Errorf("webui: %w", err)
	}
	defer f.Close()
	r := parquet.NewGenericReader[schemas.Clip](f)
	defer r.Close()
	if err := r.SeekToRow(ref.row); err != nil {
		return schemas.Clip{}, fmt.Errorf("webui: seeking to row %d of %s: %w", ref.row, ref.shard, err)
	}
	rows := make([]schemas.Clip, 1)
	if n, err := r.Read(rows); n != 1 {
		return schemas.Clip{}, fmt.Errorf("webui: reading row %d of %s: %v", ref.row, ref.shard, err)
	}
	return rows[0], nil
}
