package model

import (
	"fmt"
)

// Model is the built-in video language model: weights and gradients in flat buffers laid out by
// Params, with named views. A Model keeps its activations between Forward and Backward, so it is
// not safe for concurrent use: give each goroutine its own (weights can be copied with Load).
type Model struct {
	Config Config
	Params []Param
	W      []float32 // weights
	G      []float32 // gradients, same layout
	byName map[string]Param
	cos    []float32
	sin    []float32
	acts   *acts
	// LoRA, when attached, adds trainable adapters to the decoder's linear layers.
	LoRA *LoRA
	// Revision is the WeightsHash of the checkpoint the model was loaded from; empty for a model
	// built in memory. Merging an adapter does not change it.
	Revision string
	// FreezeVision makes Backward leave the vision tower's and projector's gradients at zero
	// (SFT after vision pretraining; the decoder still gets its gradients).
	FreezeVision bool
	// actsByShape caches activation buffers by batch shape.
	actsByShape map[[2]int]*acts
}

// New builds a model with freshly initialised weights (deterministic from seed).
func New(c Config, seed uint64) (*Model, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	m := &Model{Config: c, Params: layout(c), byName: map[string]Param{}}
	last := m.Params[len(m.Params)-1]
	m.W = make([]float32, last.Offset+last.Size)
	m.G = make([]float32, len(m.W))
	for _, p := range m.Params {
		m.byName[p.Name] = p
	}
	initParams(c, m.Params, m.W, seed)
	m.cos, m.sin = RopeTables(c.MaxPositionEmbeddings, c.HeadDim(), c.RopeTheta)
	return m, nil
}

// NumParams is the number of weights.
func (m *Model) NumParams() int { return len(m.W) }

// w returns the weight view of a parameter; g its gradient view.
func (m *Model) w(name string) []float32 {
	p, ok := m.byName[name]
	if !ok {
		panic("model: no parameter " + name)
	}
	return m.W[p.Offset : p.Offset+p.Size]
}

func (m *Model) g(name string) []float32 {
	p := m.byName[name]
	return m.G[p.Offset : p.Offset+p.Size]
}

// ZeroGrad clears the gradients.
func (m *Model) ZeroGrad() { clear(m.G) }

// Batch is one training or scoring batch of B rows of T positions.
type Batch struct {
	B, T    int
	Tokens  []int32   // [B·T] token ids; −1 at the video positions
	Targets []int32   // [B·T] the next token to predict, or IgnoreIndex
	VideoAt []int     // [B] first video position of each row (−1: the row has no video)
	Patches []float32 // [B·F·P·PatchDim] normalised pixels, patch by patch, frame by frame
	// Weights, if set, weights each position's loss [B·T]: the loss is Σ w·l / Σ w over the
	// positions with a target (nil: every position counts 1, the mean over tokens).
	Weights []float32
}

// ValidateBatch checks the batch's sizes against the model (Forward does; gpu/devmodel too).
func (m *Model) ValidateBatch(b *Batch) error {
	c := m.Config
	v := c.Vision
	switch {
	case b.B <= 0 || b.T <= 0 || b.T > c.MaxPositionEmbeddings:
		return fmt.Errorf("model: batch %d×%d does not fit %d positions", b.B, b.T, c.MaxPositionEmbeddings)
	case len(b.Tokens) != b.B*b.T || len(b.Targets) != b.B*b.T || len(b.VideoAt) != b.B:
		return fmt.Errorf("model: batch slices do not match %d×%d", b.B, b.T)
	case b.Weights != nil && len(b.Weights) != b.B*b.T:
		return fmt.Errorf("model: batch has %d weights, want %d", len(b.Weights), b.B*b.T)
	case len(b.Patches) != b.B*v.NumFrames*v.Patches()*v.PatchDim():
		return fmt.Errorf("model: batch has %d pixel values, want %d", len(b.Patches), b.B*v.NumFrames*v.Patches()*v.PatchDim())
	}
	for r, at := range b.VideoAt {
		if at >= 0 && at+c.VideoTokens() > b.T {
			return fmt.Errorf("model: row %d's video at %d overruns %d positions", r, at, b.T)
		}
	}
	for _, t := range b.Tokens {
		if int(t) >= c.VocabSize {
			return fmt.Errorf("model: token %d outside the vocabulary of %d", t, c.VocabSize)
		}
	}
	return nil
}
