#!/usr/bin/env python3
"""torch_step.py: the built-in model's decoder in PyTorch, for make gpu-check.

Reads the fixture gpu/devmodel's TestWriteFixture writes (checkpoint/, batch.json, logits.f32) and:
  1. builds the decoder from the checkpoint in plain PyTorch, with package model's math, and checks
     its logits for the batch's row 0 against model.Forward's (logits.f32);
  2. when transformers is installed, loads the same weights into LlamaForCausalLM twice (our tensors
     with load_state_dict, and the checkpoint folder with from_pretrained, transformers' own loader)
     and checks its logits the same way (our safetensors checkpoint is a LLaMA decoder under its
     own names);
  3. times one training step on the batch (forward, weighted cross-entropy, backward,
     clip_grad_norm_, AdamW) in PyTorch eager, of every weight and of LoRA adapters (rank 8 on
     every projection, base frozen: the PPO policy's update), to compare with
     BenchmarkDecoderStepCUDA;
  4. times the models' work of one PPO learner step (reference, policy and value models: see
     time_ppo_step), to compare with BenchmarkPPOStepCUDA.
Prints `torch-step: ...` lines; exits 1 if a logits check fails.
"""
import argparse
import json
import math
import os
import struct
import sys
import time

import torch
import torch.nn.functional as F


