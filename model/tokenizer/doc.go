// Package tokenizer is the byte-level BPE tokenizer and the LLaVA v1 chat template of vrlaif's
// built-in video language model.
//
// # Vocabulary
//
// Ids are laid out in three blocks: the special tokens at fixed ids (<pad> 0, <s> 1, </s> 2,
// <video> 3), then the 256 byte tokens (byte b is id 4+b after Train), then one token per learned
// merge, in the order the merges were learned. Token texts use the GPT-2 byte-to-unicode mapping,
// so every vocabulary entry is printable and a space shows as "Ġ".
//
// # Encoding
//
// Encode first cuts the special-token strings out of the text (they become their ids), then
// splits each remaining piece with the GPT-2 pre-tokenizer pattern
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// written out by hand (Go's regexp has no lookahead), and BPE-encodes each piece by applying the
// lowest-ranked merge first. This is exactly what Hugging Face tokenizers does with the file that
// Save writes (a ByteLevel pre-tokenizer with use_regex and no prefix space, a BPE model, the
// specials as added tokens), so Load(Save(t)) and the Hugging Face library agree with t.
// Decode is the exact inverse of Encode for every string.
//
// # Chat
//
// RenderV1 renders a conversation with the LLaVA v1 (Vicuna v1.1) template used by VLM-RLAIF, and
// EncodeChat tokenizes it with the training labels of LLaVA's preprocess_v1: only the assistant
// answers and their closing </s> are trained.
//
// A Tokenizer is immutable after Train or Load and safe for concurrent use.
package tokenizer
