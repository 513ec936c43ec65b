#!/usr/bin/env python3
"""launch/gpu-check's helpers (plain Python, no numpy; the peer needs torch, transformers, peft).

  gpu_check.py write-prompt DIR LENGTH D_MODEL     a PEFT prompt-tuning adapter (seq2seq T5) of
                                                   random rows, the parity runs' shared init
  gpu_check.py parity INIT_DIR CPU_RUN DEVICE_RUN  loss and gradient agreement of the two runs
  gpu_check.py curves FP32_RUN BF16_RUN            the two runs' losses step by step
  gpu_check.py peer PRESET BATCH INPUTS TARGETS P  HF T5ForConditionalGeneration + peft prompt
                                                   tuning timed on the GPU, as JSON
  gpu_check.py summary WORK OUT MODE SIZES...      gpu-check.json and gpu-check.md under OUT
"""
import json
import math
import os
import random
import struct
import sys
from array import array


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        assert meta["dtype"] == "F32", f"{path}: {name} is {meta['dtype']}, not F32"
        begin, end = meta["data_offsets"]
        values = array("f")
        values.frombytes(blob[8 + n + begin:8 + n + end])
        out[name] = (meta["shape"], values)
    return out


def write_safetensors(path, name, shape, values):
    data = array("f", values).tobytes()
    header = json.dumps({"__metadata__": {"format": "pt"},
                         name: {"dtype": "F32", "shape": shape, "data_offsets": [0, len(data)]}}).encode()
    header += b" " * ((8 - len(header) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header + data)


def encoder_rows(adapter_dir):
    """An adapter's encoder prompt: its first num_virtual_tokens rows, flattened, and d_model."""
    with open(os.path.join(adapter_dir, "adapter_config.json")) as f:
        n = json.load(f)["num_virtual_tokens"]
    shape, values = read_safetensors(os.path.join(adapter_dir, "adapter_model.safetensors"))["prompt_embeddings"]
    return values[:n * shape[1]], shape[1]


def write_prompt(directory, length, d_model):
    os.makedirs(directory, exist_ok=True)
    rng = random.Random(7)
    rows = [rng.uniform(-0.5, 0.5) for _ in range(length * d_model)]
    # A seq2seq adapter holds num_virtual_tokens x num_transformer_submodules rows (the encoder's
    # first).
    write_safetensors(os.path.join(directory, "adapter_model.safetensors"), "prompt_embeddings",
                      [2 * length, d_model], rows + rows)
    config = {"peft_type": "PROMPT_TUNING", "task_type": "SEQ_2_SEQ_LM", "num_virtual_tokens": length,
              "token_dim": d_model, "num_transformer_submodules": 2, "prompt_tuning_init": "RANDOM",
              "base_model_name_or_path": "gpu-check/t5.1.1-small", "inference_mode": True}
    with open(os.path.join(directory, "adapter_config.json"), "w") as f:
        json.dump(config, f, indent=2)


def losses(run_dir):
    """(step, loss) of a run's logged steps; a loss that was not finite (logged as null) is None."""
    out = []
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        for line in f:
            j = json.loads(line)
            if "last_loss" in j:
                out.append((j["step"], j["last_loss"]))
    return out


def nonfinite(pairs):
    return [step for step, loss in pairs if loss is None]


def parity(init_dir, cpu_run, device_run):
    init, d_model = encoder_rows(init_dir)
    cpu, _ = encoder_rows(os.path.join(cpu_run, "peft"))
    dev, _ = encoder_rows(os.path.join(device_run, "peft"))
    assert len(init) == len(cpu) == len(dev), "the runs' prompts differ in size from their init"
    # Update = 1e3 x gradient: the two gradients' relative L2 difference.
    g_cpu = [a - b for a, b in zip(cpu, init)]
    g_dev = [a - b for a, b in zip(dev, init)]
    norm = math.sqrt(sum(x * x for x in g_cpu))
    diff = math.sqrt(sum((a - b) ** 2 for a, b in zip(g_cpu, g_dev)))
    loss_cpu, loss_dev = losses(cpu_run)[-1][1], losses(device_run)[-1][1]
    finite = loss_cpu is not None and loss_dev is not None and norm > 0
    result = {"loss_cpu": loss_cpu, "loss_device": loss_dev,
              "loss_relative_error": abs(loss_dev - loss_cpu) / abs(loss_cpu) if finite else None,
              "gradient_relative_error": diff / norm if finite else None,
              "gradient_norm_x1e3": norm, "prompt_shape": [len(init) // d_model, d_model]}
    result["pass"] = finite and result["loss_relative_error"] < 1e-4 and result["gradient_relative_error"] < 1e-4
    print(json.dumps(result, indent=2))


def curves(fp32_run, bf16_run):
    la, lb = losses(fp32_run), losses(bf16_run)
    # The steps both runs logged with a finite loss; a step that was not finite fails the check.
    a = {s: v for s, v in la if v is not None}
    b = {s: v for s, v in lb if v is not None}
    steps = sorted(set(a) & set(b))
    assert len(steps) >= 5, f"only {len(steps)} steps with a finite loss in both runs"
    # One batch's loss swings by half its size from step to step (the demo: 0.55 standard
    # deviation about 0.8 over steps 31-50), and two runs that round differently part ways after
    # a few dozen Adafactor steps; so the end of a run is the mean of its last 20 steps (of 50).
    first = lambda d: sum(d[s] for s in steps[:5]) / 5
    tail = steps[-20:]
    last = lambda d: sum(d[s] for s in tail) / len(tail)
    result = {"steps": steps, "fp32_cpu": [a[s] for s in steps], "bf16_device": [b[s] for s in steps],
              "fp32_first5_last20": [first(a), last(a)], "bf16_first5_last20": [first(b), last(b)],
              "nonfinite_steps": {"fp32_cpu": nonfinite(la), "bf16_device": nonfinite(lb)}}
    # "Falls like the fp32 run's": both fall to under a fifth, and the bf16 run ends within 25% of
    # the fp32 run (a run that stops learning ends several times higher).
    result["pass"] = (last(b) < 0.2 * first(b) and last(a) < 0.2 * first(a) and abs(last(b) - last(a)) <= 0.25 * last(a)
                      and not nonfinite(la) and not nonfinite(lb))
    print(json.dumps(result))


# The v1.1 presets of model_parallel/T5Config.cpp.
PRESETS = {
    "t5.1.1-xl": dict(d_model=2048, d_ff=5120, num_heads=32, num_layers=24),
    "t5.1.1-xxl": dict(d_model=4096, d_ff=10240, num_heads=64, num_layers=24),
    "t5.1.1-large": dict(d_model=1024, d_ff=2816, num_heads=16, num_layers=24),
}


def peer_model(transformers, preset):
    """HF's T5ForConditionalGeneration of a v1.1 preset, the model ptuner builds (tests/hf-transformers
    checks it against `ptuner plan`), made on torch's current default device and dtype."""
    p = PRESETS[preset]
    # T5's special ids as its checkpoints' configs give them: a config made from scratch has no
    # decoder_start_token_id, and peft's seq2seq forward shifts the labels right with it.
    config = transformers.T5Config(vocab_size=32128, d_kv=64, num_decoder_layers=p["num_layers"],
                                   feed_forward_proj="gated-gelu", tie_word_embeddings=False, dropout_rate=0.0,
                                   pad_token_id=0, eos_token_id=1, decoder_start_token_id=0, **p)
    # v1.1 has its own lm_head, as ptuner's model: transformers 5 reads the tie flag above as "no
    # output scaling" and ties the head anyway, so the flags are set again on the made config.
    config.tie_word_embeddings = False
    if hasattr(config, "scale_decoder_outputs"):
        config.scale_decoder_outputs = False
    model = transformers.T5ForConditionalGeneration(config)
    # Untying the head unties the encoder's and decoder's embeddings from `shared` too in
    # transformers 5 (two more vocabulary x d_model matrices: 0.5 GiB in bf16 at XXL); one
    # embedding for all three, as in every T5 checkpoint and in transformers 4.
    model.set_input_embeddings(model.shared)
    return model


def peer(preset, batch, inputs, targets, prompt):
    os.environ.setdefault("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True")
    import gc
    import torch
    import transformers
    from peft import PromptTuningConfig, TaskType, get_peft_model

    torch.manual_seed(0)
    with torch.device("cuda"):
        torch.set_default_dtype(torch.bfloat16)
        model = peer_model(transformers, preset)
        torch.set_default_dtype(torch.float32)
    model = model.to(dtype=torch.bfloat16)  # whatever dtype this transformers version made it in
    model.eval()  # dropout off, as ptuner's run (dropout_rate = 0)
    # One prompt, before the encoder's input, as ptuner's shallow prompt (PEFT's seq2seq default of
    # two submodules would also prepend one to the decoder's input).
    model = get_peft_model(model, PromptTuningConfig(task_type=TaskType.SEQ_2_SEQ_LM, num_virtual_tokens=prompt,
                                                     num_transformer_submodules=1))
    base = model.get_base_model()
    params = [q for q in model.parameters() if q.requires_grad]
    # The papers' optimizer, as ptuner's bench steps it: transformers' Adafactor where this version
    # still has it, else PyTorch's (the prompt's step is a negligible part of either's time).
    try:
        from transformers.optimization import Adafactor
        opt = Adafactor(params, lr=0.3, relative_step=False, scale_parameter=False, warmup_init=False,
                        weight_decay=1e-5)
    except ImportError:
        opt = torch.optim.Adafactor(params, lr=0.3, weight_decay=1e-5)
    def step():
        opt.zero_grad(set_to_none=True)
        model(input_ids=ids, labels=labels, use_cache=False).loss.backward()
        opt.step()

    # The largest batch (a multiple of 8, at most ptuner's) that fits: ptuner's first, then a fifth
    # fewer rows at a time until one fits, then halving the gap to the last that did not.
    # (Some allocation failures come as a RuntimeError, cuBLAS's among them. The cache is emptied
    # outside the except block, whose traceback still holds the failed step's activations.)
    def fits(b):
        nonlocal ids, labels
        ids = torch.randint(2, 32000, (b, inputs - prompt), device="cuda")
        labels = torch.randint(2, 32000, (b, targets), device="cuda")
        ok = True
        try:
            step()  # one step allocates all that a step holds (the optimizer state in its first)
        except RuntimeError as e:  # torch.cuda.OutOfMemoryError is one
            if not isinstance(e, torch.cuda.OutOfMemoryError) and "out of memory" not in str(e).lower() \
                    and "ALLOC_FAILED" not in str(e):
                raise
            ok = False
        if not ok:
            ids = labels = None
            opt.zero_grad(set_to_none=True)
            gc.collect()
            torch.cuda.empty_cache()
            print(f"peer: batch {b} is out of memory", file=sys.stderr)
        return ok

    ids = labels = None
    too_big = None
    while not fits(batch):
        if batch <= 8:
            raise SystemExit(f"peer: {preset} does not fit with batch 8")
        too_big, batch = batch, max(8, int(batch * 0.8) // 8 * 8)
    while too_big is not None and too_big - batch > 8:
        mid = (batch + too_big) // 16 * 8
        if fits(mid):
            batch = mid
        else:
            too_big = mid
    if (ids is None or ids.size(0) != batch) and not fits(batch):
        raise SystemExit(f"peer: batch {batch} fitted before and not now")
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    steps = 3
    start.record()
    for _ in range(steps):
        step()
    end.record()
    torch.cuda.synchronize()
    seconds = start.elapsed_time(end) / 1000 / steps
    print(json.dumps({"preset": preset, "batch": batch, "step_time_s": seconds,
                      "tokens_per_s": batch * (inputs - prompt + targets) / seconds,
                      "peak_allocated_mib": torch.cuda.max_memory_allocated() / 2**20,
                      "torch": torch.__version__, "transformers": transformers.__version__,
                      "optimizer": f"{type(opt).__module__}.{type(opt).__name__}",
                      "frozen_dtypes": sorted({str(q.dtype) for q in model.parameters() if not q.requires_grad}),
                      "attn_implementation": getattr(base.config, "_attn_implementation", None),
                      "lm_head_tied": base.lm_head.weight is base.shared.weight,
                      "embeddings_shared": base.encoder.embed_tokens.weight is base.shared.weight
                      and base.decoder.embed_tokens.weight is base.shared.weight}))


def bench_row(bench):
    fr = bench["frozen"]
    return {"batch": bench["batch_size"], "tokens_per_s": fr["tokens_per_s"],
            "step_time_s": fr["step_time_s"]["mean"], "mfu": fr.get("mfu"),
            "peak_allocated_mib": (fr.get("device_peak_allocated_mib_per_rank") or [None])[0],
            "peak_rss_mib": fr["peak_rss_mib_per_rank"][0]}


def summary(work, out, mode, sizes):
    def load(name):
        # A stage's JSON; {"error": ...} where it is there but unreadable (a run cut short).
        path = os.path.join(work, name)
        if not os.path.exists(path):
            return None
        try:
            with open(path) as f:
                return json.load(f)
        except (OSError, ValueError) as e:
            return {"error": f"{name}: {e}"}

    s = {"mode": mode, "parity": load("parity.json"), "bf16": load("curves.json"), "sizes": {}}
    # The sizes asked for, then any other that an earlier call on this machine benched (a second
    # call for one size keeps the other's row).
    sizes = list(sizes)
    for name in sorted(os.listdir(work)):
        if name.startswith("bench-") and name.endswith(".json") and not name.endswith("-peer-batch.json"):
            if name[len("bench-"):-len(".json")] not in sizes:
                sizes.append(name[len("bench-"):-len(".json")])
    for size in sizes:
        bench, peer_run = load(f"bench-{size}.json"), load(f"peer-{size}.json")
        row = {}
        if bench and "error" in bench:
            row["error"] = bench["error"]
            bench = None
        if bench:
            row["ptuner"] = bench_row(bench)
            # `ptuner plan`'s estimate for the largest rank at the batch that ran (the run had
            # one rank), against the peak the allocator measured.
            plan = load(f"plan-{size}.json")
            if plan and "ranks" in plan and plan["ranks"]:
                r = max(plan["ranks"], key=lambda x: x["total_bytes"])
                row["plan"] = {"total_mib": r["total_bytes"] / 2**20, "weight_mib": r["weight_bytes"] / 2**20,
                               "activation_mib": r["activation_bytes"] / 2**20, "attention": plan.get("attention")}
                measured = row["ptuner"]["peak_allocated_mib"]
                if measured:
                    row["plan"]["measured_over_plan"] = measured / row["plan"]["total_mib"]
            elif plan:
                row["plan"] = {"error": plan.get("error", "no ranks in plan-%s.json" % size)}
        if peer_run:
            row["hf_peft"] = peer_run
            if bench and "tokens_per_s" in peer_run:
                # Each at the largest batch it fits; then both at the peer's batch (where it is
                # smaller, ptuner was benched again there): the peaks compare one shape only.
                row["tokens_per_s_ratio"] = row["ptuner"]["tokens_per_s"] / peer_run["tokens_per_s"]
                same = row["ptuner"]
                if peer_run["batch"] != same["batch"]:
                    again = load(f"bench-{size}-peer-batch.json")
                    same = bench_row(again) if again and "error" not in again else None
                    if same:
                        row["ptuner_at_peer_batch"] = same
                        row["tokens_per_s_ratio_same_batch"] = same["tokens_per_s"] / peer_run["tokens_per_s"]
                if same and same["peak_allocated_mib"] and same["batch"] == peer_run["batch"]:
                    row["peak_memory_ratio"] = same["peak_allocated_mib"] / peer_run["peak_allocated_mib"]
        s["sizes"][size] = row
    with open(os.path.join(out, "gpu-check.json"), "w") as f:
        json.dump(s, f, indent=2)
    md = [f"# launch/gpu-check ({mode})", ""]
    for stage, key in (("(a) parity", "parity"), ("(b) bf16", "bf16")):
        if s[key] and "error" in s[key]:
            md += [f"{stage}: {s[key]['error']}", ""]
            s[key] = dict(s[key], **{"pass": False})
    if s["parity"] and s["parity"].get("loss_relative_error") is not None:
        p = s["parity"]
        md += [f"(a) parity, one fp32 step of t5.1.1-small: loss {p['loss_cpu']:.6f} (CPU) vs {p['loss_device']:.6f}; "
               f"loss relative error {p['loss_relative_error']:.2e}, prompt-gradient relative error "
               f"{p['gradient_relative_error']:.2e} ({'pass' if p['pass'] else 'FAIL'}, limit 1e-4)", ""]
    elif s["parity"] and "error" not in s["parity"]:
        md += [f"(a) parity: a loss or the gradient was not finite: loss {s['parity']['loss_cpu']} (CPU) vs "
               f"{s['parity']['loss_device']} (FAIL)", ""]
    if s["bf16"] and "steps" in s["bf16"]:
        c = s["bf16"]
        md += ["(b) demo task, 50 steps: loss of fp32 on the CPU and bf16 on the device", "",
               "| step | fp32 CPU | bf16 device |", "|---|---|---|"]
        for i, step in enumerate(c["steps"]):
            if step == 1 or step % 5 == 0:
                md.append(f"| {step} | {c['fp32_cpu'][i]:.4f} | {c['bf16_device'][i]:.4f} |")
        md += ["", f"mean of the first 5 / last 20 steps: fp32 {c['fp32_first5_last20'][0]:.4f} -> {c['fp32_first5_last20'][1]:.4f}, "
                   f"bf16 {c['bf16_first5_last20'][0]:.4f} -> {c['bf16_first5_last20'][1]:.4f} "
                   f"({'pass' if c['pass'] else 'FAIL'})", ""]
        bad = c.get("nonfinite_steps", {})
        if any(bad.values()):
            md += [f"steps whose loss was not finite: {bad}", ""]
    md += ["(c, d) throughput, inputs 512 (100 prompt) + 16 targets", "",
           "| model | batch | ptuner tokens/s | MFU | ptuner peak GiB | HF+PEFT batch | HF+PEFT tokens/s | HF+PEFT peak GiB | speed ratio | memory ratio |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    fmt = lambda v, f: (f.format(v) if isinstance(v, (int, float)) else "-")
    for size, row in s["sizes"].items():
        p, h = row.get("ptuner", {}), row.get("hf_peft", {})
        if "error" in row:
            md.append(f"| {size}: {row['error']} | | | | | | | | | |")
            continue
        md.append(f"| {size} | {p.get('batch', '-')} | {fmt(p.get('tokens_per_s'), '{:.0f}')} | "
                  f"{fmt(p.get('mfu'), '{:.1%}')} | {fmt((p.get('peak_allocated_mib') or 0) / 1024 or None, '{:.1f}')} | "
                  f"{h.get('batch', '-')} | {fmt(h.get('tokens_per_s'), '{:.0f}')} | {fmt(h.get('peak_allocated_mib', 0) / 1024 or None, '{:.1f}')} | "
                  f"{fmt(row.get('tokens_per_s_ratio'), '{:.2f}x')} | "
                  f"{fmt(row.get('peak_memory_ratio') if p.get('batch') == h.get('batch') else None, '{:.2f}')} |")
        q = row.get("ptuner_at_peer_batch")
        if q:
            md.append(f"| {size}, ptuner at the peer's batch | {q['batch']} | {fmt(q.get('tokens_per_s'), '{:.0f}')} | "
                      f"{fmt(q.get('mfu'), '{:.1%}')} | {fmt((q.get('peak_allocated_mib') or 0) / 1024 or None, '{:.1f}')} | "
                      f"{h.get('batch', '-')} | {fmt(h.get('tokens_per_s'), '{:.0f}')} | "
                      f"{fmt(h.get('peak_allocated_mib', 0) / 1024 or None, '{:.1f}')} | "
                      f"{fmt(row.get('tokens_per_s_ratio_same_batch'), '{:.2f}x')} | {fmt(row.get('peak_memory_ratio'), '{:.2f}')} |")
    plans = [(size, row["plan"], row["ptuner"]) for size, row in s["sizes"].items() if "plan" in row and "ptuner" in row]
    if plans:
        md += ["", "`ptuner plan`'s memory estimate at the batch benched, against the measured peak", "",
               "| model | batch | attention | plan: weights + activations GiB | measured peak GiB | measured / plan |",
               "|---|---|---|---|---|---|"]
        for size, plan, p in plans:
            if "error" in plan:
                md.append(f"| {size} | {p['batch']} | {plan['error']} | | | |")
                continue
            md.append(f"| {size} | {p['batch']} | {plan['attention']} | {plan['weight_mib'] / 1024:.1f} + "
                      f"{plan['activation_mib'] / 1024:.1f} = {plan['total_mib'] / 1024:.1f} | "
                      f"{fmt((p.get('peak_allocated_mib') or 0) / 1024 or None, '{:.1f}')} | "
                      f"{fmt(plan.get('measured_over_plan'), '{:.2f}')} |")
    text = "\n".join(md) + "\n"
    with open(os.path.join(out, "gpu-check.md"), "w") as f:
        f.write(text)
    print(text)
    ok = (not s["parity"] or s["parity"]["pass"]) and (not s["bf16"] or s["bf16"]["pass"])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "write-prompt":
        write_prompt(args[0], int(args[1]), int(args[2]))
    elif cmd == "parity":
        parity(*args)
    elif cmd == "curves":
        curves(*args)
    elif cmd == "peer":
        peer(args[0], int(args[1]), int(args[2]), int(args[3]), int(args[4]))
    elif cmd == "summary":
        summary(args[0], args[1], args[2], args[3:])
    else:
        sys.exit(__doc__)