def read_safetensors(path):
    """The tensors of a safetensors file (float32 only, as model.Save writes them)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise ValueError(f"{name}: dtype {info['dtype']}, want F32")
        lo, hi = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[8 + n + lo:8 + n + hi]), dtype=torch.float32)
        out[name] = t.reshape(info["shape"])
    return out


class Decoder(torch.nn.Module):
    """package model's decoder: RMSNorm, rotate-half RoPE, causal grouped-query attention, SwiGLU."""

    def __init__(self, cfg, tensors, sdpa=False, lora_rank=0, lora_alpha=16):
        super().__init__()
        self.cfg, self.sdpa = cfg, sdpa
        self.w = torch.nn.ParameterDict({k.replace(".", "/"): torch.nn.Parameter(v.clone(), requires_grad=lora_rank == 0)
                                         for k, v in tensors.items() if k.startswith("model.layers.")
                                         or k in ("model.embed_tokens.weight", "model.norm.weight", "lm_head.weight")})
        # LoRA (model.LoRA's math): out = x·Wᵀ + (alpha/r)·(x·Aᵀ)·Bᵀ on every projection, base frozen.
        self.lora, self.lora_scale = torch.nn.ParameterDict(), lora_alpha / max(lora_rank, 1)
        if lora_rank:
            g = torch.Generator().manual_seed(0)
            for k, v in tensors.items():
                if k.startswith("model.layers.") and k.endswith("_proj.weight"):
                    out, inp = v.shape
                    name = k[:-len(".weight")].replace(".", "/")
                    self.lora[name + "/A"] = torch.nn.Parameter((torch.rand(lora_rank, inp, generator=g) * 2 - 1) / math.sqrt(inp))
                    self.lora[name + "/B"] = torch.nn.Parameter(torch.randn(out, lora_rank, generator=g) * 0.01)
        hs = cfg["hidden_size"] // cfg["num_attention_heads"]
        inv = torch.tensor([cfg["rope_theta"] ** (-2 * i / hs) for i in range(hs // 2)], dtype=torch.float64)
        ang = torch.arange(cfg["max_position_embeddings"], dtype=torch.float64)[:, None] * inv[None, :]
        self.register_buffer("cos", ang.cos().float(), persistent=False)
        self.register_buffer("sin", ang.sin().float(), persistent=False)

    def p(self, name):
        return self.w[name.replace(".", "/")]

    def lin(self, x, module):
        y = x @ self.p(module + ".weight").t()
        key = module.replace(".", "/")
        if key + "/A" in self.lora:
            y = y + self.lora_scale * ((x @ self.lora[key + "/A"].t()) @ self.lora[key + "/B"].t())
        return y

    def norm(self, x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.cfg["rms_norm_eps"]) * w

    def rope(self, x, T):  # x [B, T, H, hs]
        half = x.shape[-1] // 2
        c, s = self.cos[:T, None, :], self.sin[:T, None, :]
        a, b = x[..., :half], x[..., half:]
        return torch.cat([a * c - b * s, b * c + a * s], dim=-1)

    def forward(self, tokens):
        return self.hidden(tokens) @ self.p("lm_head.weight").t()

    def hidden(self, tokens):
        """The final normed hidden states [B, T, C] (what the LM head and a value head read)."""
        cfg = self.cfg
        B, T = tokens.shape
        NH, NKV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
        hs = cfg["hidden_size"] // NH
        x = self.p("model.embed_tokens.weight")[tokens]
        mask = torch.full((T, T), float("-inf"), device=tokens.device).triu(1)
        for l in range(cfg["num_hidden_layers"]):
            p = f"model.layers.{l}."
            xn = self.norm(x, self.p(p + "input_layernorm.weight"))
            q = self.rope(self.lin(xn, p + "self_attn.q_proj").view(B, T, NH, hs), T)
            k = self.rope(self.lin(xn, p + "self_attn.k_proj").view(B, T, NKV, hs), T)
            v = self.lin(xn, p + "self_attn.v_proj").view(B, T, NKV, hs)
            q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # [B, heads, T, hs]
            k, v = k.repeat_interleave(NH // NKV, dim=1), v.repeat_interleave(NH // NKV, dim=1)
            if self.sdpa:
                a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            else:
                att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hs) + mask, dim=-1)
                a = att @ v
            a = a.transpose(1, 2).reshape(B, T, NH * hs)
            x = x + self.lin(a, p + "self_attn.o_proj")
            xn = self.norm(x, self.p(p + "post_attention_layernorm.weight"))
            g = self.lin(xn, p + "mlp.gate_proj")
            u = self.lin(xn, p + "mlp.up_proj")
            x = x + self.lin(F.silu(g) * u, p + "mlp.down_proj")
        return self.norm(x, self.p("model.norm.weight"))


def compare(what, got, want):
    """Max |got − want| against want's scale; pass within 1e-4 of the scale (float32 sums in other
    orders through a few layers, 1e-5–1e-6 relative, with margin; TF32 is off for this)."""
    diff = (got - want).abs().max().item()
    scale = want.abs().max().item()
    ok = diff <= 1e-4 * scale
    print(f"torch-step: {what}: logits max |difference| {diff:.3g} (logits scale {scale:.3g}): {'PASS' if ok else 'FAIL'}")
    return ok


def weighted_loss(logits, targets, weights, ignore):
    l = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=ignore, reduction="none")
    w = weights.flatten() * (targets.flatten() != ignore)
    return (l * w).sum() / w.sum()


def time_step(model, batch, device, steps, lr=1e-4, wd=0.1):
    tokens, targets, weights = (batch[k].to(device) for k in ("tokens", "targets", "weights"))
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() == 2]
    rest = [p for p in params if p.dim() != 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": wd}, {"params": rest, "weight_decay": 0.0}],
                            lr=lr, betas=(0.9, 0.95), eps=1e-8)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = weighted_loss(model(tokens), targets, weights, batch["ignore_index"])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        return loss

    for _ in range(3):  # warm-up: allocator, cuBLAS heuristics
        step()
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        loss = step()
    sync()
    return (time.perf_counter() - start) / steps, loss.item()


