// Package safetensors reads and writes the Hugging Face safetensors format, which vrlaif uses
// for model checkpoints.
//
// A safetensors file has three parts:
//
//	[8 bytes]  N, the header length, a little-endian uint64
//	[N bytes]  the header: a UTF-8 JSON object, padded with spaces
//	[rest]     the byte buffer holding every tensor's data
//
// The header maps each tensor name to {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin,
// end]}, where the offsets are relative to the start of the byte buffer. The optional key
// "__metadata__" maps to an object of string values. Tensor data is little-endian and row-major.
//
// Write lays the tensors out in the buffer in the order given, with no gaps. The header it writes
// is compact JSON in a fixed order ("__metadata__" first, then the other keys sorted, and each
// tensor's fields in the order dtype, shape, data_offsets), padded with spaces to a multiple of 8
// bytes, so the same tensors always give the same bytes. When the tensors are given in the
// order the Python library lays them out (larger dtypes first, then by name), that order is also
// sorted by name, and there is at most one metadata key, the output is byte for byte what the
// Python library writes.
//
// Read validates the header strictly and returns an error, never a panic, for a malformed file:
// the header length must be at most 100 MB and fit the file, the header must be well-formed
// JSON with no duplicate keys, and the tensors must cover the buffer exactly, without gaps or
// overlaps, each with as many bytes as its dtype and shape require.
//
// Supported dtypes are F64, F32, F16, BF16, I64, I32, I16, I8, U8 and BOOL. Tensor.Float32
// converts F32, F16 and BF16 data to float32 exactly.
package safetensors
