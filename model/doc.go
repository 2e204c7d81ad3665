// Package model is the home of vrlaif's built-in video language model: a small LLaMA-family decoder
// with a Video-ChatGPT style video front end, its tokenizer, safetensors checkpoints, LoRA, value
// and reward heads, and sampling. It lands with its own issue.
package model