def time_ppo_step(cfg, tensors, batch, device, steps, rank=8, lr=1e-4):
    """The models' work of one PPO learner step, as BenchmarkPPOStepCUDA does it: the reference
    model's log-probs and the value model's values (no grad); the policy's log-probs and entropies
    and the value model's values with grad; the gradients of Σ logp·dlogp + Σ v·dv (fixed dlogp,
    dv standing for the PPO losses'); clip_grad_norm_ and AdamW over both models' LoRA adapters
    (rank 8 on every projection) and the value head. Everything stays on the device (no copies
    to the host, unlike ours, which downloads log-probs, values and entropies for the PPO math)."""
    tokens, targets = batch["tokens"].to(device), batch["targets"].to(device)
    B, T = tokens.shape
    tgt = targets.clamp(min=0)  # ignored targets: any index; the benchmark does not use them
    ref = Decoder(cfg, tensors).to(device).requires_grad_(False)
    pol = Decoder(cfg, tensors, lora_rank=rank).to(device)
    val = Decoder(cfg, tensors, lora_rank=rank).to(device)
    head = torch.nn.Linear(cfg["hidden_size"], 1).to(device)
    g = torch.Generator().manual_seed(3)
    dlogp = ((torch.rand(B, T, generator=g) * 2 - 1) / (B * T)).to(device)
    dv = ((torch.rand(B, T, generator=g) * 2 - 1) / (B * T)).to(device)
    params = [p for m in (pol, val) for p in m.parameters() if p.requires_grad] + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.0)

    def logprobs(logits):
        return torch.log_softmax(logits, -1).gather(-1, tgt[..., None])[..., 0]

    def step():
        with torch.no_grad():
            ref_lp = logprobs(ref(tokens))
            v_old = head(val.hidden(tokens))[..., 0]
        opt.zero_grad(set_to_none=True)
        logits = pol(tokens)
        lp = logprobs(logits)
        with torch.no_grad():
            logq = torch.log_softmax(logits, -1)
            ent = -(logq.exp() * logq).sum(-1)
        v = head(val.hidden(tokens))[..., 0]
        ((lp * dlogp).sum() + (v * dv).sum()).backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        return ref_lp, v_old, ent

    for _ in range(3):
        step()
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    return (time.perf_counter() - start) / steps


DECODER_KEYS = ("model.embed_tokens.weight", "model.norm.weight", "lm_head.weight")


def is_decoder_key(k):
    return k.startswith("model.layers.") or k in DECODER_KEYS


def llama_config(cfg):
    """LlamaConfig from config.json's decoder fields (its model_type is vrlaif's own, so transformers
    cannot pick the class itself). rope_theta is passed the legacy way: transformers 5 moves it into
    rope_parameters, 4.x keeps it as is."""
    from transformers import LlamaConfig
    return LlamaConfig(vocab_size=cfg["vocab_size"], hidden_size=cfg["hidden_size"],
                       intermediate_size=cfg["intermediate_size"], num_hidden_layers=cfg["num_hidden_layers"],
                       num_attention_heads=cfg["num_attention_heads"], num_key_value_heads=cfg["num_key_value_heads"],
                       max_position_embeddings=cfg["max_position_embeddings"], rope_theta=float(cfg["rope_theta"]),
                       rms_norm_eps=float(cfg["rms_norm_eps"]), tie_word_embeddings=False,
                       head_dim=cfg["hidden_size"] // cfg["num_attention_heads"],
                       hidden_act="silu", attention_bias=False, mlp_bias=False)


def check_loading(missing, unexpected):
    """Every decoder weight must land; what is left over must be vrlaif's own (vision tower, heads)."""
    missing = [k for k in missing if "rotary_emb" not in k]
    stray = [k for k in unexpected if is_decoder_key(k)]
    if missing or stray:
        raise ValueError(f"checkpoint does not map onto LlamaForCausalLM: missing {missing}, decoder keys left over {stray}")


def hf_logits(cfg, tensors, tokens):
    """Our tensors (read by read_safetensors) put into LlamaForCausalLM with load_state_dict."""
    from transformers import LlamaForCausalLM
    model = LlamaForCausalLM(llama_config(cfg)).float().eval()
    missing, unexpected = model.load_state_dict({k: v for k, v in tensors.items() if is_decoder_key(k)}, strict=False)
    check_loading(missing, unexpected)
    model.to(tokens.device)
    with torch.no_grad():
        return model(input_ids=tokens).logits[0].float()


def hf_pretrained_logits(cfg, checkpoint, tokens):
    """The checkpoint folder through LlamaForCausalLM.from_pretrained: transformers' own safetensors
    loader reads model.safetensors (vrlaif's vision tower and heads are reported as unexpected keys)."""
    from transformers import LlamaForCausalLM
    model, info = LlamaForCausalLM.from_pretrained(checkpoint, config=llama_config(cfg), local_files_only=True,
                                                   output_loading_info=True)
    check_loading(info.get("missing_keys", []), info.get("unexpected_keys", []))
    if info.get("mismatched_keys"):
        raise ValueError(f"shapes do not match: {info['mismatched_keys']}")
    model = model.float().eval().to(tokens.device)
    with torch.no_grad():
        return model(input_ids=tokens).logits[0].float()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("fixture", help="the folder TestWriteFixture wrote")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--steps", type=int, default=20, help="timed training steps (after 3 warm-up steps)")
    args = ap.parse_args()
    if args.steps < 1:
        ap.error("--steps must be at least 1")
    device = torch.device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = False  # float32 products, like the fixture's CPU logits
    cfg = json.load(open(os.path.join(args.fixture, "checkpoint", "config.json")))
    tensors = read_safetensors(os.path.join(args.fixture, "checkpoint", "model.safetensors"))
    b = json.load(open(os.path.join(args.fixture, "batch.json")))
    B, T, V = b["B"], b["T"], cfg["vocab_size"]
    batch = {"tokens": torch.tensor(b["tokens"]).view(B, T), "targets": torch.tensor(b["targets"]).view(B, T),
             "weights": torch.tensor(b["weights"], dtype=torch.float32).view(B, T), "ignore_index": b["ignore_index"]}
    with open(os.path.join(args.fixture, "logits.f32"), "rb") as f:
        want = torch.frombuffer(bytearray(f.read()), dtype=torch.float32).view(T, V).to(device)
    print(f"torch-step: torch {torch.__version__} on {device}"
          + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""))
    row0 = batch["tokens"][:1].to(device)
    ok = True
    model = Decoder(cfg, tensors).to(device)
    with torch.no_grad():
        ok &= compare("PyTorch decoder vs vrlaif model.Forward", model(row0)[0], want)
    try:
        import transformers
    except ImportError:
        transformers = None
        print("torch-step: transformers is not installed: its logits check is skipped")
    if transformers is not None:
        checkpoint = os.path.join(args.fixture, "checkpoint")
        for how, logits in (("load_state_dict", lambda: hf_logits(cfg, tensors, row0)),
                            ("from_pretrained", lambda: hf_pretrained_logits(cfg, checkpoint, row0))):
            what = f"transformers {transformers.__version__} LlamaForCausalLM ({how}) vs vrlaif model.Forward"
            try:
                ok &= compare(what, logits(), want)
            except Exception as e:  # report it and go on to the timings
                print(f"torch-step: {what}: FAIL: {type(e).__name__}: {e}")
                ok = False
    variants = [("eager, float32", False, False, 0)]
    if device.type == "cuda":
        variants += [("eager, TF32 products", False, True, 0)]
    if hasattr(F, "scaled_dot_product_attention"):
        variants += [("eager with scaled_dot_product_attention, float32", True, False, 0)]
    variants += [("eager, float32, LoRA r8 on every projection", False, False, 8)]
    for name, sdpa, tf32, rank in variants:
        torch.backends.cuda.matmul.allow_tf32 = tf32
        m = Decoder(cfg, tensors, sdpa=sdpa, lora_rank=rank).to(device)
        per, loss = time_step(m, batch, device, args.steps)
        print(f"torch-step: training step {B}x{T} ({name}): {per * 1e3:.2f} ms/step, "
              f"{B * T / per:.0f} tokens/s (last loss {loss:.4f})")
    torch.backends.cuda.matmul.allow_tf32 = False
    per = time_ppo_step(cfg, tensors, batch, device, args.steps)
    print(f"torch-step: PPO step {B}x{T} (eager, float32, LoRA r8 policy and value model, frozen reference): "
          f"{per * 1e3:.2f} ms/step, {B * T / per:.0f} tokens/s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
